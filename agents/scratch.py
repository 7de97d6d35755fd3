"""The reference of plasticity: a ``--method scratch`` run's score of each game learned alone,
read from its run folder and checked against the run that compares with it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.summary import scratch_returns

MUST_MATCH = ("steps_per_task", "n_envs", "trunk_width", "ppo", "eval_episodes", "eval_max_steps")
"""Settings under which a scratch score is a fair reference: the same budget and learner."""


def load_scratch(folders: Sequence[str | Path], cfg: TrainConfig) -> dict[str, dict[str, float]]:
    """Raw task-end returns (policy -> game -> return), averaged over the scratch runs in
    ``folders`` (one per seed, say: the mean is a steadier reference than one run).

    Raises ``ValueError`` naming the problem if a folder is not a finished-enough scratch run
    of ``cfg``'s platform, games and budget (:data:`MUST_MATCH`).
    """
    runs = [read_scratch(Path(folder), cfg.resolved()) for folder in folders]
    return {
        policy: {game: statistics.mean(run[policy][game] for run in runs) for game in games}
        for policy, games in runs[0].items()
    }


def read_scratch(folder: Path, cfg: TrainConfig) -> dict[str, dict[str, float]]:
    """The task-end returns of ``cfg``'s games in one scratch run (see :func:`load_scratch`)."""
    where = f"--scratch {str(folder)!r}"
    try:
        run = open_train_run(folder)
        saved = run.train_config
    except ValueError as e:
        raise ValueError(f"{where} is not a readable run folder ({e})") from None
    if saved.method != "scratch":
        raise ValueError(f"{where} is a --method {saved.method} run; it needs --method scratch")
    platform = saved.sequence[0].platform
    if platform != cfg.sequence[0].platform:
        raise ValueError(f"{where} played {platform} games, this run {cfg.sequence[0].platform}")
    for name in MUST_MATCH:
        theirs, ours = getattr(saved, name), getattr(cfg, name)
        if theirs != ours:
            raise ValueError(f"{where} has {name} {theirs}, this run {ours}; they must match")
    returns = scratch_returns(run.summary)
    names = [g.name for g in cfg.sequence]
    missing = [name for name in names if name not in returns[cfg.eval_policy]]
    if missing:
        raise ValueError(f"{where} has no finished score for {', '.join(missing)}")
    return {policy: {name: scores[name] for name in names} for policy, scores in returns.items()}
