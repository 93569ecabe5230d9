from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import CallAttempt, Campaign, ComplianceTerm, Coupon, CouponTemplate, Invitation, TargetGroup


class TargetGroupInline(admin.TabularInline):
    model = TargetGroup
    extra = 0
    fields = ["position", "name", "filters", "goal_rate", "ab_test", "holdout_share"]


@admin.register(Campaign)
class CampaignAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "dealership", "kind", "status", "starts_on", "ends_on"]
    list_filter = ["dealership", "status", "kind"]
    search_fields = ["code", "name"]
    list_select_related = ["dealership"]
    inlines = [TargetGroupInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """The list is written by generation and calls; shown here, not edited."""

    list_display = ["campaign", "customer", "target_group", "agent", "variant", "holdout", "status", "attempts"]
    list_filter = ["campaign__dealership", "status", "holdout", "variant"]
    list_select_related = ["campaign", "customer", "target_group", "agent"]
    raw_id_fields = ["customer", "vehicle", "appointment", "agent"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CallAttempt)
class CallAttemptAdmin(admin.ModelAdmin):
    list_display = ["invitation", "agent", "outcome", "called_at"]
    list_filter = ["outcome"]
    list_select_related = ["invitation", "agent"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CouponTemplate)
class CouponTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["name", "dealership", "kind", "value", "min_spend", "valid_days", "active"]
    list_filter = ["dealership", "kind", "active"]


@admin.register(Coupon)
class CouponAdmin(SimpleHistoryAdmin):
    """Coupons change through the counter and the API (which check redemption rules), not here."""

    list_display = ["code", "template", "customer", "status", "expires_on", "redeemed_at"]
    list_filter = ["dealership", "status"]
    search_fields = ["code"]
    list_select_related = ["template", "customer"]
    raw_id_fields = ["customer", "invitation", "issued_visit", "redeemed_visit", "redeemed_by", "campaign"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ComplianceTerm)
class ComplianceTermAdmin(admin.ModelAdmin):
    list_display = ["phrase", "kind", "dealership"]
    list_filter = ["dealership", "kind"]
