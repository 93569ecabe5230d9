from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import AccessEvent, Dealership, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["dealership"]


@admin.register(Dealership)
class DealershipAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city", "plate_prefix", "time_zone", "is_active"]
    search_fields = ["code", "name", "city"]
    list_filter = ["is_active"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "display_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "memberships__dealership"]
    search_fields = ["username", "display_name", "first_name", "last_name", "email"]
    fieldsets = (*BaseUserAdmin.fieldsets, (_("DealerCRM"), {"fields": ("role", "display_name")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, (_("DealerCRM"), {"fields": ("role", "display_name")}))


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The access log, for reading: nobody adds, changes or deletes an event here (nor anywhere in the app)."""

    list_display = ["occurred_at", "kind", "username", "dealership", "customer_id", "customers", "what", "ip"]
    list_filter = ["kind", "dealership"]
    search_fields = ["username", "what"]
    date_hierarchy = "occurred_at"
    list_select_related = ["dealership"]
    readonly_fields = [
        "occurred_at",
        "kind",
        "user",
        "username",
        "dealership",
        "customer_id",
        "what",
        "customers",
        "ip",
        "details",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.site_header = _("DealerCRM administration")
admin.site.site_title = _("DealerCRM")
admin.site.index_title = _("Records, staff and settings")
