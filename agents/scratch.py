"""The reference of plasticity: the score of each game learned alone by a fresh network, read
from a ``--method scratch`` or ``--method independent`` run's folder (both learn every game
from the same fresh network) and checked against the run that compares with it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.rundir import open_train_run
from blip_rl.agents.summary import scratch_returns

REFERENCE_METHODS = ("scratch", "independent")
"""Methods whose runs learn every game alone, from the same fresh network."""
MUST_MATCH = (
    "steps_per_task", "n_envs", "trunk_width", "critic_trunk", "ppo", "eval_episodes",
    "eval_max_steps",
)  # fmt: skip
"""Settings under which a scratch score is a fair reference: the same budget and learner."""


def load_scratch(folders: Sequence[str | Path], cfg: TrainConfig) -> dict[str, dict[str, float]]:
    """Raw task-end returns (policy -> game -> return), averaged over the scratch (or
    independent) runs in ``folders`` (one per seed, say: the mean is a steadier reference).

    Raises ``ValueError`` naming the problem if a folder is not a finished-enough scratch run
    of ``cfg``'s platform, games and budget (:data:`MUST_MATCH`).
    """
    runs = [read_scratch(Path(folder), cfg.resolved()) for folder in folders]
    return {
        policy: {game: statistics.mean(run[policy][game] for run in runs) for game in games}
        for policy, games in runs[0].items()
    }


def mismatch(saved: TrainConfig, cfg: TrainConfig) -> str | None:
    """Why a run made with ``saved`` is no fair reference for ``cfg`` (resolved configs), as
    "SETTING THEIRS, this run OURS"; ``None`` when it is one."""
    platform = saved.sequence[0].platform
    if platform != cfg.sequence[0].platform:
        return f"played {platform} games, this run {cfg.sequence[0].platform}"
    for name in MUST_MATCH:
        theirs, ours = getattr(saved, name), getattr(cfg, name)
        if theirs != ours:
            return f"has {name} {theirs}, this run {ours}; they must match"
    return None


def read_scratch(folder: Path, cfg: TrainConfig) -> dict[str, dict[str, float]]:
    """The task-end returns of ``cfg``'s games in one scratch run (see :func:`load_scratch`)."""
    where = f"--scratch {str(folder)!r}"
    try:
        run = open_train_run(folder)
        saved = run.train_config
    except ValueError as e:
        raise ValueError(f"{where} is not a readable run folder ({e})") from None
    if saved.method not in REFERENCE_METHODS:
        raise ValueError(
            f"{where} is a --method {saved.method} run; it needs --method "
            + " or ".join(REFERENCE_METHODS)
        )
    problem = mismatch(saved, cfg)
    if problem:
        raise ValueError(f"{where} {problem}")
    returns = scratch_returns(run.summary)
    names = [g.name for g in cfg.sequence]
    missing = [name for name in names if name not in returns[cfg.eval_policy]]
    if missing:
        raise ValueError(f"{where} has no finished score for {', '.join(missing)}")
    return {policy: {name: scores[name] for name in names} for policy, scores in returns.items()}
