"""Pages of campaigns for managers (under /campaigns/)."""

from django.urls import path

from . import past_views, views

app_name = "campaigns"

urlpatterns = [
    path("", views.CampaignListView.as_view(), name="list"),
    path("new/", views.CampaignCreateView.as_view(), name="create"),
    path("past/new/", past_views.PastCampaignCreateView.as_view(), name="past-create"),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CampaignUpdateView.as_view(), name="edit"),
    path("<int:pk>/status/", views.CampaignStatusView.as_view(), name="status"),
    path("<int:pk>/generate/", views.InvitationListGenerateView.as_view(), name="generate"),
    path("<int:pk>/progress/", views.ProgressView.as_view(), name="progress"),
    path("<int:pk>/progress/reassign/", views.ReassignView.as_view(), name="reassign"),
    path("<int:pk>/progress/assign/", views.AssignView.as_view(), name="assign"),
    path("<int:pk>/groups/new/", views.TargetGroupCreateView.as_view(), name="group-create"),
    path("groups/<int:pk>/edit/", views.TargetGroupUpdateView.as_view(), name="group-edit"),
    path("groups/<int:pk>/delete/", views.TargetGroupDeleteView.as_view(), name="group-delete"),
    path("groups/<int:pk>/coupons/", views.IssueCouponsView.as_view(), name="group-issue-coupons"),
    path("coupon-templates/", views.CouponTemplateListView.as_view(), name="coupon-templates"),
    path("coupon-templates/new/", views.CouponTemplateCreateView.as_view(), name="coupon-template-create"),
    path("coupon-templates/<int:pk>/edit/", views.CouponTemplateUpdateView.as_view(), name="coupon-template-edit"),
    path("compliance/", views.ComplianceView.as_view(), name="compliance"),
    path("compliance/<int:pk>/remove/", views.ComplianceTermRemoveView.as_view(), name="compliance-remove"),
]
