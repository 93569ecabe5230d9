"""The follow-ups API: touches, surveys, complaints, message templates, and the providers' webhooks."""

from . import complaint_api_urls, touch_api_urls, webhook_urls

urlpatterns = [*touch_api_urls.urlpatterns, *complaint_api_urls.urlpatterns, *webhook_urls.urlpatterns]
