"""Settings of the gunicorn that ``bench/bench_workbench.py`` starts: the production settings as they are
(DEBUG off, persistent database connections, whitenoise with the compressed manifest), except that the
static files are collected into the benchmark's own temporary folder (``BENCH_STATIC_ROOT``), never into
the project's ``staticfiles/``."""

from dealercrm.settings.production import *  # noqa: F403
from dealercrm.settings.production import env

STATIC_ROOT = env("BENCH_STATIC_ROOT")
