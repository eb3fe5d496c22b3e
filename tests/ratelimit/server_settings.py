"""Settings for daphne processes started by the rate-limit integration tests:
the real settings, with policies from ``TEST_RATELIMIT_POLICIES`` (JSON)."""

import json
import os

from cadml.settings import *  # noqa: F403

CADML_RATELIMIT_POLICIES = json.loads(os.environ.get("TEST_RATELIMIT_POLICIES", "{}"))
