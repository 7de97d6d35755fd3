"""The reference of plasticity: a ``--method scratch`` run's score of each game learned alone,
read from its run folder and checked against the run that compares with it."""

from __future__ import annotations

import json
from pathlib import Path

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.results import scratch_returns
from blip_rl.config import config_from_dict

MUST_MATCH = ("task_steps", "n_envs", "trunk_width", "ppo", "eval_episodes", "episode_cap")
"""Settings under which a scratch score is a fair reference: the same budget and learner."""


def load_scratch(folder: Path, cfg: TrainConfig) -> dict[str, dict[str, float]]:
    """Raw task-end returns (policy -> game -> return) of the scratch run in ``folder``.

    Raises ``ValueError`` naming the problem if ``folder`` is not a finished-enough scratch run
    of ``cfg``'s platform, games and budget (:data:`MUST_MATCH`).
    """
    where = f"--scratch {str(folder)!r}"
    try:
        saved = config_from_dict(TrainConfig, json.loads((folder / "config.json").read_text()))
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError, TypeError) as e:
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
    returns = scratch_returns(summary)
    missing = [g.name for g in cfg.sequence if g.name not in returns[cfg.eval_policy]]
    if missing:
        raise ValueError(f"{where} has no finished score for {', '.join(missing)}")
    return returns
