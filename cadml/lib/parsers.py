"""The API's JSON parser: every JSON body we accept is an object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from cadml.lib.errors import InvalidInput


class JSONObjectParser(JSONParser):
    """DRF's JSON parser, refusing a top level that is not an object (a list, a
    string, a number, ``null``) and nesting too deep for Python's parser, so
    views can read ``request.data`` as a mapping."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                "JSON parse error - the body is nested too deeply"
            ) from None
        if not isinstance(data, dict):
            kind = {
                list: "an array",
                str: "a string",
                int: "a number",
                float: "a number",
                bool: "true or false",
            }.get(type(data), "null")
            raise InvalidInput(
                f"the request body must be a JSON object ({{...}}), not {kind}",
                code="invalid_body",
            )
        return data
