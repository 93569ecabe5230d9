"""The call-centre agent's workbench and the counter's coupon desk (under /calls/).

``calls:next``, ``calls:outcome``, ``calls:followup-outcome`` and ``calls:counts`` are a contract (a benchmark
calls them): see ``campaigns.workbench``.
"""

from django.urls import path

from . import workbench, workbench_consent, workbench_reveal

app_name = "calls"

urlpatterns = [
    path("", workbench.WorkbenchView.as_view(), name="workbench"),
    path("next/", workbench.NextCustomerView.as_view(), name="next"),
    path("counts/", workbench.CountsView.as_view(), name="counts"),
    path("<int:pk>/outcome/", workbench.OutcomeView.as_view(), name="outcome"),
    path("touches/<int:pk>/outcome/", workbench.FollowupOutcomeView.as_view(), name="followup-outcome"),
    path("<int:pk>/consent/", workbench_consent.InvitationConsentView.as_view(), name="consent"),
    path("touches/<int:pk>/consent/", workbench_consent.FollowupConsentView.as_view(), name="followup-consent"),
    path("<int:pk>/phone/", workbench_reveal.InvitationPhoneView.as_view(), name="phone"),
    path("touches/<int:pk>/phone/", workbench_reveal.FollowupPhoneView.as_view(), name="followup-phone"),
    path("coupons/redeem/", workbench.CouponRedeemView.as_view(), name="coupon-redeem"),
    path("coupons/<int:pk>/void/", workbench.CouponVoidView.as_view(), name="coupon-void"),
]
