"""Throughput of BLIP PPO against plain SB3 PPO with the same architecture and envs.

Both learn the same game with the paper's PPO settings (16 envs x 125 steps, 4 epochs x 8
minibatches): the plain agent is SB3's ``ActorCriticPolicy`` on the same trunk built from
float ``nn.Conv2d``/``nn.Linear``; the BLIP agent is ``BlipActorCriticPolicy`` (quantized
trunk, 6 head pairs) with the BLIP clip hooked after every optimizer step and one task
already consolidated. They are timed in pairs, back to back (plain then BLIP, then BLIP then
plain, ...), so each pair's ratio sees one machine load: the headline is the median of the
pair ratios (target >= 0.97), printed with every pair's, all measured in this one run.

    python benchmarks/ppo_overhead.py [--suite minatar|atari6|both] [--steps N] [--pairs P]
                                      [--critic-trunk shared|own]

``--critic-trunk own`` gives both agents' critics a float trunk of their own, as ``blip-rl
train`` does by default (the demo); ``shared`` (the default here) is the paper's network.
"""

from __future__ import annotations

import time
from functools import partial

from stable_baselines3 import PPO
from timing import paired_rates, report_pairs

from blip_rl import Blip, BlipConfig
from blip_rl.agents import BlipActorCriticPolicy, BlipTrunk
from blip_rl.agents.config import PPOConfig
from blip_rl.agents.presets import SUITE_PRESETS
from blip_rl.agents.samples import FISHER_BATCH, RecentTransitions
from blip_rl.agents.trainer import policy_log_likelihood
from blip_rl.core.quant import KERNELS, use_kernels
from blip_rl.envs import SUITES, get_game, make_env
from blip_rl.envs.make import VEC_ENVS
from blip_rl.infra.device import DEVICES, resolve_device
from blip_rl.infra.flags import Parser, positive_int

N_ENVS = 16
PAPER_PPO = PPOConfig()
"""The paper's PPO settings (16 envs x 125 steps, 4 epochs x 8 minibatches)."""


def build(
    suite: str,
    blip: bool,
    device: str = "cpu",
    vec_env: str = "dummy",
    n_envs: int = N_ENVS,
    ppo: PPOConfig = PAPER_PPO,
    critic_trunk: str = "shared",
) -> PPO:
    """A PPO agent on the suite's first game; BLIP's hooks stay alive with its optimizer.
    ``critic_trunk`` "own" gives the critic a float trunk of its own (both agents)."""
    game = get_game(SUITES[suite].games[0], SUITES[suite].platform)
    env = make_env(game, n_envs, seed=0, train=True, vec_env=vec_env)
    kwargs = {**ppo.sb3_kwargs(n_envs), "seed": 0, "device": resolve_device(device)}
    share = {"share_features_extractor": critic_trunk == "shared"}
    if not blip:
        policy_kwargs = {
            "features_extractor_class": BlipTrunk,
            "features_extractor_kwargs": {"quantized": False},
            "net_arch": [],
            **share,
        }
        return PPO("CnnPolicy", env, policy_kwargs=policy_kwargs, **kwargs)
    model = PPO(BlipActorCriticPolicy, env, policy_kwargs={"n_tasks": 6, **share}, **kwargs)
    strategy = Blip(model.policy, BlipConfig(fisher_prior=SUITE_PRESETS[suite].fisher_prior))
    # One consolidated task, so the clip works on real frozen-bit counts.
    samples = RecentTransitions(2048, env.observation_space.dtype)
    samples.top_up(model)
    strategy.consolidate(samples.batches(FISHER_BATCH, model.device), policy_log_likelihood)
    model.policy.set_task(1)
    strategy.attach(model.policy.optimizer)
    return model


def steps_per_second(model: PPO, steps: int) -> float:
    start, before = time.perf_counter(), model.num_timesteps
    model.learn(steps, reset_num_timesteps=False)
    return (model.num_timesteps - before) / (time.perf_counter() - start)


def pair_ratios(
    suite: str,
    steps: int,
    pairs: int,
    device: str,
    vec_env: str,
    n_envs: int = N_ENVS,
    ppo: PPOConfig = PAPER_PPO,
    critic_trunk: str = "shared",
) -> tuple[list[float], list[float]]:
    """Env-steps/s of plain SB3 PPO and of BLIP PPO on ``suite``, ``pairs`` of each: pair i
    runs the two back to back (plain first in even pairs, BLIP first in odd ones), so the
    ratio of a pair sees the same machine load, and drift cancels over pairs."""
    models = {
        name: build(suite, name == "blip", device, vec_env, n_envs, ppo, critic_trunk)
        for name in ("plain", "blip")
    }
    for model in models.values():  # warm-up: first rollout, allocator, caches
        model.learn(n_envs * ppo.n_steps)
    rates = paired_rates({k: partial(steps_per_second, m, steps) for k, m in models.items()}, pairs)
    return rates["plain"], rates["blip"]


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("minatar", "atari6", "both"), default="both")
    parser.add_argument(
        "--steps", type=positive_int, default=None, help="env steps per timed learn()"
    )
    parser.add_argument("--pairs", type=positive_int, default=5, help="timed (plain, BLIP) pairs")
    parser.add_argument("--kernels", choices=KERNELS, default="eager", help="BLIP's rebuild")
    parser.add_argument("--device", choices=DEVICES, default="cpu")
    parser.add_argument("--vec-env", choices=tuple(VEC_ENVS), default="dummy")
    parser.add_argument("--critic-trunk", choices=("shared", "own"), default="shared")
    args = parser.parse_args()
    use_kernels(args.kernels, resolve_device(args.device))
    suites = ("minatar", "atari6") if args.suite == "both" else (args.suite,)
    for suite in suites:  # the paper's Atari trunk last: the headline
        steps = args.steps or (20_000 if suite == "minatar" else 4_000)
        plain, blip = pair_ratios(
            suite, steps, args.pairs, args.device, args.vec_env, critic_trunk=args.critic_trunk
        )
        detail = (
            f"SB3 PPO, critic trunk {args.critic_trunk}, {steps} env steps per timing, "
            f"{args.kernels} kernels"
        )
        report_pairs(
            "BLIP PPO / plain SB3 PPO", suite, "env-steps/s", {"plain": plain, "blip": blip}, detail
        )


if __name__ == "__main__":
    main()
