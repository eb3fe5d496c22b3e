from cadml import checks  # noqa: F401 - registers the project-wide deploy checks
from cadml.celery import app as celery_app

__all__ = ["celery_app"]
