"""API of data-subject requests and the retention review."""

from django.urls import path

from . import subject

urlpatterns = [
    path("customers/<int:id>/export/", subject.CustomerExportView.as_view(), name="api-privacy-customer-export"),
    path("customers/<int:id>/erase/", subject.CustomerEraseView.as_view(), name="api-privacy-customer-erase"),
    path("retention/", subject.RetentionListView.as_view(), name="api-privacy-retention"),
    path("retention/anonymise/", subject.RetentionAnonymiseView.as_view(), name="api-privacy-retention-anonymise"),
]
