from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Dealership, Membership, User


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


admin.site.site_header = _("DealerCRM administration")
admin.site.site_title = _("DealerCRM")
admin.site.index_title = _("Records, staff and settings")
