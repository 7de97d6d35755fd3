import subprocess
import sys


def test_python_m_blip_rl_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "blip_rl", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("classify", "heatmap", "inspect", "plot", "sweep", "train"):
        assert f"    {command} " in out.stdout
