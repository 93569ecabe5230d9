"""Settings of the gunicorn that ``bench/bench_workbench.py`` and ``bench/bench_api_list.py`` start: the
production settings as they are (DEBUG off, persistent database connections, whitenoise with the compressed
manifest), except that the static files are collected into the benchmark's own temporary folder
(``BENCH_STATIC_ROOT``), never into the project's ``staticfiles/``, and that a benchmark may name its own
URLconf (``BENCH_ROOT_URLCONF``, e.g. ``bench._urls``: the project's URLs plus a yardstick view)."""

from dealercrm.settings.production import *  # noqa: F403
from dealercrm.settings.production import ROOT_URLCONF, env

STATIC_ROOT = env("BENCH_STATIC_ROOT")
ROOT_URLCONF = env("BENCH_ROOT_URLCONF", default=ROOT_URLCONF)

# The benchmark databases are seeded and migrated with the development keys (dealercrm/settings/local.py)
# unless the environment names others.
if not env.list("PHONE_ENCRYPTION_KEYS", default=[]):
    from dealercrm.settings.local import PHONE_ENCRYPTION_KEYS, PHONE_HASH_KEY  # noqa: F401
