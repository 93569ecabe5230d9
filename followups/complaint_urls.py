"""Complaint pages, under /followups/complaints/ (namespace "followups")."""

from django.urls import path

from . import complaint_views as views

urlpatterns = [
    path("complaints/", views.ComplaintListView.as_view(), name="complaints"),
    path("complaints/<int:pk>/", views.ComplaintDetailView.as_view(), name="complaint"),
    path("complaints/<int:pk>/acknowledge/", views.ComplaintAcknowledgeView.as_view(), name="complaint-acknowledge"),
    path("complaints/<int:pk>/resolve/", views.ComplaintResolveView.as_view(), name="complaint-resolve"),
    path("complaints/<int:pk>/close/", views.ComplaintCloseView.as_view(), name="complaint-close"),
    # from the customer 360 page: a customer's id after "customers/"
    path("complaints/customers/<int:pk>/new/", views.ComplaintOpenView.as_view(), name="complaint-open"),
]
