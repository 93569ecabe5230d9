"""The dealership administrator's pages, under /staff/."""

from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.UserListView.as_view(), name="users"),
    path("users/new/", views.UserCreateView.as_view(), name="user-create"),
    path("users/<int:pk>/", views.UserEditView.as_view(), name="user-edit"),
    path("users/<int:pk>/password/", views.UserPasswordView.as_view(), name="user-password"),
    path("users/<int:pk>/deactivate/", views.UserActiveView.as_view(active=False), name="user-deactivate"),
    path("users/<int:pk>/reactivate/", views.UserActiveView.as_view(active=True), name="user-reactivate"),
    path("tokens/", views.TokenListView.as_view(), name="tokens"),
    path("tokens/new/", views.TokenCreateView.as_view(), name="token-create"),
    path("tokens/<str:token_key>/revoke/", views.TokenRevokeView.as_view(), name="token-revoke"),
    path("dealership/", views.DealershipSettingsView.as_view(), name="dealership"),
    path("audit/", views.AuditView.as_view(), name="audit"),
    path("access-log/", views.AccessLogView.as_view(), name="access-log"),
    path("access-log/export/", views.AccessLogExportView.as_view(), name="access-log-export"),
]
