"""API of possible duplicates and their merge."""

from django.urls import path

from . import merge

urlpatterns = [
    path("", merge.DuplicateListView.as_view(), name="api-privacy-duplicates"),
    path("merge/", merge.MergeView.as_view(), name="api-privacy-merge"),
]
