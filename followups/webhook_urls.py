"""webhook_urls: filled in by issue 11."""

urlpatterns = []
