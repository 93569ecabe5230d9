"""Data-subject requests and the retention review (privacy.subject, privacy.retention)."""

urlpatterns = []
