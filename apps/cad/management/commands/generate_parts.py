from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.cad.synth import PART_CLASSES, generate_part


class Command(BaseCommand):
    help = "Write synthetic part drawings to OUT/<label>/<random name>.dxf."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--per-class", type=int, default=10)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--style-shift", action="store_true", help="shifted drafting conventions"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["per_class"]
        if n < 1:
            raise CommandError("--per-class must be at least 1")
        rng = random.Random(options["seed"])
        # File names come from their own generator so that they never carry the
        # label and do not disturb the drawing stream for a given seed.
        names = random.Random(f"names-{options['seed']}")
        total = n * len(PART_CLASSES)
        done = 0
        for label in PART_CLASSES:
            folder = options["out"] / label
            folder.mkdir(parents=True, exist_ok=True)
            for _ in range(n):
                content = generate_part(label, rng, style_shift=options["style_shift"])
                name = f"{names.getrandbits(64):016x}.dxf"
                (folder / name).write_bytes(content)
                done += 1
                if options["verbosity"] >= 1 and (done % 50 == 0 or done == total):
                    self.stdout.write(f"\r{done}/{total}", ending="")
        self.stdout.write(f"\nwrote {total} drawings to {options['out']}")
