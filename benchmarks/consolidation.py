"""What BLIP's task end costs against the task itself, on the paper's Atari trunk: the Fisher
over 2,048 rollout transitions plus the bit freezing (spec s.4), timed in this run, over the
time BLIP PPO takes for one task of the suite (10M env steps for atari6) at the env-steps/s
measured in the same run (target <= 0.01).

    python benchmarks/consolidation.py [--suite atari6|minatar] [--steps N] [--repeats R]
"""

from __future__ import annotations

from ppo_overhead import build, steps_per_second
from timing import headline, median_seconds

from blip_rl import Blip, BlipConfig
from blip_rl.agents.presets import SUITE_PRESETS
from blip_rl.agents.samples import FISHER_BATCH, RecentTransitions
from blip_rl.agents.trainer import policy_log_likelihood
from blip_rl.infra.flags import Parser, positive_int


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("atari6", "minatar"), default="atari6")
    parser.add_argument("--steps", type=positive_int, default=4_000, help="env steps timed for fps")
    parser.add_argument("--repeats", type=positive_int, default=3)
    args = parser.parse_args()
    preset = SUITE_PRESETS[args.suite]
    model = build(args.suite, blip=True)
    fps = max(steps_per_second(model, args.steps) for _ in range(args.repeats))
    samples = RecentTransitions(2048, model.observation_space.dtype)
    samples.top_up(model)
    blip = Blip(model.policy, BlipConfig(fisher_prior=preset.fisher_prior))

    def consolidate() -> None:
        blip.consolidate(samples.batches(FISHER_BATCH, model.device), policy_log_likelihood)

    seconds = median_seconds(consolidate, args.repeats)
    task = preset.steps_per_task / fps
    print(f"{args.suite}: BLIP PPO {fps:.1f} env-steps/s, one task of {preset.steps_per_task:,} "
          f"steps {task / 3600:.2f} h; task end (Fisher + freezing) {seconds:.2f} s")  # fmt: skip
    headline(f"task end / task time ({args.suite})", seconds / task, "<= 0.01")


if __name__ == "__main__":
    main()
