"""daphne's HTTP requests skip Twisted's form parsing.

Twisted's ``Request.requestReceived`` parses every multipart/form-data and
url-encoded POST body into ``request.args`` with the ``email`` package, on the
reactor thread, before daphne hands the raw body to Django, which parses it
again and is the only one that reads it. On a DXF upload that was about 40 % of
daphne's CPU, and a large upload stalled every other connection of the process
while the reactor parsed it (and held a second copy of it in memory). Twisted
24.11+ can skip the parse (``parsePOSTFormSubmission``); daphne 4.2 does not
ask, so its request class is made to ask here. Nothing in daphne reads
``request.args`` (``daphne/http_protocol.py`` builds the ASGI scope from the
path, headers and raw body).
"""

from __future__ import annotations

import inspect
from typing import Any


def skip_twisted_form_parsing() -> bool:
    """Patch daphne's ``WebRequest`` once; False when daphne or the Twisted
    option is missing (nothing to do)."""
    try:
        from daphne.http_protocol import WebRequest
        from twisted.web.http import Request
    except ImportError:
        return False
    if getattr(WebRequest, "_cadml_skips_form_parsing", False):
        return True
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return False
    original = WebRequest.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    WebRequest.__init__ = __init__  # type: ignore[method-assign]
    WebRequest._cadml_skips_form_parsing = True  # type: ignore[attr-defined]
    return True
