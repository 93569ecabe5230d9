import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.production")

application = get_wsgi_application()

# A key that cannot decrypt the stored phone numbers stops the server here, naming PHONE_ENCRYPTION_KEYS.
from dealercrm.core.crypto import verify_stored_keys  # noqa: E402

verify_stored_keys()
