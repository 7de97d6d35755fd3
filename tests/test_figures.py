"""Figures: the frozen-bit heat map (Fig. 2), the per-task scores (Fig. 3), the accumulated
normalized reward (Fig. 4) and the A matrices; from tiny real train and classify runs, and from
run folders written here as the trainer writes them (config.json, eval.csv, summary.json)."""

import logging
import shutil
from dataclasses import asdict, replace

import numpy as np
import pytest
from PIL import Image

from blip_rl.agents import BlipTrunk
from blip_rl.agents.config import TrainConfig
from blip_rl.agents.plots import group_runs, setting_labels, train_figures
from blip_rl.agents.rundir import write_eval_csv
from blip_rl.agents.state import EvalRow, RunState
from blip_rl.agents.summary import summarize
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.results import classify_labels
from blip_rl.commands.main import main
from blip_rl.commands.plot import figures_of
from blip_rl.commands.runs import open_run
from blip_rl.core.metrics import acc_bwt, estimate, pairwise_differences
from blip_rl.envs import get_game, make_env
from blip_rl.infra.files import write_json
from blip_rl.infra.heatmaps import (
    default_tensor,
    heatmap_figure,
    task_panels,
    tensor_view,
    weight_grid,
)
from blip_rl.infra.rundir import frozen_bits
from blip_rl.infra.tables import difference_lines, estimate_lines
from blip_rl.infra.tracking import experiment_group
from tests.cli import assert_one_line_error, run_cli
from tests.test_agents import train

GAMES = ("--suite", "minatar", "--games", "breakout,space_invaders", "--steps-per-task", "128")
EVERY = ("--eval-interval", "64")


@pytest.fixture(scope="module")
def blip_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("blip") / "run"
    return out, train(out, *GAMES, *EVERY)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, blip_run):
    """Two BLIP seeds and one FT run of the same two games, evaluated every 64 steps."""
    root = tmp_path_factory.mktemp("runs")
    made = [root / "blip1", root / "ft0"]
    train(made[0], *GAMES, *EVERY, "--seed", "1")
    train(made[1], *GAMES, *EVERY, "--method", "ft")
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


STEPS = (2000, 4000, 6000, 8000)
"""Evaluations of a written run: breakout alone at 2,000 and 4,000 (its end), then both games
at 6,000 and 8,000 (the end)."""


def write_run(folder, breakout, invaders, seed=0, std=1.0, episodes=10, **blip):
    """A finished train run of MinAtar breakout then space invaders (4,000 env steps each) as
    the trainer writes it: ``breakout`` (4) and ``invaders`` (2) are mean returns at
    :data:`STEPS`, each over ``episodes`` episodes of sample std ``std``, for both policies;
    ``blip``: BLIP settings other than the defaults."""
    cfg = TrainConfig(
        suite="minatar",
        games=("breakout", "space_invaders"),
        steps_per_task=4000,
        seed=seed,
        out=str(folder),
        blip=replace(TrainConfig().blip, **blip),
    ).resolved()
    games = cfg.sequence
    state = RunState()
    for k, step in enumerate(STEPS):
        means = [breakout[k]] + ([invaders[k - 2]] if k >= 2 else [])
        rows = [
            EvalRow(step, j, games[j].name, policy, episodes, mean, std, games[j].normalize(mean))
            for policy in ("sampled", "greedy")
            for j, mean in enumerate(means)
        ]
        state.rows += rows
        if step in (4000, 8000):
            state.record_task_end(step, {}, rows)
    write_json(folder / "config.json", asdict(cfg))
    write_eval_csv(folder / "eval.csv", state.rows)
    summary = summarize(games, cfg.method, state, cfg.eval_policy)
    write_json(folder / "summary.json", summary.to_dict())
    return folder


BREAKOUT = (4.6, 5.2, 4.9, 5.4)
INVADERS = (12.0, 14.0)


@pytest.fixture
def three_runs(tmp_path):
    """Seeds 0 and 1 of the default settings, and seed 0 with a bit budget of 0.2."""
    return [
        write_run(tmp_path / "s0", BREAKOUT, INVADERS),
        write_run(tmp_path / "s1", (4.8, 5.0, 5.1, 5.0), (13.0, 15.0), seed=1),
        write_run(tmp_path / "b02", (4.0, 4.5, 4.4, 4.6), (10.0, 11.0), bit_budget=0.2),
    ]


def panels_of(fig):
    return [ax for ax in fig.axes if ax.lines]


def curve_labels(ax):
    return [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]


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
    assert [ax.get_title().splitlines()[0] for ax in panels] == [
        "after breakout",
        "after space_invaders",
    ]
    assert {ax.images[0].get_clim() for ax in panels} == {(-0.5, 20.5)}
    assert [ax.get_ylabel() for ax in fig.axes if not ax.images] == ["frozen bits"]


def test_heatmap_colours_are_the_bit_counts_0_to_n_with_integer_ticks():
    rng = np.random.default_rng(0)
    for n_bits, ticks in [(5, [0, 1, 2, 3, 4, 5]), (20, list(range(0, 21, 2)))]:
        bits = rng.integers(0, n_bits + 1, (4, 3, 3, 3)).astype(np.uint8)  # (O, C, kh, kw)
        fig = heatmap_figure([("after a", bits)], "cnn.0.weight", n_bits)
        (panel,) = [ax for ax in fig.axes if ax.images]
        (bar,) = [ax for ax in fig.axes if not ax.images]
        assert list(bar.get_yticks()) == ticks
        assert [t.get_text() for t in bar.get_yticklabels()] == [str(t) for t in ticks]
        image = panel.images[0]
        assert image.cmap.N == n_bits + 1  # one colour per count
        levels = image.to_rgba(np.arange(n_bits + 1))
        assert len({tuple(c) for c in levels}) == n_bits + 1
        assert (image.to_rgba(np.arange(n_bits + 1) + 0.4) == levels).all()
        assert panel.get_ylabel() == "output channel" and fig.get_supxlabel() == "input channel"
        # a line between the 4 output channels' bands and between the 3 input channels' kernels
        assert len(panel.lines) == 3 + 2


def test_a_large_tensor_is_shown_at_every_kth_channel_and_says_so():
    bits = np.arange(600 * 3000).reshape(600, 3000) % 21  # (O, I)
    view = tensor_view(bits)
    assert view.grid.shape == (200, 250)
    assert (view.grid == bits[::3, ::12]).all()
    assert (view.rows.label, view.cols.label) == (
        "output unit (every 3rd of 600)",
        "input feature (every 12th of 3000)",
    )
    fig = heatmap_figure([("after a", bits)], "fc.weight", 20)
    (panel,) = [ax for ax in fig.axes if ax.images]
    assert panel.images[0].get_array().shape == (200, 250)
    assert fig.get_supxlabel() == "input feature (every 12th of 3000)"
    conv = tensor_view(np.zeros((128, 64, 3, 3)))  # whole kernels of every 2nd channel
    assert conv.grid.shape == (64 * 3, 64 * 3) and conv.rows.label.endswith("(every 2nd of 128)")


def test_a_bias_is_a_strip_per_task_end():
    fig = heatmap_figure([("after a", np.zeros(32)), ("after b", np.ones(32))], "fc.bias", 20)
    strips = [ax for ax in fig.axes if ax.images]
    assert [ax.images[0].get_array().shape for ax in strips] == [(1, 32), (1, 32)]
    assert [ax.get_title() for ax in strips] == [
        "after a (mean 0.0 bits)",
        "after b (mean 1.0 bits)",
    ]


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
    (tmp_path / "none").mkdir()
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
    panels = panels_of(figures["fig3_task_scores"])
    assert [ax.get_title() for ax in panels] == ["breakout", "space_invaders"]
    assert [ax.get_xlim() for ax in panels] == [
        pytest.approx((-0.02 * 256, 256 * 1.02)),
        pytest.approx((128 - 0.02 * 128, 256 + 0.02 * 128)),
    ]
    assert curve_labels(panels[0]) == ["blip (n = 2)", "ft (n = 1)"]
    (ax,) = figures["fig4_accumulated_normalized"].axes
    assert ax.get_ylim() == (0, 2)
    ft = folders[2]
    sums: dict[int, float] = {}
    for point in ft.eval_points("sampled"):
        normalized = get_game(point.game, "minatar").normalize(point.mean_return)
        sums[point.step] = sums.get(point.step, 0.0) + normalized
    line = ax.lines[1]
    assert list(line.get_xdata()) == sorted(sums)
    assert list(line.get_ydata()) == pytest.approx([sums[s] for s in sorted(sums)])


def test_plot_groups_runs_by_their_settings_and_labels_what_differs(three_runs):
    folders = [open_run(r) for r in three_runs]
    groups = group_runs(folders)
    assert [(g.label, [r.path for r in g.runs]) for g in groups] == [
        ("blip", three_runs[:2]),
        ("blip, bit_budget=0.2", three_runs[2:]),
    ]
    cfg = folders[2].train_config  # the group is the W&B group of --wandb
    assert groups[1].key == experiment_group("breakout-space_invaders__blip", cfg)
    figures = train_figures(folders, None)
    for ax in [
        *panels_of(figures["fig3_task_scores"]),
        *figures["fig4_accumulated_normalized"].axes,
    ]:
        assert curve_labels(ax) == ["blip (n = 2)", "blip, bit_budget=0.2 (n = 1)"]
    assert {"a_matrix_blip", "a_matrix_blip_bit_budget_0.2"} <= set(figures)


def test_runs_of_the_same_settings_and_seed_warn_and_count_once(three_runs, tmp_path, caplog):
    copy = tmp_path / "copy_of_s0"
    shutil.copytree(three_runs[0], copy)
    with caplog.at_level(logging.WARNING):
        figures = train_figures([open_run(r) for r in [*three_runs, copy]], None)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "\n" not in warning and "seed 0" in warning
    assert str(three_runs[0]) in warning and str(copy) in warning
    panel = panels_of(figures["fig3_task_scores"])[0]
    assert curve_labels(panel)[0] == "blip (n = 2)"  # seeds 0 and 1, not three runs


def test_settings_only_another_method_reads_neither_split_nor_label_a_group():
    ewc = TrainConfig(suite="minatar", method="ewc").resolved()
    blip = TrainConfig(suite="minatar").resolved()
    # an EWC run made when BLIP's defaults were others is the same experiment
    older = replace(ewc, blip=replace(ewc.blip, ig="paper", bit_budget=0.5))
    assert older.group == ewc.group
    assert setting_labels({"a": older, "b": blip}) == {"a": "ewc", "b": "blip"}
    assert replace(blip, blip=replace(blip.blip, ig="paper")).group != blip.group
    assert replace(ewc, blip=replace(ewc.blip, strict=True)).group != ewc.group  # its clip


def test_label_names_a_group_through_any_of_its_runs(three_runs, tmp_path):
    s0, s1, b02 = map(str, three_runs)
    out = tmp_path / "figs"
    assert main(["plot", s0, s1, b02, "--label", f"{s1}=BLIP,{b02}=BLIP small budget",
                 "--out", str(out)]) == 0  # fmt: skip
    assert {p.stem for p in out.glob("a_matrix_*")} == {
        "a_matrix_BLIP",
        "a_matrix_BLIP_small_budget",
    }
    named = {three_runs[0]: "ours"}
    figures = train_figures([open_run(r) for r in three_runs], None, named)
    assert curve_labels(panels_of(figures["fig3_task_scores"])[0]) == [
        "ours (n = 2)",
        "blip, bit_budget=0.2 (n = 1)",
    ]
    cases = [
        (f"{s0}", "invalid --label"),
        (f"{tmp_path}=x", "which is not a run given"),
        (f"{s0}=a,{s1}=b", "two names: a, b"),
        (f"{s0}=a,{b02}=a", "give each group its own --label"),
    ]
    for label, message in cases:
        proc = run_cli("plot", s0, s1, b02, "--label", label, "--out", str(tmp_path / "p"),
                       cwd=tmp_path)  # fmt: skip
        assert_one_line_error(proc, message)
    assert not (tmp_path / "p").exists()


def test_fig3_y_range_is_the_games_random_to_reference_range_not_the_noise(tmp_path):
    run = write_run(tmp_path / "s0", BREAKOUT, INVADERS, std=1.4)
    figures = train_figures([open_run(run)], None)
    breakout, invaders = panels_of(figures["fig3_task_scores"])
    # random 0.5, reference 5.0; 5% of the span below, 25% above
    assert breakout.get_ylim() == pytest.approx((0.5 - 0.225, 5.0 + 1.125))
    assert invaders.get_ylim() == pytest.approx((2.88 - 0.05 * 21.32, 24.2 + 0.25 * 21.32))
    line = breakout.lines[0]
    assert line.get_marker() == "o" and list(line.get_xdata()) == list(STEPS)
    # one run: the band is the standard error over its 10 evaluation episodes
    band = breakout.collections[0].get_paths()[0].vertices[:, 1]
    se = 1.4 / np.sqrt(10)
    assert (band.min(), band.max()) == pytest.approx((min(BREAKOUT) - se, max(BREAKOUT) + se))
    high = write_run(tmp_path / "high", (4.6, 9.0, 4.9, 5.4), INVADERS, std=1.4)
    wide = panels_of(train_figures([open_run(high)], None)["fig3_task_scores"])[0]
    assert wide.get_ylim() == pytest.approx((0.275, 9.0 + se))  # widened to show it all


def test_bands_over_several_seeds_are_the_standard_error_over_seeds(three_runs):
    figures = train_figures([open_run(r) for r in three_runs[:2]], None)
    breakout = panels_of(figures["fig3_task_scores"])[0]
    band = breakout.collections[0].get_paths()[0].vertices[:, 1]
    # two seeds a, b: sample std |a - b| / sqrt(2), over sqrt(2) seeds
    second = [(4.6, 5.2, 4.9, 5.4), (4.8, 5.0, 5.1, 5.0)]
    low = [min(a, b) for a, b in zip(*second)]
    high = [max(a, b) for a, b in zip(*second)]
    assert (band.min(), band.max()) == pytest.approx((min(low), max(high)))
    (fig4,) = figures["fig4_accumulated_normalized"].axes
    assert curve_labels(fig4) == ["blip (n = 2)"] and fig4.lines[0].get_marker() == "o"


def test_one_run_reads_n_equals_1_not_a_zero_spread(three_runs):
    figures = train_figures([open_run(three_runs[2])], None)
    title = figures["a_matrix_blip"].axes[0].get_title()
    assert "(n = 1; ± SE over evaluation episodes)" in title and "± 0.000" not in title
    assert curve_labels(panels_of(figures["fig3_task_scores"])[0]) == ["blip (n = 1)"]
    (fig4,) = figures["fig4_accumulated_normalized"].axes
    assert curve_labels(fig4) == ["blip (n = 1)"]
    table = estimate_lines([("blip", {"acc": estimate([0.5])})], ["acc"])
    assert table[1].split() == ["blip", "1", "0.500"]
    wide = estimate_lines([("blip", {"bwt": estimate([0.5])})], ["bwt", "bwt_unclipped"])
    assert wide[0].split() == ["n", "bwt", "bwt_unclipped"]  # a header wider than its cells
    lines = difference_lines({"acc": pairwise_differences({"blip": {0: 0.5}, "ft": {0: 0.4}})})
    assert "n = 1" in lines[1] and "significant" not in lines[1]


def test_classify_runs_get_an_accuracy_matrix_heat_maps_and_a_capacity_table(
    classify_run, tmp_path, capsys
):
    assert main(["plot", str(classify_run), "--out", str(tmp_path)]) == 0
    valid_image(tmp_path / "accuracy_blip.png")
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


def test_an_unfinished_classify_run_is_plotted_over_its_finished_tasks(classify_run, tmp_path):
    out = tmp_path / "partial"
    args = ["classify", "--out", str(out), "--epochs", "2", "--seeds", "2", "--device", "cpu"]
    assert main(args) == 0
    (out / "results.json").unlink()  # as if killed writing task 4: task_3 is its newest
    shutil.rmtree(out / "checkpoints" / "seed_2" / "task_4")
    partial = open_run(out, unfinished=True)
    figures = figures_of([open_run(classify_run), partial])

    def panels(name):
        return [ax for ax in figures[name].axes if ax.get_title()]

    (whole,) = panels("accuracy_blip_epochs_1")
    assert len(whole.get_xticklabels()) == 5 and "unfinished" not in whole.get_title()
    (cut,) = panels("accuracy_blip_epochs_2")
    assert len(cut.get_xticklabels()) == 4
    assert cut.get_title().endswith("unfinished: tasks 0..3 of 0..4")
    both = panels("accuracy_all")
    assert [len(ax.get_xticklabels()) for ax in both] == [4, 4]
    matrices = open_run(classify_run).results.acc_matrix
    acc = np.mean([acc_bwt([row[:4] for row in m[:4]])[0] for m in matrices])
    assert f"ACC {acc:.2f} ± " in both[0].get_title()  # the finished group, over tasks 0..3
    assert all(ax.get_title().endswith("unfinished: tasks 0..3 of 0..4") for ax in both)
    assert main(["plot", str(out), "--out", str(tmp_path / "plots")]) == 0
    valid_image(tmp_path / "plots" / "accuracy_blip.png")


def test_classify_runs_of_one_experiment_make_one_matrix_over_all_their_seeds(
    classify_run, tmp_path
):
    quick = ["--epochs", "1", "--device", "cpu"]
    for name, args in (("blip_s2", ["--seeds", "2"]), ("ft", ["--method", "ft", "--seeds", "0"])):
        assert main(["classify", "--out", str(tmp_path / name), *quick, *args]) == 0
    runs = [open_run(p) for p in (classify_run, tmp_path / "blip_s2", tmp_path / "ft")]
    figures = figures_of(runs)
    assert sorted(figures) == ["accuracy_all", "accuracy_blip", "accuracy_ft"]
    titles = [ax.get_title() for ax in figures["accuracy_all"].axes if ax.get_title()]
    assert (
        titles[0].startswith("digits5 / blip: accuracy (%)")
        and "(mean ± SE [95% CI] over n = 3 seeds)" in titles[0]
    )
    assert titles[1].startswith("digits5 / ft: accuracy (%)") and "(n = 1)" in titles[1]
    named = figures_of(runs, labels={tmp_path / "ft": "fine-tuning"})
    assert "accuracy_fine-tuning" in named
    shutil.copytree(classify_run, tmp_path / "again")
    other = ["classify", "--out", str(tmp_path / "other"), "--epochs", "2", "--device", "cpu"]
    assert main(other) == 0  # the same method, other settings: the label names them
    runs = [open_run(p) for p in (classify_run, tmp_path / "other")]
    assert sorted(figures_of(runs)) == [
        "accuracy_all",
        "accuracy_blip_epochs_1",
        "accuracy_blip_epochs_2",
    ]
    for extra, message in (
        (["again"], "seed 0 of blip is given twice"),
        (["other", "--label", f"{classify_run}=x,{tmp_path / 'other'}=x"], "both labelled 'x'"),
    ):
        proc = run_cli("plot", str(classify_run), str(tmp_path / extra[0]), *extra[1:], "--out",
                       str(tmp_path / "p"), cwd=tmp_path)  # fmt: skip
        assert_one_line_error(proc, message)


def test_classify_groups_ignore_settings_only_other_methods_read():
    # EWC runs of fmnist5 made when its BLIP prior was MNIST's are one experiment with later ones
    ewc = ClassifyConfig(benchmark="fmnist5", method="ewc").resolved()
    older = replace(ewc, blip=replace(ewc.blip, fisher_prior=1e-11))
    assert older.group == ewc.group
    blip = ClassifyConfig(benchmark="fmnist5").resolved()
    own = replace(blip, blip=replace(blip.blip, fisher_prior=1e-11))
    paper = ClassifyConfig(benchmark="fmnist5", preset="paper").resolved()
    assert own.group != blip.group
    labels = classify_labels({"a": older, "b": blip, "c": own, "d": paper})
    assert labels == {
        "a": "ewc",
        "b": "blip",
        "c": "blip, fisher_prior=1e-11",
        "d": "blip, preset=paper",
    }


def test_plot_refuses_runs_that_cannot_share_axes_in_one_line(runs, tmp_path):
    other = tmp_path / "other"
    train(other, "--suite", "minatar", "--games", "breakout,freeway", "--steps-per-task", "128")
    longer = tmp_path / "longer"
    train(longer, *GAMES[:4], "--steps-per-task", "192")
    (tmp_path / "none").mkdir()
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
