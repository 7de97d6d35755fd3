"""The continual RL agent: SB3 PPO with a BLIP trunk and per-task heads."""

from blip_rl.agents.policy import BlipActorCriticPolicy, BlipTrunk, TaskHeads

__all__ = ["BlipActorCriticPolicy", "BlipTrunk", "TaskHeads"]
