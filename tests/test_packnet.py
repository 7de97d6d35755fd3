"""The peers: PackNet (each task owns a share of the weights, which later tasks never change)
and independent networks (one per task); on a small net with the strategies' own hooks, and
end to end on the fake games."""

import json
import logging

import pytest
import torch
from torch import nn

from blip_rl import BlipLinear, Independent, PackNet, PackNetConfig, attached
from blip_rl.core.packnet import prune_to_share
from tests.test_agents import FAKE, policy_at, train


class Heads(nn.Module):
    """A shared BLIP trunk and one head per task: (B, 6) -> (B, 3)."""

    def __init__(self, tasks=3):
        super().__init__()
        self.trunk = nn.Sequential(BlipLinear(6, 32), nn.ReLU(), BlipLinear(32, 16), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(16, 3) for _ in range(tasks))
        self.task = 0

    def forward(self, x):
        return self.heads[self.task](self.trunk(x))


def learn(model, strategy, task, steps=30, lr=0.5):
    model.task = task
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    torch.manual_seed(task)
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    with attached(strategy, opt):
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()


def trunk_state(model):
    return {k: v.detach().clone() for k, v in model.trunk.state_dict().items() if "." in k}


def test_pruning_keeps_the_largest_weights_of_the_share():
    w = torch.tensor([0.1, -0.9, 0.5, 0.05, -0.3, 0.7])
    owned = torch.tensor([True, True, True, True, False, True])
    kept = prune_to_share(w, owned, 0.4)  # 2 of the 5 owned
    assert kept.tolist() == [False, True, False, False, False, True]


def test_a_task_keeps_its_share_and_later_tasks_never_change_its_weights_or_outputs():
    torch.manual_seed(0)
    model = Heads()
    packnet = PackNet(model, PackNetConfig(retrain_share=0.2))
    packnet.on_task_start(0, 3)
    learn(model, packnet, 0)
    packnet.on_retrain_start(0)
    learn(model, packnet, 0, steps=5)
    packnet.on_task_end(0, [], None)
    owner = packnet.owner["trunk.0.weight"]
    assert (owner == 0).float().mean() == pytest.approx(1 / 3, abs=0.01)  # equal shares
    assert set(owner.unique().tolist()) == {0, 1}
    after_0 = trunk_state(model)
    x = torch.randn(16, 6)
    model.task = 0
    outputs_0 = model(x).detach()

    packnet.on_task_start(1, 3)
    learn(model, packnet, 1, lr=2.0)
    now = trunk_state(model)
    for name, own in packnet.owner.items():
        key = name.removeprefix("trunk.")
        assert torch.equal(now[key][own == 0], after_0[key][own == 0])  # frozen: unchanged
        assert not torch.equal(now[key][own == 1], after_0[key][own == 1])  # task 1 learns
    for key in ("0.bias", "2.bias"):
        assert torch.equal(now[key], after_0[key])  # biases: the first task's
    model.task = 0
    with packnet.evaluating(0):  # task 0 sees only its own weights: exactly as it left them
        torch.testing.assert_close(model(x), outputs_0, rtol=0, atol=0)
        assert not model.trunk[0].weight[owner > 0].any()
    assert torch.equal(trunk_state(model)["0.weight"], now["0.weight"])  # restored after

    restored = PackNet(Heads(), PackNetConfig())
    restored.load_state_dict(packnet.state_dict())
    assert torch.equal(restored.owner["trunk.0.weight"], owner) and restored.pruned == [0]
    restored.on_task_start(0, 3)
    restored.on_retrain_start(0)  # a resumed run: pruned already, nothing happens twice
    assert torch.equal(restored.owner["trunk.0.weight"], owner)


class WithFloatPart(Heads):
    """Heads plus a float layer outside the BLIP trunk, as a critic's own trunk."""

    def __init__(self):
        super().__init__()
        self.side = nn.Linear(6, 3)

    def forward(self, x):
        return super().forward(x) + self.side(x)


def whole(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_independent_networks_learn_each_task_from_the_same_start_and_keep_it():
    torch.manual_seed(0)
    model = WithFloatPart()
    initial = whole(model)
    independent = Independent(model)
    independent.on_task_start(0, 2)
    learn(model, independent, 0)
    after_0 = whole(model)
    independent.on_task_start(1, 2)
    now = whole(model)
    for part in ("trunk.", "side."):  # the BLIP trunk and the float part start fresh
        assert all(torch.equal(v, initial[k]) for k, v in now.items() if k.startswith(part))
    learn(model, independent, 1)
    after_1 = whole(model)
    assert not torch.equal(after_1["side.weight"], after_0["side.weight"])
    with independent.evaluating(0):  # task 0's whole network, its head included
        assert all(torch.equal(v, after_0[k]) for k, v in whole(model).items())
    assert all(torch.equal(v, after_1[k]) for k, v in whole(model).items())

    resumed = Independent(WithFloatPart())
    resumed.load_state_dict(independent.state_dict())
    resumed.on_task_start(1, 2)  # a run resumed within task 1: no second reset or snapshot
    with resumed.evaluating(0):
        assert all(torch.equal(v, after_0[k]) for k, v in whole(resumed.model).items())


@pytest.mark.parametrize("method", ["packnet", "independent"])
def test_the_peers_run_the_rl_loop_and_old_tasks_keep_their_weights(tmp_path, method, caplog):
    out = tmp_path / method
    with caplog.at_level(logging.INFO):
        summary = train(out, *FAKE, "--method", method, "--steps-per-task", "512",
                        "--retrain-share", "0.25")  # fmt: skip
    assert summary["tasks_done"] == 2
    assert json.loads((out / "config.json").read_text())["packnet"]["retrain_share"] == 0.25
    retrained = [r.message for r in caplog.records if "retraining from step" in r.message]
    assert retrained == (["task 0 (fake_a): retraining from step 384"] if method == "packnet"
                         else [])  # fmt: skip
    after_0, after_1 = policy_at(out, "task_0"), policy_at(out, "task_1")
    w0 = after_0.features_extractor.cnn[3].weight.detach()
    w1 = after_1.features_extractor.cnn[3].weight.detach()
    if method == "packnet":
        report = summary["task_end_reports"][0]
        assert report["owned_share"] == pytest.approx(0.5, abs=0.01)
        kept = w0 != 0  # task 0 kept its half; the other half went to task 1, zeroed
        assert torch.equal(w1[kept], w0[kept]) and not torch.equal(w1[~kept], w0[~kept])
    else:
        assert not torch.equal(w1, w0)  # task 1's own network
