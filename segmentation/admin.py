from django.contrib import admin

from .models import CustomerSegment, RuleSet, SegmentationRun, Tag, VehicleForecast


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by segmentation runs only: shown, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleSet)
class RuleSetAdmin(ReadOnlyAdmin):
    """New versions are made on the rules page or through the API, which validate them; none is edited."""

    list_display = ["dealership", "version", "note", "created_by", "created_at"]
    list_filter = ["dealership"]
    list_select_related = ["dealership", "created_by"]


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "dealership",
        "reference_date",
        "status",
        "trigger",
        "customers",
        "changed_customers",
        "duration_ms",
    ]
    list_filter = ["dealership", "status", "trigger"]
    list_select_related = ["dealership"]
    date_hierarchy = "reference_date"


@admin.register(CustomerSegment)
class CustomerSegmentAdmin(ReadOnlyAdmin):
    list_display = ["customer", "c3_group", "tier", "value_layer", "lapsed", "valid_from", "valid_to"]
    list_filter = ["dealership", "c3_group", "tier", "value_layer", "lapsed"]
    search_fields = ["customer__customer_no", "customer__name"]
    list_select_related = ["customer"]


@admin.register(VehicleForecast)
class VehicleForecastAdmin(ReadOnlyAdmin):
    list_display = ["vehicle", "age_band", "last_maintenance_on", "next_due_on", "due_basis", "valid_from"]
    list_filter = ["dealership", "age_band", "due_basis"]
    search_fields = ["vehicle__plate", "vehicle__vin"]
    list_select_related = ["vehicle"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "dealership"]
    list_filter = ["dealership", "kind"]
    search_fields = ["code", "name"]
