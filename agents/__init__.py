"""The continual RL agent: SB3 PPO with a BLIP trunk and per-task heads."""

from blip_rl.agents.policy import BlipActorCriticPolicy, BlipTrunk
from blip_rl.agents.tasks import TaskFiLM, TaskHeads, TaskStem

__all__ = ["BlipActorCriticPolicy", "BlipTrunk", "TaskFiLM", "TaskHeads", "TaskStem"]
