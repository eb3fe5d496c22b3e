"""Labels on drawings: the tenant's own class names, set one at a time, in bulk
(JSON or CSV), from a zip's folders, from a correction or in the admin.

Every change is one ``drawing.labelled`` fact (``cadml.lib.events.record``; the
audit app writes it) with the old and new label and where the change came from.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.accounts.models import Tenant
from apps.cad.models import Drawing
from cadml.lib import events
from cadml.lib.errors import InvalidInput

logger = logging.getLogger(__name__)

MAX_LABEL = 64
SOURCES = ("api", "bulk", "job", "feedback", "admin")
_SPACES = re.compile(r"\s+")


class LabelErrors(InvalidInput):
    """A bulk request with bad rows: nothing was changed; ``errors`` says which."""

    code = "invalid_labels"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        lines = "; ".join(f"row {e['row']}: {e['detail']}" for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"No label was changed. {lines}{more}")
        self.errors = errors


def label_normalise(raw: Any) -> str:
    """Trimmed, lower-case, runs of spaces to ``_``; raises InvalidInput when
    the result is empty, over 64 characters or holds control characters."""
    if not isinstance(raw, str):
        raise InvalidInput("label must be a string (or null to clear it).")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in raw.strip()):
        raise InvalidInput("label must not contain control characters.")
    label = _SPACES.sub("_", raw.strip().lower())
    if not label:
        raise InvalidInput("label must not be empty; send null to clear it.")
    if len(label) > MAX_LABEL:
        raise InvalidInput(
            f"label is {len(label)} characters long; at most {MAX_LABEL}."
        )
    return label


def _audit(
    drawing: Drawing, *, old: str, new: str, source: str, actor: Any = None
) -> None:
    user = actor if getattr(actor, "is_authenticated", False) else None
    events.record(
        "cad",
        action="drawing.labelled",
        tenant=drawing.tenant,
        actor_user=user,
        resource_type="drawing",
        resource_id=drawing.pk,
        details={"old": old or None, "new": new or None, "source": source},
    )


def _apply(drawing: Drawing, label: str, *, source: str, actor: Any) -> bool:
    if drawing.label == label:
        return False
    old = drawing.label
    drawing.label = label
    drawing.save(update_fields=["label"])
    _audit(drawing, old=old, new=label, source=source, actor=actor)
    return True


@transaction.atomic
def drawing_label_set(
    *, drawing: Drawing, label: str | None, source: str = "api", actor: Any = None
) -> Drawing:
    """Set (``label`` a string) or clear (None) one drawing's label."""
    if source not in SOURCES:
        raise ValueError(f"unknown label source {source!r}")
    new = "" if label is None else label_normalise(label)
    _apply(drawing, new, source=source, actor=actor)
    return drawing


@dataclass(frozen=True)
class LabelRow:
    row: int  # 1-based, as a person counts rows in their file
    key: str  # a drawing id or a sha256
    label: Any


def rows_from_json(data: Any) -> list[LabelRow]:
    if not isinstance(data, list):
        raise InvalidInput(
            'Send a JSON list: [{"id": 12, "label": "nut"}, '
            '{"sha256": "...", "label": "bolt"}].'
        )
    rows = []
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict):
            rows.append(LabelRow(i, "", None))
            continue
        key = item.get("id", item.get("sha256", ""))
        rows.append(LabelRow(i, str(key) if key is not None else "", item.get("label")))
    return rows


def rows_from_csv(text: str) -> list[LabelRow]:
    """``id_or_sha256,label`` per line; a first line naming those columns is a
    header and is skipped (it is still row 1)."""
    rows = []
    for i, record in enumerate(csv.reader(io.StringIO(text)), 1):
        if not record or all(not c.strip() for c in record):
            continue
        if i == 1 and record[0].strip().lower() in ("id_or_sha256", "id", "sha256"):
            continue
        if len(record) != 2:
            rows.append(LabelRow(i, "", _BadShape(len(record))))
            continue
        rows.append(LabelRow(i, record[0].strip(), record[1]))
    return rows


@dataclass(frozen=True)
class _BadShape:
    columns: int


_SHA = re.compile(r"^[0-9a-f]{64}$")


def drawing_labels_bulk(
    *, tenant: Tenant, rows: list[LabelRow], actor: Any = None
) -> dict[str, int]:
    """Label many drawings, all or nothing.

    Every row names a drawing of ``tenant`` by id or sha256 and a label (null
    clears). Any bad row (unknown drawing, bad label, the same drawing twice
    with two labels) refuses the whole request with every problem listed by
    row number. Returns how many drawings changed.
    """
    if not rows:
        raise InvalidInput("No rows: send at least one {id or sha256, label}.")
    limit = 10_000
    if len(rows) > limit:
        raise InvalidInput(f"{len(rows)} rows; at most {limit} per request.")
    errors: list[dict[str, Any]] = []
    ids = {int(r.key) for r in rows if r.key.isdigit()}
    shas = {r.key.lower() for r in rows if _SHA.match(r.key.lower())}
    found_by_id = Drawing.objects.filter(tenant=tenant).in_bulk(ids)
    found_by_sha = {
        d.sha256: d for d in Drawing.objects.filter(tenant=tenant, sha256__in=shas)
    }
    planned: dict[int, tuple[Drawing, str, int]] = {}
    for r in rows:
        if isinstance(r.label, _BadShape):
            errors.append(
                {
                    "row": r.row,
                    "detail": f"expected 2 columns (id_or_sha256,label), got "
                    f"{r.label.columns}",
                }
            )
            continue
        if not r.key:
            errors.append({"row": r.row, "detail": "give the drawing's id or sha256"})
            continue
        drawing = (
            found_by_id.get(int(r.key))
            if r.key.isdigit()
            else found_by_sha.get(r.key.lower())
        )
        if drawing is None:
            errors.append({"row": r.row, "detail": f"no drawing {r.key!r}"})
            continue
        try:
            label = (
                ""
                if r.label is None or (isinstance(r.label, str) and r.label == "")
                else label_normalise(r.label)
            )
        except InvalidInput as exc:
            errors.append({"row": r.row, "detail": exc.message})
            continue
        earlier = planned.get(drawing.pk)
        if earlier is not None and earlier[1] != label:
            errors.append(
                {
                    "row": r.row,
                    "detail": f"drawing {drawing.pk} was given {earlier[1]!r} in row "
                    f"{earlier[2]}",
                }
            )
            continue
        planned[drawing.pk] = (drawing, label, r.row)
    if errors:
        raise LabelErrors(errors)
    changed = 0
    with transaction.atomic():
        for drawing, label, _ in planned.values():
            changed += _apply(drawing, label, source="bulk", actor=actor)
    return {"rows": len(rows), "drawings": len(planned), "changed": changed}


def label_from_path(path: str) -> str | None:
    """The label a zip member's folder gives it (the innermost folder), or None
    for a file at the top of the archive."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if len(parts) < 2:
        return None
    return label_normalise(parts[-2])


def drawings_label_many(
    *, drawings: Iterable[tuple[Drawing, str]], source: str, actor: Any = None
) -> int:
    """Label drawings whose labels were checked already (zip folders)."""
    changed = 0
    with transaction.atomic():
        for drawing, label in drawings:
            changed += _apply(drawing, label, source=source, actor=actor)
    return changed
