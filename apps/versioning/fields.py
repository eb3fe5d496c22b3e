"""``?fields=a,b,tenant.slug``: the v2 field selection on GET bodies."""

from __future__ import annotations

from typing import Any


class UnknownFields(Exception):
    def __init__(self, unknown: list[str], available: list[str]) -> None:
        super().__init__(", ".join(unknown))
        self.unknown = unknown
        self.available = available


def parse_fields(raw: str) -> list[str]:
    return [f.strip() for f in raw.split(",") if f.strip()]


def _tree(paths: list[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = path.split(".")
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                node[part] = None  # whole value
            else:
                child = node.get(part, {})
                if child is None:
                    break  # "a" already selects all of a
                node = node.setdefault(part, child)
    return tree


def _select(obj: Any, tree: dict[str, Any], prefix: str, unknown: set[str]) -> Any:
    if isinstance(obj, list):
        return [_select(item, tree, prefix, unknown) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, sub in tree.items():
        if key not in obj:
            unknown.add(prefix + key)
            continue
        out[key] = (
            obj[key]
            if sub is None
            else _select(obj[key], sub, f"{prefix}{key}.", unknown)
        )
    return out


def select_fields(data: Any, raw: str) -> Any:
    """The selected part of ``data`` (an object or a list of objects).

    Raises UnknownFields naming every requested field the body does not have.
    An empty list has no field to check against, so any selection passes.
    """
    paths = parse_fields(raw)
    if not paths:
        return data
    unknown: set[str] = set()
    selected = _select(data, _tree(paths), "", unknown)
    if unknown:
        sample = data[0] if isinstance(data, list) and data else data
        available = sorted(sample) if isinstance(sample, dict) else []
        raise UnknownFields(sorted(unknown), available)
    return selected
