"""Settings the whole test session runs with, put in the environment before
pytest-django reads ``cadml/settings.py`` (loaded with ``-p`` from setup.cfg):
the servers, workers and commands the tests start inherit them too. A value
already in the environment wins.
"""

from __future__ import annotations

import os

import pytest

SUITE_ENV = {
    # The trainings under test check what a training does (select, calibrate,
    # export, register, activate, roll back), not how good a forest of
    # hundreds of trees is: forests of 20 trees fit and export in a tenth of
    # the time, and the model quality figures live in docs/model-quality.md.
    "CADML_TRAIN_RANDOM_FOREST_TREES": "20",
    "CADML_TRAIN_EXTRA_TREES_TREES": "20",
}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests() -> None:
    for name, value in SUITE_ENV.items():
        os.environ.setdefault(name, value)
