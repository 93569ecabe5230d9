"""Data-subject requests and the retention review (privacy.subject, privacy.retention)."""

from django.urls import path

from . import views_subject as views

urlpatterns = [
    path("customers/<int:pk>/export/", views.CustomerExportView.as_view(), name="subject-export"),
    path("customers/<int:pk>/erase/", views.CustomerEraseView.as_view(), name="subject-erase"),
    path("retention/", views.RetentionView.as_view(), name="retention"),
]
