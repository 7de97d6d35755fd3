import subprocess
import sys

SUB_PACKAGES = ("blip_rl.classification", "blip_rl.agents", "blip_rl.envs")


def test_core_never_imports_the_sub_packages():
    code = (
        "import sys, blip_rl, blip_rl.cli; "
        f"print([m for m in sys.modules if m.startswith({SUB_PACKAGES!r})])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sub_commands_are_found_through_entry_points():
    out = subprocess.run(
        [sys.executable, "-m", "blip_rl", "--help"], capture_output=True, text=True, check=True
    )
    assert "classify" in out.stdout
