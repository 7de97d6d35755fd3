"""The continual RL agent: SB3 PPO with a BLIP trunk and per-task heads."""

from blip_rl.agents.callback import BlipCallback
from blip_rl.agents.policy import BlipActorCriticPolicy, BlipMlpTrunk, BlipTrunk
from blip_rl.agents.tasks import TaskFiLM, TaskHeads, TaskStem

__all__ = [
    "BlipActorCriticPolicy",
    "BlipCallback",
    "BlipMlpTrunk",
    "BlipTrunk",
    "TaskFiLM",
    "TaskHeads",
    "TaskStem",
]
