"""``blip-rl classify`` settings: one frozen dataclass whose fields are the flags."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

from blip_rl.classification.benchmarks import BENCHMARKS
from blip_rl.core.blip import LIBRARY_DEFAULTS, BlipConfig
from blip_rl.core.ewc import EwcConfig
from blip_rl.core.methods import METHODS, method_settings
from blip_rl.core.options import nested, option, with_defaults
from blip_rl.core.packnet import PackNetConfig
from blip_rl.core.quant import KERNELS
from blip_rl.infra.device import DEVICES, KERNELS_HELP, THREADS_HELP, check_threads
from blip_rl.infra.tracking import WANDB_MODES, check_project, experiment_group

PRESETS: dict[str, BlipConfig] = {
    "default": BlipConfig(),
    "paper": BlipConfig(ig="authors"),
}
"""BLIP settings per ``--preset`` before the library's defaults (the benchmark's prior, snap,
no budget): ``default`` freezes by Eq. 8, ``paper`` as the authors' code (their information
gain, 0 bits where F_t < F_old, and their prior where the default's is calibrated: see
:meth:`~blip_rl.classification.benchmarks.Benchmark.prior_for`)."""


@dataclass(frozen=True)
class ClassifyConfig:
    """Defaults follow the paper (spec s.8): SGD, batch 32, lr / 3 after 5 epochs without
    validation improvement, stop below lr 1e-4 or after 200 epochs, best weights restored.
    Settings left ``None`` take the benchmark's value in :meth:`resolved`."""

    RENAMED: ClassVar[dict[str, str]] = {
        "lr": "learning_rate",
        "lr_factor": "learning_rate_factor",
        "lr_patience": "learning_rate_patience",
        "lr_min": "learning_rate_min",
    }
    """Old setting names (runs written before they were renamed) -> current names."""

    benchmark: str = option("digits5", "task sequence", choices=tuple(BENCHMARKS))
    method: str = option("blip", "continual-learning method", choices=METHODS)
    preset: str = option(
        "default",
        "BLIP recipe for the settings not given: default (Eq. 8's information gain) or paper "
        "(the authors' code: their information gain); both with the benchmark's prior, the "
        "snap and no budget",
        choices=tuple(PRESETS),
    )
    seeds: tuple[int, ...] = option(
        (0,),
        "comma-separated seeds, each learned in turn into this one run folder (a classify run "
        "is cheap; `train` takes one --seed per folder and `sweep --seeds` makes one each)",
    )
    data_dir: str | None = option(None, "folder with the data set files (not for digits5/pdigits)")
    out: str | None = option(
        None,
        "run directory [default: runs/<benchmark>__<method>__<seeds>__<unix time>]",
        how=True,
    )
    resume: bool = option(
        False,
        "continue the run in --out: finished seeds and tasks are kept, the rest learned",
        how=True,
    )
    epochs: int = option(200, "most epochs per task")
    learning_rate: float | None = option(
        None, "initial SGD learning rate [default: the benchmark's]"
    )
    learning_rate_factor: float = option(
        3.0, "divide the learning rate by this on a validation plateau"
    )
    learning_rate_patience: int = option(
        5, "epochs without validation improvement before lowering the learning rate"
    )
    learning_rate_min: float = option(1e-4, "stop a task when the learning rate falls below this")
    batch_size: int = option(32, "training batch size")
    val_fraction: float = option(0.1, "share of each task's training data held out")
    fisher_samples: int = option(8000, "training samples per Fisher estimate (BLIP, EWC)")
    device: str = option("auto", "torch device", choices=DEVICES, how=True)
    threads: int = option(
        0,
        THREADS_HELP,
        how=True,
    )
    kernels: str = option("eager", KERNELS_HELP, choices=KERNELS, how=True)
    wandb: str = option(
        "off",
        "log to Weights & Biases, one W&B run per seed; offline writes under --out for "
        "`wandb sync` later",
        choices=WANDB_MODES,
        how=True,
    )
    wandb_project: str = option("blip-rl", "W&B project", how=True)
    blip: BlipConfig = nested(BlipConfig, "BLIP (--method blip)")
    ewc: EwcConfig = nested(EwcConfig, "EWC (--method ewc)")
    packnet: PackNetConfig = nested(PackNetConfig, "PackNet (--method packnet)")

    def __post_init__(self) -> None:
        positive_ints = {
            "epochs": self.epochs,
            "learning_rate_patience": self.learning_rate_patience,
            "batch_size": self.batch_size,
            "fisher_samples": self.fisher_samples,
        }
        for name, value in positive_ints.items():
            if value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value}")
        rates = {"learning_rate": self.learning_rate, "learning_rate_min": self.learning_rate_min}
        for name, value in rates.items():
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a number > 0, got {value}")
        if not self.learning_rate_factor > 1:
            raise ValueError(f"learning_rate_factor must be > 1, got {self.learning_rate_factor}")
        check_threads(self.threads)
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        check_project(self.wandb_project)
        for name, allowed in (("benchmark", BENCHMARKS), ("preset", PRESETS)):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"unknown {name} {getattr(self, name)!r}; choose from: {', '.join(allowed)}"
                )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {','.join(map(str, self.seeds))}")

    @property
    def group(self) -> str:
        """The experiment this run is a seed of: its W&B group and its group in ``blip-rl
        plot`` (see :func:`~blip_rl.infra.tracking.experiment_group`; of a resolved config),
        over :attr:`method_settings`."""
        return experiment_group(f"{self.benchmark}__{self.method}", self.method_settings)

    @property
    def method_settings(self) -> ClassifyConfig:
        """This config with the settings only other methods read at their defaults (see
        :func:`~blip_rl.core.methods.method_settings`): EWC runs made when the benchmark's
        BLIP prior differed are one experiment."""
        return method_settings(self)

    def resolved(self) -> ClassifyConfig:
        """This config with every setting left ``None`` set: the benchmark's learning rate
        and Fisher prior, the preset's BLIP settings, BLIP's library defaults for the rest;
        two configs of one experiment, one naming the defaults and one not, are then equal."""
        bench = BENCHMARKS[self.benchmark]
        library = replace(LIBRARY_DEFAULTS, fisher_prior=bench.prior_for(self.preset))
        blip = with_defaults(PRESETS[self.preset], library)
        return replace(
            self,
            learning_rate=bench.lr if self.learning_rate is None else self.learning_rate,
            blip=with_defaults(self.blip, blip),
        )
