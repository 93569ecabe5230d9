from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from dealercrm.core.privacy import mask_phone

from .models import (
    Appointment,
    ConsentEvent,
    Customer,
    ImportRun,
    MileageReading,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    readonly_fields = ["granted", "occurred_at", "channel", "recorded_by", "note", "created_at"]
    can_delete = False


class VehicleInline(admin.TabularInline):
    model = Vehicle
    fk_name = "owner"
    extra = 0
    fields = ["vin", "plate", "brand", "model", "model_year", "purchase_date"]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    # The phone is masked here too (PIPL: least access), in the list and on the form; the admin does not search
    # by it (the column is encrypted: customers.phones) and does not change it (the counter's form does).
    list_display = ["customer_no", "name", "masked_phone", "dealership", "marketing_consent", "do_not_contact"]
    list_filter = ["dealership", "marketing_consent", "do_not_contact", "flag_possible_duplicate", "member_tier"]
    search_fields = ["customer_no", "name", "vehicles__plate", "vehicles__vin"]
    list_select_related = ["dealership"]
    exclude = ["phone"]
    readonly_fields = ["masked_phone"]
    inlines = [VehicleInline, ConsentEventInline]

    @admin.display(description=_("phone"))
    def masked_phone(self, customer) -> str:
        return mask_phone(customer.phone)


class OwnershipInline(admin.TabularInline):
    model = VehicleOwnership
    extra = 0
    autocomplete_fields = ["customer"]


class MileageInline(admin.TabularInline):
    model = MileageReading
    extra = 0


@admin.register(Vehicle)
class VehicleAdmin(SimpleHistoryAdmin):
    list_display = ["plate", "vin", "brand", "model", "model_year", "owner", "dealership"]
    list_filter = ["dealership", "brand", "fuel_type"]
    search_fields = ["plate", "vin", "model", "owner__name"]
    list_select_related = ["owner", "dealership"]
    autocomplete_fields = ["owner"]
    inlines = [OwnershipInline, MileageInline]


@admin.register(ServiceVisit)
class ServiceVisitAdmin(SimpleHistoryAdmin):
    list_display = ["ro_number", "opened_on", "visit_type", "total_amount", "payer", "vehicle", "customer"]
    list_filter = ["dealership", "visit_type", "payer"]
    search_fields = ["ro_number", "vehicle__plate", "vehicle__vin", "customer__name"]
    list_select_related = ["vehicle", "customer"]
    autocomplete_fields = ["vehicle", "customer"]
    date_hierarchy = "opened_on"


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["date", "time_slot", "customer", "vehicle", "source", "status", "dealership"]
    list_filter = ["dealership", "status", "source"]
    search_fields = ["customer__name", "vehicle__plate"]
    autocomplete_fields = ["customer", "vehicle"]


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "dealership", "started_by", "source", "status", "duration_ms"]
    list_filter = ["dealership", "status", "source"]
    readonly_fields = [f.name for f in ImportRun._meta.fields]
