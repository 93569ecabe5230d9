from django.urls import path

from . import import_views, reveal_views, views

app_name = "customers"

urlpatterns = [
    path("", views.CounterView.as_view(), name="counter"),
    path("search/", views.CounterSearchView.as_view(), name="counter-search"),
    path("appointments/<int:pk>/status/", views.AppointmentStatusView.as_view(), name="appointment-status"),
    path("new/", views.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", views.Customer360View.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerUpdateView.as_view(), name="edit"),
    path("<int:pk>/phone/", reveal_views.PhoneRevealView.as_view(), name="phone-reveal"),
    path("<int:pk>/consent/", views.ConsentCreateView.as_view(), name="consent"),
    path("<int:pk>/consent/export/", views.ConsentExportView.as_view(), name="consent-export"),
    path("<int:pk>/vehicles/new/", views.VehicleCreateView.as_view(), name="vehicle-create"),
    path("<int:pk>/visits/new/", views.VisitCreateView.as_view(), name="visit-create"),
    path("vehicles/<int:pk>/edit/", views.VehicleUpdateView.as_view(), name="vehicle-edit"),
    path("import/", import_views.DmsImportView.as_view(), name="import"),
]
