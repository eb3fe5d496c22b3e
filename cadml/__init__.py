import os

# `.env.example` shows PROMETHEUS_MULTIPROC_DIR empty, and an empty setting means
# unset everywhere else; prometheus_client would take it for multiprocess mode
# and write its files into the working directory. Before it is first imported.
for _name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
    if os.environ.get(_name) == "":
        del os.environ[_name]

from cadml import checks  # noqa: E402, F401 - registers the project-wide deploy checks
from cadml.celery import app as celery_app  # noqa: E402 - after the fix above

__all__ = ["celery_app"]
