"""API of possible duplicates and their merge."""

urlpatterns = []
