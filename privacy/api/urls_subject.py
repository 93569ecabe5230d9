"""API of data-subject requests and the retention review."""

urlpatterns = []
