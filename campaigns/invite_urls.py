"""The invitee's page, reached by the personal link of an invitation by message (``campaigns.invites``)."""

from django.urls import path

from . import invite_views

app_name = "invites"
urlpatterns = [
    path("<str:invite_token>/", invite_views.InvitePageView.as_view(), name="page"),
]
