from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.modelreg import training
from apps.modelreg.services.training import default_model_ensure
from apps.modelreg.training import terminal_progress


class Command(BaseCommand):
    help = (
        "Train and activate the default part classifiers when none is active: "
        "the 2D one on synthetic drawings, the 3D one (STEP/IGES) on generated "
        "solids of the same families (seeded; about a minute each on 2 "
        "cores)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--per-class", type=int, default=training.DEFAULT_PER_CLASS)
        parser.add_argument(
            "--per-class-3d", type=int, default=training.DEFAULT_PER_CLASS_3D
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--only",
            choices=["2d", "3d"],
            help="ensure one of the two default models only",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        for solids in (False, True):
            if opts["only"] in (None, "3d" if solids else "2d"):
                self._ensure(opts, solids=solids)

    def _ensure(self, opts: dict[str, Any], *, solids: bool) -> None:
        out = default_model_ensure(
            per_class=opts["per_class_3d"] if solids else opts["per_class"],
            seed=opts["seed"],
            progress=terminal_progress(sys.stderr),
            solids=solids,
        )
        if not out["created"]:
            self.stdout.write(f"{out['name']} v{out['version']} is already active")
            return
        what = "solids (STEP/IGES)" if solids else "drawings"
        self.stdout.write(
            f"trained {out['name']} v{out['version']} ({out['estimator']}): "
            f"accuracy {out['accuracy']:.3f}, macro-F1 {out['macro_f1']:.3f} on "
            f"held-out synthetic {what}; activation {out['activation']['status']}"
        )
