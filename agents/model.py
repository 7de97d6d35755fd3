"""The PPO agent of a train run: built fresh from its config, or loaded from one of its
checkpoints (tensors only, read safely) to evaluate or watch it."""

from __future__ import annotations

import torch
from stable_baselines3 import PPO

from blip_rl.agents.config import TrainConfig
from blip_rl.agents.policy import BlipActorCriticPolicy, BlipTrunk
from blip_rl.agents.rundir import TrainRun
from blip_rl.envs import make_env
from blip_rl.infra.checkpoints import read_checkpoint


def new_model(cfg: TrainConfig, device: torch.device) -> PPO:
    """PPO with ``cfg``'s BLIP policy (one head pair per game, the trunk of ``cfg``) on the
    first game's training envs; ``cfg`` resolved."""
    games = cfg.sequence
    env = make_env(games[0], cfg.n_envs, cfg.seed, train=True, vec_env=cfg.vec_env)
    return PPO(
        BlipActorCriticPolicy,
        env,
        policy_kwargs={
            "n_tasks": len(games),
            "strict": cfg.blip.strict,
            "share_features_extractor": cfg.critic_trunk != "own",
            "detach_critic": cfg.critic_trunk == "detached",
            "features_extractor_class": BlipTrunk,
            "features_extractor_kwargs": {
                "bits": cfg.blip.bits,
                "width": cfg.trunk_width,
                "n_tasks": len(games),
                "stem": cfg.task_stem,
                "film": cfg.film,
            },
        },
        seed=cfg.seed,
        device=device,
        **cfg.ppo.sb3_kwargs(cfg.n_envs),
    )


def load_model(run: TrainRun, checkpoint: str, device: torch.device) -> PPO:
    """The agent of ``run`` as saved in its checkpoint ``checkpoint`` (say ``task_1``);
    ``CheckpointError`` if that checkpoint is broken."""
    model = new_model(run.train_config, device)
    model.policy.load_state_dict(
        read_checkpoint(run.path / "checkpoints" / checkpoint).state["policy"]
    )
    return model
