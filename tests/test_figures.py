"""Figures: the frozen-bit heat map (Fig. 2), the per-task scores (Fig. 3), the accumulated
normalized reward (Fig. 4) and the A matrices, drawn from tiny real train and classify runs."""

import numpy as np
import pytest
from PIL import Image

from blip_rl.agents import BlipTrunk
from blip_rl.agents.plots import train_figures
from blip_rl.commands.main import main
from blip_rl.commands.runs import open_run
from blip_rl.envs import get_game, make_env
from blip_rl.infra.heatmaps import default_tensor, heatmap_figure, task_panels, weight_grid
from blip_rl.infra.rundir import frozen_bits
from tests.cli import assert_one_line_error, run_cli
from tests.test_agents import train

GAMES = ("--suite", "minatar", "--games", "breakout,space_invaders", "--steps-per-task", "128")


@pytest.fixture(scope="module")
def blip_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("blip") / "run"
    return out, train(out, *GAMES)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, blip_run):
    """Two BLIP seeds and one FT run of the same two games, evaluated every 64 steps."""
    root = tmp_path_factory.mktemp("runs")
    every = ("--eval-interval", "64")
    made = [root / "blip1", root / "ft0"]
    train(made[0], *GAMES, *every, "--seed", "1")
    train(made[1], *GAMES, *every, "--method", "ft")
    return [blip_run[0], *made]


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("classify") / "run"
    args = ["classify", "--out", str(out), "--epochs", "1", "--seeds", "0,1", "--device", "cpu"]
    assert main(args) == 0
    return out


def valid_image(path, fmt="PNG"):
    with Image.open(path) as image:
        image.verify()
        assert image.format == fmt


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
    valid_image(path)
    run, tensor = open_run(out), "features_extractor.cnn.0.weight"
    tasks = summary["tasks_done"]
    fig = heatmap_figure(task_panels(run.tasks, run.bits(0), tensor), tensor, run.n_bits)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == tasks == 2
    assert [ax.get_title() for ax in panels] == ["after breakout", "after space_invaders"]
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
        ([str(tmp_path / "none")], "holds no finished task of a blip-rl run"),
        ([str(out), "--seed", "3"], "has no seed 3; choose from: 0"),
    ]
    for args, message in cases:
        assert_one_line_error(run_cli("heatmap", *args, cwd=tmp_path), message)
    assert not (tmp_path / "f.jpg").exists() and not list(ft.glob("heatmap*"))


def test_plot_draws_fig3_fig4_and_a_matrices_from_real_runs(runs, tmp_path):
    assert main(["plot", *map(str, runs), "--out", str(tmp_path)]) == 0
    names = {"fig3_task_scores", "fig4_accumulated_normalized", "a_matrix_blip", "a_matrix_ft"}
    assert {p.stem for p in tmp_path.iterdir()} == names
    for path in tmp_path.iterdir():
        valid_image(path)
    assert main(["plot", str(runs[0]), "--format", "pdf"]) == 0  # default: RUN/plots
    assert (runs[0] / "plots" / "fig3_task_scores.pdf").read_bytes().startswith(b"%PDF")


def test_fig3_has_a_panel_per_task_from_its_start_and_fig4_sums_normalized_scores(runs):
    folders = [open_run(r) for r in runs]
    figures = train_figures(folders, None)
    panels = [ax for ax in figures["fig3_task_scores"].axes if ax.lines]
    assert [ax.get_title() for ax in panels] == ["breakout", "space_invaders"]
    assert [ax.get_xlim() for ax in panels] == [(0, 256), (128, 256)]
    assert [line.get_label() for line in panels[0].lines[:2]] == ["blip (2 runs)", "ft"]
    (ax,) = figures["fig4_accumulated_normalized"].axes
    assert ax.get_ylim() == (0, 2)
    assert len(ax.collections) == 1  # one band: blip's two seeds; ft is a single run
    ft = folders[2]
    sums: dict[int, float] = {}
    for point in ft.eval_points("sampled"):
        normalized = get_game(point.game, "minatar").normalize(point.mean_return)
        sums[point.step] = sums.get(point.step, 0.0) + normalized
    line = ax.lines[1]
    assert list(line.get_xdata()) == sorted(sums)
    assert list(line.get_ydata()) == pytest.approx([sums[s] for s in sorted(sums)])


def test_classify_runs_get_an_accuracy_matrix_heat_maps_and_a_capacity_table(
    classify_run, tmp_path, capsys
):
    assert main(["plot", str(classify_run), "--out", str(tmp_path)]) == 0
    valid_image(tmp_path / "accuracy_run.png")
    for seed in (0, 1):
        assert len(list((classify_run / "bits" / f"seed_{seed}").glob("task_*.npz"))) == 5
    assert (
        main(["heatmap", str(classify_run), "--seed", "1", "--out", str(tmp_path / "h.png")]) == 0
    )
    valid_image(tmp_path / "h.png")
    capsys.readouterr()
    assert main(["inspect", str(classify_run)]) == 0
    shown = capsys.readouterr().out
    assert "ACC" in shown and shown.count("after digits-4") == 2  # one table per seed


def test_plot_refuses_runs_that_cannot_share_axes_in_one_line(runs, tmp_path):
    other = tmp_path / "other"
    train(other, "--suite", "minatar", "--games", "breakout,freeway", "--steps-per-task", "128")
    longer = tmp_path / "longer"
    train(longer, *GAMES[:4], "--steps-per-task", "192")
    cases = [
        ([str(runs[0]), str(other)], "learns breakout,freeway, not breakout,space_invaders"),
        ([str(runs[0]), str(longer)], "plot runs with the same steps per task together"),
        (
            [str(runs[0]), "--format", "jpg"],
            "unknown format 'jpg' for --format; choose from: png, pdf, svg",
        ),
        ([str(tmp_path / "none")], "holds no finished task of a blip-rl run"),
    ]
    for args, message in cases:
        assert_one_line_error(
            run_cli("plot", *args, "--out", str(tmp_path / "p"), cwd=tmp_path), message
        )
    assert not (tmp_path / "p").exists()
