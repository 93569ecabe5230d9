"""REST API v1 of customers, vehicles, service visits and appointments (routes in ``customers.api_urls``)."""

from .views import AppointmentViewSet, CustomerViewSet, VehicleViewSet, VisitViewSet

__all__ = ["AppointmentViewSet", "CustomerViewSet", "VehicleViewSet", "VisitViewSet"]
