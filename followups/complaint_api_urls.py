"""Routes of the complaints and surveys API, under /api/v1/followups/."""

from rest_framework.routers import SimpleRouter

from . import complaint_api

router = SimpleRouter()
router.register("complaints", complaint_api.ComplaintViewSet, basename="api-followups-complaint")
router.register("surveys", complaint_api.SurveyViewSet, basename="api-followups-survey")

urlpatterns = [*router.urls]
