"""Routes of the campaigns API, under /api/v1/campaigns/."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()

urlpatterns = [*router.urls]
