"""What the CAD core tells apps above it, which it does not import.

``analyses_waiting``: a tenant's queued analyses (large uploads answered 202)
may be handed to the workers: one was queued, or one ended and freed its slot.
They share the tenant's in-flight limit with batch items, so the batch app,
which owns that limit, subscribes in its ``AppConfig.ready()`` and dispatches.
Sent with ``tenant_id``; a receiver's error propagates to the sender.
"""

from __future__ import annotations

from django.dispatch import Signal

analyses_waiting = Signal()
