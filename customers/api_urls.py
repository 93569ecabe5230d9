from django.urls import path
from rest_framework.routers import DefaultRouter

from dealercrm.core.docs import ApiRootView

from . import api, import_api
from .api.consent_history import ConsentHistoryApiView

router = DefaultRouter()
router.APIRootView = ApiRootView  # the index, like every endpoint, declares its role-table action
router.register("customers", api.CustomerViewSet, basename="api-customer")
router.register("vehicles", api.VehicleViewSet, basename="api-vehicle")
router.register("visits", api.VisitViewSet, basename="api-visit")
router.register("appointments", api.AppointmentViewSet, basename="api-appointment")

urlpatterns = router.urls
urlpatterns += [
    path("import/", import_api.DmsImportApiView.as_view(), name="api-import"),
    path("imports/<int:pk>/", import_api.ImportRunApiView.as_view(), name="api-import-status"),
    path("customers/<int:id>/consent-history/", ConsentHistoryApiView.as_view(), name="api-customer-consent-history"),
]
