"""Benchmark settings: the real settings plus bench-only routes (never deployed)."""

from cadml.settings import *  # noqa: F403

ROOT_URLCONF = "bench.benchsite.urls"
