"""Routes of the campaigns API, under /api/v1/campaigns/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import views
from .api.past import PastCampaignApiView

router = SimpleRouter()
router.register("campaigns", views.CampaignViewSet, basename="api-campaign")
router.register("target-groups", views.TargetGroupViewSet, basename="api-campaign-target-group")
router.register("invitations", views.InvitationViewSet, basename="api-campaign-invitation")
router.register("coupon-templates", views.CouponTemplateViewSet, basename="api-campaign-coupon-template")
router.register("coupons", views.CouponViewSet, basename="api-campaign-coupon")
router.register("compliance-terms", views.ComplianceTermViewSet, basename="api-campaign-compliance-term")

urlpatterns = [
    # before the router's campaigns/<pk>/, which would take "past" for an id
    path("campaigns/past/", PastCampaignApiView.as_view(), name="api-campaign-past"),
    *router.urls,
]
