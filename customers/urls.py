from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.CounterView.as_view(), name="counter"),
]
