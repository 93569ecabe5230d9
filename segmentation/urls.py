from django.urls import path

from . import views

app_name = "segmentation"

urlpatterns = [
    path("", views.ExplorerView.as_view(), name="explorer"),
    path("customers/", views.SegmentCustomersView.as_view(), name="customers"),
    path("customers/csv/", views.SegmentExportView.as_view(extension="csv"), name="customers-csv"),
    path("customers/xlsx/", views.SegmentExportView.as_view(extension="xlsx"), name="customers-xlsx"),
    path("runs/", views.RunListView.as_view(), name="runs"),
    path("runs/now/", views.RunNowView.as_view(), name="run-now"),
    path("runs/<int:pk>/movement/", views.MovementView.as_view(), name="movement"),
    path("rules/", views.RulesView.as_view(), name="rules"),
]
