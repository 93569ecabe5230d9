"""Routes of the touches, message templates and follow-up settings API, under /api/v1/followups/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import views

router = SimpleRouter()
router.register("touches", views.TouchViewSet, basename="api-followups-touch")
router.register("message-templates", views.MessageTemplateViewSet, basename="api-followups-message-template")

urlpatterns = [
    *router.urls,
    path("settings/", views.FollowupSettingsView.as_view(), name="api-followups-settings"),
]
