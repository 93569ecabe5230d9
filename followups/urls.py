"""The follow-up pages: the agent's and manager's pages, touches, complaints, templates and settings."""

from . import complaint_urls, pages_urls

app_name = "followups"
urlpatterns = [*pages_urls.urlpatterns, *complaint_urls.urlpatterns]
