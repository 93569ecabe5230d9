"""Placeholder: filled by its helper."""

urlpatterns = []
