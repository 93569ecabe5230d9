"""The follow-up pages under /followups/ (namespace "followups"): the agent's, the manager's overview, touches,
message templates and the store's settings."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("mine/", views.MyFollowupsView.as_view(), name="mine"),
    path("touches/", views.TouchListView.as_view(), name="touch-list"),
    path("touches/<int:pk>/", views.TouchDetailView.as_view(), name="touch-detail"),
    path("touches/<int:pk>/cancel/", views.TouchCancelView.as_view(), name="touch-cancel"),
    path("templates/", views.TemplateListView.as_view(), name="templates"),
    path("templates/new/", views.TemplateCreateView.as_view(), name="template-create"),
    path("templates/preview/", views.TemplatePreviewView.as_view(), name="template-preview"),
    path("templates/<int:pk>/", views.TemplateUpdateView.as_view(), name="template-edit"),
    path("templates/<int:pk>/delete/", views.TemplateDeleteView.as_view(), name="template-delete"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
]
