"""``blip-rl classify`` end to end on real (tiny) files, and the training loop's hooks."""

import json

import pytest
import torch

from blip_rl import Blip, BlipConfig, blip_layers
from blip_rl.classification.benchmarks import get_benchmark
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.nets import mlp
from blip_rl.classification.results import open_classify_run
from blip_rl.classification.trainer import learn_sequence
from blip_rl.commands.main import main
from blip_rl.core.quant import KERNELS
from blip_rl.core.strategy import Strategy
from blip_rl.infra.files import write_json
from tests.cli import assert_one_line_error, run_cli
from tests.datafiles import write_cifar10, write_cifar100, write_mnist

QUICK = ["--epochs", "2", "--fisher-samples", "64"]


def results(out):
    return json.loads((out / "results.json").read_text())


@pytest.mark.parametrize(
    "method, seeds",
    [
        ("blip", [0, 1]),
        ("ewc", [0]),
        ("ft", [0]),
        ("ftfix", [0]),
        ("packnet", [0]),
        ("independent", [0]),
    ],
)
def test_every_method_runs_digits5_and_writes_results(tmp_path, method, seeds, capsys):
    out = tmp_path / method
    seed_flag = ",".join(map(str, seeds))
    args = ["classify", "--benchmark", "digits5", "--method", method, "--seeds", seed_flag]
    assert main([*args, "--out", str(out), *QUICK]) == 0
    r = results(out)
    assert r["benchmark"] == "digits5" and r["method"] == method and r["seeds"] == seeds
    assert len(r["acc_matrix"]) == len(seeds) and len(r["acc_matrix"][0]) == 5
    assert r["acc_matrix"][0][0][1] is None and 0 <= r["acc_matrix"][0][4][0] <= 100
    assert {"acc", "bwt", "acc_std", "bwt_std", "acc_se", "acc_ci", "bwt_ci"} <= set(r)
    assert json.loads((out / "config.json").read_text())["method"] == method
    printed = capsys.readouterr().out
    assert "ACC" in printed
    if len(seeds) > 1:  # mean ± SE [95% bootstrap CI] over seeds, in the file and the text
        accs = [s["acc"] for s in r["per_seed"]]
        assert r["acc_ci"][0] <= min(accs) + 1e-9 and r["acc_ci"][1] >= max(accs) - 1e-9
        assert r["acc_se"] == pytest.approx(abs(accs[0] - accs[1]) / 2)
        assert "(mean ± SE [95% CI] over n = 2 seeds)" in printed


def test_compiled_kernels_change_no_bit_of_a_run(tmp_path):
    # --kernels compiled rebuilds the 1200x1200 hidden layer (1.44M weights) in one fused pass
    for kernels in KERNELS:
        proc = run_cli("classify", "--benchmark", "digits5", "--seeds", "0", "--out", kernels,
                       "--kernels", kernels, "--device", "cpu", "--epochs", "1",
                       "--fisher-samples", "64", cwd=tmp_path)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    eager, compiled = (tmp_path / kernels for kernels in KERNELS)
    assert results(compiled)["acc_matrix"] == results(eager)["acc_matrix"]
    assert json.loads((compiled / "sessions.json").read_text())[0]["kernels"] == "compiled"
    state = "checkpoints/seed_0/task_4/state.pt"
    weights = [torch.load(run / state, weights_only=True)["model"] for run in (eager, compiled)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_mnist5_from_tiny_idx_files(tmp_path):
    write_mnist(tmp_path / "data" / "mnist", per_class=8)
    out = tmp_path / "run"
    assert (
        main(
            [
                "classify",
                "--benchmark",
                "mnist5",
                "--data-dir",
                str(tmp_path / "data"),
                "--out",
                str(out),
                *QUICK,
            ]
        )
        == 0
    )
    r = results(out)
    assert r["tasks"] == [f"mnist-{k}" for k in range(5)]
    assert r["per_seed"][0]["task_end"][0]["layers"][0]["layer"] == "trunk.1"


def test_cifar_from_tiny_pickles_alternates_10_and_100(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py")
    write_cifar100(tmp_path / "cifar-100-python")
    tasks = get_benchmark("cifar").build(tmp_path)
    assert [t.classes for t in tasks] == [2, 20] * 5
    out = tmp_path / "run"
    assert (
        main(
            [
                "classify",
                "--benchmark",
                "cifar",
                "--data-dir",
                str(tmp_path),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--fisher-samples",
                "32",
            ]
        )
        == 0
    )
    assert len(results(out)["acc_matrix"][0]) == 10


class Recorder(Strategy):
    """Records every hook the loop calls."""

    def __init__(self, model):
        super().__init__(model)
        self.calls = []

    def on_task_start(self, task, n_tasks):
        self.calls.append(("start", task))

    def after_optimizer_step(self):
        if self.calls[-1] != "step":
            self.calls.append("step")

    def on_task_end(self, task, batches, log_likelihood):
        n = sum(len(x) for x in batches)
        self.calls.append(("end", task, n))
        return {}


def test_the_loop_calls_the_hooks_in_order():
    tasks = get_benchmark("digits5").build(None)[:2]
    model = mlp((1, 8, 8), hidden=16)
    recorder = Recorder(model)
    cfg = ClassifyConfig(epochs=1, fisher_samples=50)
    learn_sequence(model, recorder, tasks, cfg, 0.01, 0, torch.device("cpu"))
    assert recorder.calls == [
        ("start", 0),
        "step",
        ("end", 0, 50),
        ("start", 1),
        "step",
        ("end", 1, 50),
    ]


def test_blip_keeps_task_one_within_its_intervals_while_learning_task_two():
    tasks = get_benchmark("digits5").build(None)[:2]
    torch.manual_seed(0)
    model = mlp((1, 8, 8), hidden=32)
    blip = Blip(model, BlipConfig(fisher_prior=1e-9))
    cfg = ClassifyConfig(epochs=3, fisher_samples=100)
    learn_sequence(model, blip, tasks[:1], cfg, 0.05, 0, torch.device("cpu"))
    centers = {
        n: (layer.weight_center.clone(), layer.weight_frozen_bits.clone())
        for n, layer in blip_layers(model)
    }
    head0 = model.heads[0].weight.detach().clone()
    # Second task: train with the same loop (continuing from the consolidated state).
    model.heads.append(torch.nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    blip.attach(opt)
    x, y = tasks[1].train.batch(torch.arange(64), torch.device("cpu"))
    for _ in range(20):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x, 1), y).backward()
        opt.step()
    for name, layer in blip_layers(model):
        c, s = centers[name]
        u = layer.weight.detach() / layer.bound
        assert ((u - c).abs() <= torch.exp2(-s.float()) + 1e-6).all()
        assert torch.equal(layer.weight.detach()[s == 20], (c * layer.bound)[s == 20])
    assert torch.equal(model.heads[0].weight, head0)
    assert (blip_layers(model)[0][1].weight_frozen_bits > 0).any()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--benchmark", "mnist6"],
            "unknown benchmark 'mnist6' for --benchmark; choose from: digits5",
        ),
        (["--method", "si"], "unknown method 'si' for --method; choose from: blip, ewc, ft, ftfix"),
        (["--seeds", "0,x"], "invalid list '0,x'; expected comma-separated integers"),
        (["--seeds", "1,1"], "seeds must be distinct, got 1,1"),
        (["--epochs", "0"], "epochs must be an integer >= 1, got 0"),
        (["--bits", "40"], "bits must be in 1..32, got 40"),
        (["--fisher-prior", "-1"], "fisher_prior must be a finite number > 0, got -1.0"),
        (["--learning-rate", "abc"], "invalid number value 'abc'"),
        (["--benchmark", "mnist5"], "benchmark 'mnist5' reads data files: give --data-dir"),
        (["--device", "tpu"], "unknown device 'tpu' for --device; choose from: auto, cpu, cuda"),
        pytest.param(
            ["--device", "cuda"],
            "--device cuda asked for, but no CUDA GPU is available",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present"),
        ),
    ],
)
def test_bad_input_gets_a_one_line_error_and_exit_2(tmp_path, args, message):
    proc = run_cli("classify", "--out", str(tmp_path / "out"), *args, cwd=tmp_path)
    assert_one_line_error(proc, message)
    assert not (tmp_path / "out").exists()


def test_an_existing_run_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("{}")
    proc = run_cli("classify", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 2 and "is not empty; pass --resume" in proc.stderr
    assert (out / "results.json").read_text() == "{}"


def test_a_results_file_from_before_the_confidence_intervals_still_reads(tmp_path):
    out = tmp_path / "run"
    assert main(["classify", "--out", str(out), "--seeds", "0,1", *QUICK]) == 0
    old = results(out)
    for key in ("acc_se", "bwt_se", "acc_ci", "bwt_ci"):
        del old[key]
    write_json(out / "results.json", old)  # as an older blip-rl wrote it, checksum and all
    run = open_classify_run(out)
    assert run.results.acc_ci == [] and run.results.estimates()["acc"].n == 2
