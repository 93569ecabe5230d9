"""Development and demo: debug on, a fixed key, SQLite unless DATABASE_URL says otherwise."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-6f1c1d9a8e2b4c7d")
# Serve static files straight from the app folders: no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# E-mails (the weekly report pack, escalations) are written as files to media/outbox/ unless EMAIL_BACKEND says
# otherwise: the demo sends nothing out.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "media" / "outbox"))

# Development keys of the encrypted phone numbers: fixed so that the demo database stays readable; never use
# them for real data (production settings require PHONE_ENCRYPTION_KEYS and PHONE_HASH_KEY).
PHONE_ENCRYPTION_KEYS = env.list("PHONE_ENCRYPTION_KEYS", default=["S89n0svrc2p3pJpZgtxFubzLlVnWkJGBfkwuWLuWlj4="])
PHONE_HASH_KEY = env("PHONE_HASH_KEY", default="dev-only-phone-hash-key-3f9a1c7e5b2d4068a1c3e5f7")
