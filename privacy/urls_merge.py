"""Possible duplicates and their merge (privacy.merge)."""

urlpatterns = []
