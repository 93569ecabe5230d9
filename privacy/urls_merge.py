"""Possible duplicates and their merge (privacy.merge)."""

from django.urls import path

from . import views_merge

urlpatterns = [
    path("", views_merge.DuplicateListView.as_view(), name="duplicates"),
    path("merge/", views_merge.MergeView.as_view(), name="merge"),
]
