"""Test settings: fast hashing, eager Celery unless a test runs a real worker."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-key-4a7d1e0c9b8f2a6d5c3e1f0a9b8c7d6e"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LANGUAGE_CODE = "en"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Counters must not carry over between tests: throttling and the like use local memory.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Files the tests store (imports, report exports, weekly packs) go to a folder of this run, never to media/.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="dealercrm-test-media-"))
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
# Serve static files straight from the app folders: no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Login throttling is off in tests (the test client's login() has no request for django-axes to count);
# the lockout tests switch it on for themselves.
AXES_ENABLED = False

# Fixed keys of the encrypted phone numbers (tests of rotation and of a wrong key change them for themselves).
PHONE_ENCRYPTION_KEYS = ["SISh6VO8dZvEvwPQVb51xGkQ76Mw3ZhnCWqcHP9flFw="]
PHONE_HASH_KEY = "test-only-phone-hash-key-8d1e6b0a4c2f9e7d5b3a1c0e"
