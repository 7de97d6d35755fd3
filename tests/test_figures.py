"""Figures: the frozen-bit heat map (the paper's Fig. 2), drawn from tiny real runs."""

import numpy as np
import pytest
from PIL import Image

from blip_rl.agents import BlipTrunk
from blip_rl.agents.results import frozen_bits
from blip_rl.cli import main
from blip_rl.envs import get_game, make_env
from blip_rl.heatmap import default_tensor, heatmap_figure, weight_grid
from tests.cli import assert_one_line_error, run_cli
from tests.test_agents import train

GAMES = ("--suite", "minatar", "--games", "breakout,space_invaders", "--steps-per-task", "128")


@pytest.fixture(scope="module")
def blip_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("blip") / "run"
    return out, train(out, *GAMES)


def test_a_conv_grid_keeps_each_output_channels_kernels_together():
    bits = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)  # (O, C, kh, kw)
    grid = weight_grid(bits)
    assert grid.shape == (2 * 2, 3 * 2)
    for o in range(2):
        for c in range(3):
            assert (grid[2 * o : 2 * o + 2, 2 * c : 2 * c + 2] == bits[o, c]).all()
    assert weight_grid(np.zeros((5, 7))).shape == (5, 7)
    assert weight_grid(np.zeros(5)).shape == (1, 5)


@pytest.mark.parametrize("game, tensor", [("kungfu", "cnn.4.weight"), ("breakout", "cnn.0.weight")])
def test_the_default_tensor_is_the_third_conv_or_the_last_of_fewer(game, tensor):
    env = make_env(get_game(game, "atari" if game == "kungfu" else "minatar"), 1, 0, train=False)
    shapes = {name: b.shape for name, b in frozen_bits(BlipTrunk(env.observation_space)).items()}
    env.close()
    assert default_tensor(shapes) == tensor


def test_heatmap_draws_one_panel_per_task_end_on_one_colour_scale(blip_run, tmp_path):
    out, summary = blip_run
    path = tmp_path / "fig2.png"
    assert main(["heatmap", str(out), "--out", str(path)]) == 0
    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG"
    with np.load(out / "bits" / "task_0.npz") as saved:
        bits = saved["features_extractor.cnn.0.weight"]
    tasks = summary["tasks_done"]
    fig = heatmap_figure([(f"task {k}", bits) for k in range(tasks)], "conv", 20)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == tasks == 2
    assert {ax.images[0].get_clim() for ax in panels} == {(0, 20)}
    assert [ax.get_ylabel() for ax in fig.axes if not ax.images] == ["frozen bits"]


def test_heatmap_writes_every_tensor_and_pdf_or_svg_by_extension(blip_run, tmp_path):
    out, _ = blip_run
    assert main(["heatmap", str(out), "--layer", "all", "--out", str(tmp_path / "all")]) == 0
    with np.load(out / "bits" / "task_0.npz") as saved:
        names = set(saved.files)
    assert {p.stem for p in (tmp_path / "all").glob("*.png")} == names
    for ext, magic in [("pdf", b"%PDF"), ("svg", b"<?xml")]:
        path = tmp_path / f"fig.{ext}"
        assert main(["heatmap", str(out), "--out", str(path)]) == 0
        assert path.read_bytes().startswith(magic)
    assert main(["heatmap", str(out)]) == 0  # default: beside the run's files
    assert (out / "heatmap_features_extractor.cnn.0.weight.png").exists()


def test_heatmap_refuses_bad_input_in_one_line_and_writes_nothing(blip_run, tmp_path):
    out, _ = blip_run
    ft = tmp_path / "ft"
    train(ft, *GAMES, "--method", "ft")
    cases = [
        ([str(ft)], "is a --method ft run: only blip freezes bits"),
        ([str(out), "--layer", "cnn.9.weight"], "unknown tensor 'cnn.9.weight'; choose from:"),
        ([str(out), "--out", str(tmp_path / "f.jpg")], "end it in one of: .png, .pdf, .svg"),
        ([str(tmp_path / "none")], "is not a blip-rl train run"),
    ]
    for args, message in cases:
        assert_one_line_error(run_cli("heatmap", *args, cwd=tmp_path), message)
    assert not (tmp_path / "f.jpg").exists() and not list(ft.glob("heatmap*"))
