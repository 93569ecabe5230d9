"""Routes of the segmentation API, under /api/v1/segmentation/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import views

router = SimpleRouter()
router.register("rules", views.RuleSetViewSet, basename="api-segmentation-rule")
router.register("runs", views.RunViewSet, basename="api-segmentation-run")
router.register("customers", views.SegmentCustomerViewSet, basename="api-segmentation-customer")

urlpatterns = [
    *router.urls,
    path("quarterly-review/", views.QuarterlyReviewView.as_view(), name="api-segmentation-quarterly-review"),
]
