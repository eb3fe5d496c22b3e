"""Buffered writing of ``api.call`` events.

The request path only appends a small object to a list (microseconds); a daemon
thread bulk-inserts the list every ``CADML_AUDIT_BUFFER_MS`` milliseconds over its
own database connection. An ``atexit`` hook stops the thread and writes what is
left, so a clean shutdown (SIGTERM to daphne, Ctrl-C) loses nothing. A crash
(SIGKILL, power loss) can lose at most the last interval: that is the documented
price of a request path that does not wait for the database. Security events never
go through here; they are written in the caller's transaction.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from django.db import connection

from apps.audit.keys import event_encrypt
from apps.audit.models import AuditEvent
from cadml import metrics

logger = logging.getLogger(__name__)

# If the database is down, keep at most this many events in memory, then drop the
# oldest (and say so in the log) rather than grow without bound.
MAX_PENDING = 200_000
BATCH_SIZE = 2_000


class EventBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[AuditEvent] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.interval_s = 0.2

    def add(self, event: AuditEvent, *, interval_s: float) -> None:
        self.interval_s = interval_s
        with self._lock:
            self._pending.append(event)
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                logger.error("audit buffer full: dropped %d api.call events", dropped)
            if self._thread is None or self._pid != os.getpid():
                self._start()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _start(self) -> None:
        # After a fork the thread does not exist in the child: start a fresh one.
        self._pid = os.getpid()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="cadml-audit-writer", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._wake.wait(self.interval_s)
                self._wake.clear()
                self.flush()
        finally:
            connection.close()

    def flush(self) -> int:
        """Write everything pending; returns how many events were written. On a
        database error the events go back to the front of the queue."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            for event in batch:
                event_encrypt(event)
            AuditEvent.objects.bulk_create(batch, batch_size=BATCH_SIZE)
        except Exception:
            logger.exception("audit buffer: could not write %d events", len(batch))
            connection.close()
            with self._lock:
                self._pending[:0] = batch
            return 0
        for event in batch:
            metrics.audit_events.labels(event.action).inc()
        return len(batch)

    def stop(self) -> None:
        """Stop the writer thread and write what is left (atexit)."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout=10)
        for _ in range(3):  # a transient error gets two more tries
            self.flush()
            if not self.pending():
                break
        connection.close()


buffer = EventBuffer()
atexit.register(buffer.stop)
