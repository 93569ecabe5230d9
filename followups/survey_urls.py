"""The customers' survey links, under /s/ (namespace "surveys"): public, the signed token is the key."""

from django.urls import path

from . import survey_views as views

app_name = "surveys"

urlpatterns = [
    path("thanks/", views.SurveyThanksView.as_view(), name="thanks"),
    path("<str:survey_token>/", views.SurveyAnswerView.as_view(), name="answer"),
]
