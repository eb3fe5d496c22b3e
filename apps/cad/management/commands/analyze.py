from __future__ import annotations

import json
import sys
from itertools import groupby
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.cad.serializers import PREDICTION_FIELDS, AnalysisOutputSerializer
from apps.cad.services import content_analyze, content_predict
from cadml.lib.errors import DomainError

_KEYS = (
    "format",
    "recovered",
    "fixes",
    "feature_version",
    "features",
    "text",
    "title_block",
    "dimensions",
    "stats",
)


class Command(BaseCommand):
    help = (
        "Analyse CAD files with the same pipeline as the API. With --json, one "
        "JSON object per file per line, in order; exit status 1 if any was refused. "
        "With an active model, each file's prediction, its model and version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true", help="JSON lines output")
        parser.add_argument(
            "--no-predict",
            action="store_true",
            help="skip the prediction (none of its keys: predictions, unknown, ...)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        refused = 0
        for path in options["files"]:
            out: dict[str, Any] = {"file": str(path)}
            try:
                content = path.read_bytes()
            except OSError as exc:
                out.update(error=f"Cannot read the file: {exc.strerror}", status=400)
                refused += 1
            else:
                try:
                    result = content_analyze(
                        name=path.name, content=content, preview=False
                    )
                except DomainError as exc:
                    out.update(error=exc.message, code=exc.code, status=exc.status_code)
                    refused += 1
                else:
                    out.update({k: result[k] for k in _KEYS})
                    if not options["no_predict"]:
                        data = AnalysisOutputSerializer(
                            content_predict(result=result, name=path.name)
                        ).data
                        out.update({k: data[k] for k in PREDICTION_FIELDS})
            self._emit(out, options["json"])
        if refused:
            # Exit status 1 is the scripting contract; CommandError would also
            # print a traceback-free message on stderr, which is what we want.
            raise CommandError(f"{refused} file(s) refused", returncode=1)

    def _emit(self, out: dict[str, Any], as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(out, ensure_ascii=False))
        elif "error" in out:
            self.stdout.write(
                f"{out['file']}: refused ({out['status']}): {out['error']}"
            )
        else:
            tb = {k: v["value"] for k, v in out["title_block"].items() if v}
            solid = out["stats"].get("solid")
            yields = (
                self._solid_text(solid)
                if solid
                else f"{out['stats'].get('entities', 0)} entities"
            )
            self.stdout.write(
                f"{out['file']}: {out['format']}, {yields}, "
                f"{len(out['text'])} texts, title block {tb}"
                + self._prediction_text(out)
            )
        sys.stdout.flush()

    @staticmethod
    def _solid_text(solid: dict[str, Any]) -> str:
        """What a STEP/IGES file yields: B-rep faces and solids, not entities."""
        by_type = solid["faces_by_type"]
        kinds = ", ".join(f"{n} {t}" for t, n in by_type.items())
        faces = sum(by_type.values())
        n = solid["solids"]
        return (
            f"{faces} faces ({kinds}), {n} solid{'' if n == 1 else 's'}, "
            f"volume {solid['volume_mm3']:.6g} mm3, file units {solid['units']}"
        )

    @staticmethod
    def _prediction_text(out: dict[str, Any]) -> str:
        if "predictions" not in out:
            return ""
        if not out["predictions"] or not out["model"]:
            return f"; no prediction ({out['prediction_reason']})"
        best, model = out["predictions"][0], out["model"]
        score = f"{best['score']:.2f}" if best["score"] is not None else "?"
        flag = (
            f", unknown: {out['unknown_reason']}"
            if out["unknown"]
            else (", needs review" if out["needs_review"] else "")
        )
        named = f", named {out['named']['word']!r}" if out["named"] else ""
        return (
            f"; predicted {best['label']} ({score}, "
            f"{model['name']} v{model['version']}{flag}{named})"
            + Command._parts_text(out.get("part_predictions") or [])
        )

    @staticmethod
    def _parts_text(parts: list[dict[str, Any]]) -> str:
        """Each part's answer in the file's order, repeats counted:
        ``; parts: spur_gear, flange, 2 x washer, unknown``."""
        if not parts:
            return ""
        labels = ("unknown" if p["unknown"] else p["label"] for p in parts)
        runs = ((label, len(list(same))) for label, same in groupby(labels))
        return "; parts: " + ", ".join(
            label if n == 1 else f"{n} x {label}" for label, n in runs
        )
