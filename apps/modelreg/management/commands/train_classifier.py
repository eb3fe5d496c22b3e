from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.modelreg.services.training import classifier_train
from apps.modelreg.training import BASES, terminal_progress
from cadml.lib.errors import DomainError


class Command(BaseCommand):
    help = "Train a part classifier (ONNX) on DIR/<label>/* or synthetic drawings."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--data", help="folder with one sub-folder per label")
        source.add_argument(
            "--synthetic", type=int, metavar="N", help="N synthetic drawings per class"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--name", default="part-classifier")
        parser.add_argument("--tenant", help="register for this tenant (slug)")
        parser.add_argument("--register", action="store_true")
        parser.add_argument("--activate", action="store_true")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--svg", help="write the confusion-matrix picture here")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--base",
            choices=BASES,
            default="none",
            help="with --data: default trains beside the default model's "
            "generated drawings (its families and not_a_part)",
        )
        parser.add_argument(
            "--estimator",
            action="append",
            choices=["random_forest", "extra_trees", "logistic_regression"],
            help="limit the candidates (repeatable); default: all, best macro-F1 wins",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        tenant = None
        if opts["tenant"]:
            from apps.accounts.models import Tenant

            tenant = Tenant.objects.filter(slug=opts["tenant"]).first()
            if tenant is None:
                raise CommandError(f"no tenant {opts['tenant']!r}")
        try:
            out = classifier_train(
                data_dir=opts["data"],
                synthetic_per_class=opts["synthetic"],
                seed=opts["seed"],
                name=opts["name"],
                tenant=tenant,
                register=opts["register"],
                activate=opts["activate"],
                workers=opts["workers"],
                estimators=opts["estimator"],
                progress=terminal_progress(sys.stderr),
                base=opts["base"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        svg = out.pop("confusion_svg")
        if opts["svg"]:
            Path(opts["svg"]).write_text(svg, encoding="utf-8")
        if opts["json"]:
            self.stdout.write(json.dumps(out, default=str))
            return
        self.stdout.write(
            f"{out['estimator']}: accuracy {out['accuracy']:.3f}, macro-F1 "
            f"{out['macro_f1']:.3f}, ECE {out['ece']:.3f}, abstention "
            f"{out['abstention_rate']:.1%} at {out['confidence_threshold']}"
        )
        for label, m in out["per_class"].items():
            self.stdout.write(
                f"  {label:<16} P {m['precision']:.3f}  R {m['recall']:.3f}  "
                f"F1 {m['f1']:.3f}  n={m['support']}"
            )
        if out["version"] is not None:
            self.stdout.write(f"registered {out['name']} v{out['version']}")
        if "activation" in out:
            act = out["activation"]
            self.stdout.write(f"activation {act['status']} {act['detail']}".rstrip())
