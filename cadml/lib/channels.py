"""Realtime channel names, built in one place.

Pure string helpers, so any app may name the channel it publishes to without
importing the realtime app; ``apps.realtime.channels`` parses and authorises
them.
"""

from __future__ import annotations


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


def tenant_channel(slug: str) -> str:
    return f"tenant:{slug}"


def job_channel(job_id: object) -> str:
    return f"job:{job_id}"


def model_channel(name: str) -> str:
    return f"model:{name}"


ALERTS_CHANNEL = "topic:alerts"
