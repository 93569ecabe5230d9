"""REST routes of the dealership's administration, under /api/v1/staff/."""

from rest_framework.routers import DefaultRouter

from .api import AccessLogViewSet, StaffViewSet, TokenViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("users", StaffViewSet, basename="api-staff-user")
router.register("tokens", TokenViewSet, basename="api-staff-token")
router.register("access-log", AccessLogViewSet, basename="api-staff-access-log")

urlpatterns = router.urls
