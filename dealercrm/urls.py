from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from dealercrm.core.docs import DocsView, SchemaView
from dealercrm.core.views import SwitchDealershipView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:counter", permanent=False), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("dealership/switch/", SwitchDealershipView.as_view(), name="switch-dealership"),
    path("customers/", include("customers.urls")),
    path("segments/", include("segmentation.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("calls/", include("campaigns.workbench_urls")),
    path("followups/", include("followups.urls")),
    path("reports/", include("reports.urls")),
    path("privacy/", include("privacy.urls")),
    # Public links sent to customers (signed, single-use, expiring): surveys and invitations by message.
    path("s/", include("followups.survey_urls")),
    path("i/", include("campaigns.invite_urls")),
    path("staff/", include("dealercrm.core.staff.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("dealercrm.api_urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
]

# Under /api/ Django's own 400/403/404 answer the API's error contract (JSON); pages keep Django's.
handler400 = "dealercrm.core.api.bad_request"
handler403 = "dealercrm.core.api.permission_denied"
handler404 = "dealercrm.core.api.page_not_found"
