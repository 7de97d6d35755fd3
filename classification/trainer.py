"""One training loop for every method: strategies plug in through their hooks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from blip_rl.classification.benchmarks import Benchmark, Split, Task
from blip_rl.classification.checkpoints import restore_seed, save_seed
from blip_rl.classification.config import ClassifyConfig
from blip_rl.classification.nets import MultiHeadNet, build_net
from blip_rl.classification.results import SeedResult, first_tasks_text
from blip_rl.core.capacity import one_line as bits_line
from blip_rl.core.fisher import sampled_log_prob
from blip_rl.core.methods import make_strategy
from blip_rl.core.metrics import Accuracy
from blip_rl.core.numerics import NumericalFault
from blip_rl.core.strategy import Strategy, attached

log = logging.getLogger(__name__)
EVAL_BATCH = 1024
FISHER_BATCH = 256


TaskEndHook = Callable[[int, MultiHeadNet, list[float | None], dict[str, Any]], None]
"""Called after task k with (k, the model, A[k] = test accuracy (fraction) of each task so far,
the strategy's task-end report)."""


def batches(
    split: Split, idx: Tensor, size: int, device: torch.device
) -> Iterator[tuple[Tensor, Tensor]]:
    for chunk in idx.split(size):
        yield split.batch(chunk, device)


@torch.no_grad()
def evaluate(
    model: MultiHeadNet, task: int, split: Split, idx: Tensor, device: torch.device
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of head ``task`` on ``split[idx]`` (eval mode)."""
    was_training = model.training
    model.eval()
    metric, loss_sum = Accuracy(), 0.0
    for x, y in batches(split, idx, EVAL_BATCH, device):
        logits = model(x, task)
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        metric.update(logits, y)
    model.train(was_training)
    return loss_sum / max(len(idx), 1), metric.result()


def snapshot(model: MultiHeadNet) -> dict[str, Tensor]:
    """A detached copy of ``model.state_dict()`` (weights, heads and BLIP buffers)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(
    model: MultiHeadNet,
    strategy: Strategy,
    task: int,
    split: Split,
    train_idx: Tensor,
    val_idx: Tensor,
    cfg: ClassifyConfig,
    lr: float,
    device: torch.device,
    gen: torch.Generator,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Train head ``task`` and the shared layers with SGD and the paper's plateau schedule;
    restore the best-validation weights. Returns the number of epochs run.

    Raises:
        NumericalFault: a NaN or inf loss; the step was not taken.
        TaskStopped: ``stop`` said so (it is asked after every batch).
    """
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    best_loss, _ = evaluate(model, task, split, val_idx, device)
    best_state = snapshot(model)
    patience, epochs_run = cfg.learning_rate_patience, 0
    model.train()
    with attached(strategy, optimizer):
        for _ in range(cfg.epochs):
            epochs_run += 1
            order = train_idx[torch.randperm(len(train_idx), generator=gen)]
            for x, y in batches(split, order, cfg.batch_size, device):
                loss = F.cross_entropy(model(x, task), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if stop is not None and stop():
                    raise TaskStopped
            val_loss, _ = evaluate(model, task, split, val_idx, device)
            if val_loss < best_loss:
                best_loss, patience = val_loss, cfg.learning_rate_patience
                best_state = snapshot(model)
                continue
            patience -= 1
            if patience <= 0:
                lr /= cfg.learning_rate_factor
                if lr < cfg.learning_rate_min:
                    break
                patience = cfg.learning_rate_patience
                for group in optimizer.param_groups:
                    group["lr"] = lr
    model.load_state_dict(best_state)
    return epochs_run


@dataclass(frozen=True)
class SeedRun:
    """Where one seed's progress goes.

    Attributes:
        on_task_end: called after each task (the bits file and W&B, see :data:`TaskEndHook`).
        checkpoints: the seed's checkpoint folder: a checkpoint after each task, and the seed
            continues from the newest one found there (``None``: none written or read).
        stop: asked after every training batch; when it says so the seed stops
            (:class:`TaskStopped`), its unfinished task lost, its finished ones checkpointed.
    """

    on_task_end: TaskEndHook | None = None
    checkpoints: Path | None = None
    stop: Callable[[], bool] | None = None


class TaskStopped(Exception):
    """A seed's learning given up mid-task because its :attr:`SeedRun.stop` said so."""


def run_seed(
    cfg: ClassifyConfig,
    bench: Benchmark,
    tasks: list[Task],
    seed: int,
    device: torch.device,
    run: SeedRun = SeedRun(),
) -> SeedResult:
    """Build the benchmark's net and ``cfg.method``'s strategy for ``seed``; learn ``tasks``
    (those not in ``run.checkpoints`` yet)."""
    torch.manual_seed(seed)
    model = build_net(bench.net, tuple(tasks[0].train.x.shape[1:]), cfg.blip.bits).to(device)
    cfg = cfg.resolved()  # the benchmark's lr and Fisher prior where none was given
    strategy = make_strategy(cfg.method, model, blip=cfg.blip, ewc=cfg.ewc, packnet=cfg.packnet)
    return learn_sequence(model, strategy, tasks, cfg, cfg.learning_rate, seed, device, run)


def learn_task(
    model: MultiHeadNet,
    strategy: Strategy,
    k: int,
    task: Task,
    cfg: ClassifyConfig,
    lr: float,
    device: torch.device,
    gen: torch.Generator,
    stop: Callable[[], bool] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Task ``k``: train it (and retrain after pruning, for PackNet), then the strategy's task
    end on its training samples. Returns the epochs run and the strategy's report."""
    order = torch.randperm(len(task.train), generator=gen)
    n_val = max(1, int(round(cfg.val_fraction * len(order))))
    val_idx, train_idx = order[:n_val], order[n_val:]
    split = (task.train, train_idx, val_idx)
    try:
        epochs = fit(model, strategy, k, *split, cfg, lr, device, gen, stop)
        share = strategy.retrain_share(k)
        if share > 0:  # PackNet: prune, then retrain with what is kept
            strategy.on_retrain_start(k)
            budget = replace(cfg, epochs=max(1, round(share * epochs)))
            epochs += fit(model, strategy, k, *split, budget, lr, device, gen, stop)
        fisher_idx = train_idx[: cfg.fisher_samples]
        report = strategy.on_task_end(
            k,
            (x for x, _ in batches(task.train, fisher_idx, FISHER_BATCH, device)),
            lambda m, x: sampled_log_prob(m(x, k)),
        )
    except NumericalFault as e:
        raise NumericalFault(f"task {k} ({task.name}): {e}") from None
    return epochs, report


def learn_sequence(
    model: MultiHeadNet,
    strategy: Strategy,
    tasks: list[Task],
    cfg: ClassifyConfig,
    lr: float,
    seed: int,
    device: torch.device,
    run: SeedRun = SeedRun(),
) -> SeedResult:
    """Learn ``tasks`` in order, from the newest checkpoint in ``run.checkpoints`` if there
    is one; A[i][j] (test accuracy, fraction) after each task.

    Raises:
        NumericalFault: a NaN or inf loss or Fisher, naming the task; nothing was updated
            with it.
        TaskStopped: ``run.stop`` said so.
        CheckpointError: ``run.checkpoints`` holds checkpoints, but none that is intact and
            fits.
    """
    gen = torch.Generator().manual_seed(seed)
    n = len(tasks)
    result = None
    if run.checkpoints is not None:
        result = restore_seed(run.checkpoints, model, strategy, gen, tasks)
    if result is None:
        result = SeedResult.start(seed, n)
    elif result.tasks_done < n:
        log.info("seed %d: %s restored, continuing", seed, first_tasks_text(result.tasks_done))
    for k in range(result.tasks_done, n):
        started = time.perf_counter()
        model.add_head(tasks[k].classes)
        strategy.on_task_start(k, n)
        ran, report = learn_task(model, strategy, k, tasks[k], cfg, lr, device, gen, run.stop)
        result.epochs.append(ran)
        result.reports.append(report)
        for j in range(k + 1) if strategy.continual else (k,):
            all_test = torch.arange(len(tasks[j].test))
            with strategy.evaluating(j):
                result.acc_matrix[k][j] = evaluate(model, j, tasks[j].test, all_test, device)[1]
        result.wall_time_s += time.perf_counter() - started
        log_task(result, tasks, report)
        if run.on_task_end is not None:
            run.on_task_end(k, model, result.acc_matrix[k], report)
        if run.checkpoints is not None:  # last: a checkpoint means the task is all recorded
            save_seed(run.checkpoints, model, strategy, gen, result)
    return result


def log_task(result: SeedResult, tasks: list[Task], report: dict[str, Any]) -> None:
    """One line on the task ``result`` has just learned: its epochs, the accuracies now."""
    k = result.tasks_done - 1
    log.info(
        "seed %d  task %d of 0..%d %-12s %3d epochs  accuracy now: %s  %s",
        result.seed,
        k,
        len(tasks) - 1,
        tasks[k].name,
        result.epochs[k],
        " ".join(f"{100 * a:.1f}" for a in result.acc_matrix[k][: k + 1]),
        bits_line(report),
    )
