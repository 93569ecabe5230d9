"""Thin viewsets of the campaigns API: reads through ``campaigns.selectors`` (scoped to ``self.dealership``),
writes through ``campaigns.services``; a service's refusal answers 400 with its message.

Who may do what is the role table of SPEC "Who uses it": every role reads campaigns, target groups, coupon
templates and coupons (``campaign.view``); after-sales managers and administrators write them
(``campaign.manage``); call-centre managers (and managers above them) generate and assign the invitation
lists (``calllist.manage``); agents and call-centre managers work calls (``calls.work``); advisors and
managers redeem coupons (``coupon.redeem``). A record of another dealership answers 404.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from customers.reveal import phone_reveal
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.roles import Role, can
from dealercrm.core.viewsets import FORBIDDEN, NOT_FOUND, ScopedViewSet

from .. import compliance, selectors, services
from ..models import Campaign, ComplianceTerm, Coupon, CouponTemplate, Invitation, TargetGroup
from . import filters, serializers

VIEW = "campaign.view"
MANAGE = "campaign.manage"
CALL_LISTS = "calllist.manage"
CALLS = "calls.work"
REDEEM = "coupon.redeem"

REFUSED = OpenApiResponse(description=_("Refused: “fields” names the field, or “message” says why."))
DELETED = OpenApiResponse(description=_("Deleted."))
#: no filter parameters, no paging: an action answering one object
SINGLE = {"filter_backends": [], "pagination_class": None}


def _campaign_action(summary, responses, request=None, description=None):
    """The schema of an action on one campaign: its answer, a refusal, the role table, another store."""
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={**responses, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )


# --- campaigns --------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary=_("Campaigns of the dealership, newest first")),
    retrieve=extend_schema(summary=_("A campaign"), responses={200: serializers.CampaignSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary=_("Add a campaign (a draft)"),
        responses={201: serializers.CampaignSerializer, 400: REFUSED, 403: FORBIDDEN},
    ),
    partial_update=extend_schema(
        summary=_("Change some of a campaign's details"),
        description=_(
            "A draft or scheduled campaign changes in full; a running one only its name, copy, last day, budget, "
            "cost and attempt cap; a finished one only its cost."
        ),
        responses={200: serializers.CampaignSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet):
    model = Campaign
    selector = staticmethod(selectors.campaigns)
    serializer_class = serializers.CampaignSerializer
    filterset_class = filters.CampaignFilter
    search_fields = ["code", "name"]
    action_permissions = {
        "list": VIEW,
        "retrieve": VIEW,
        "create": MANAGE,
        "partial_update": MANAGE,
        "schedule": MANAGE,
        "start": MANAGE,
        "finish": MANAGE,
        "preview": VIEW,
        "compliance": VIEW,
        "results": "reports.view",  # an agent gets their own figures; managers all
        "generate": CALL_LISTS,
        "assign": CALL_LISTS,
        "reassign": CALL_LISTS,
        "progress": CALL_LISTS,
    }

    def get_queryset(self):
        return super().get_queryset().prefetch_related("target_groups")

    def perform_create(self, serializer):
        serializer.instance = services.campaign_create(
            dealership=self.dealership, acting_user=self.request.user, **serializer.validated_data
        )

    def partial_update(self, request, pk=None):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_update(
            campaign=serializer.instance, changes=dict(serializer.validated_data), acting_user=request.user
        )
        return Response(self.get_serializer(campaign).data)

    @_campaign_action(
        _("Schedule a draft campaign"),
        {200: serializers.CampaignSerializer},
        description=_(
            "It needs a target group, a last day not yet past, and texts free of banned absolute expressions "
            "(a refusal lists the findings)."
        ),
    )
    @action(detail=True, methods=["post"], **SINGLE)
    def schedule(self, request, pk=None):
        campaign = services.campaign_schedule(campaign=self.get_object(), acting_user=request.user)
        return Response(self.get_serializer(campaign).data)

    @_campaign_action(
        _("Start a scheduled campaign"),
        {200: serializers.CampaignSerializer},
        description=_("Only on a day of its period (the daily job starts it on its first day anyway)."),
    )
    @action(detail=True, methods=["post"], **SINGLE)
    def start(self, request, pk=None):
        campaign = services.campaign_start(campaign=self.get_object(), acting_user=request.user)
        return Response(self.get_serializer(campaign).data)

    @_campaign_action(
        _("Finish a scheduled or running campaign"),
        {200: serializers.CampaignSerializer},
        description=_("No call is recorded on a finished campaign; its results stay."),
    )
    @action(detail=True, methods=["post"], **SINGLE)
    def finish(self, request, pk=None):
        campaign = services.campaign_finish(campaign=self.get_object(), acting_user=request.user)
        return Response(self.get_serializer(campaign).data)

    @_campaign_action(
        _("Preview: how many customers each target group matches and generation would add"),
        {200: serializers.PreviewSerializer},
    )
    @action(detail=True, methods=["get"], serializer_class=serializers.PreviewSerializer, **SINGLE)
    def preview(self, request, pk=None):
        campaign = self.get_object()
        body = {
            "groups": selectors.preview(campaign=campaign),
            "customers": selectors.ineligible_counts(dealership=self.dealership),
        }
        return Response(self.get_serializer(body).data)

    @_campaign_action(
        _("The Advertising Law check of the campaign's texts"),
        {200: serializers.ComplianceSerializer},
        description=_("Banned absolute expressions in the copy, the scripts and the offers of the target groups."),
    )
    @action(detail=True, methods=["get"], serializer_class=serializers.ComplianceSerializer, **SINGLE)
    def compliance(self, request, pk=None):
        findings = compliance.campaign_findings(self.get_object())
        rows = [{"phrase": f.phrase, "where": f.where, "excerpt": f.excerpt, "message": f.message()} for f in findings]
        return Response(self.get_serializer({"compliant": not findings, "findings": rows}).data)

    @_campaign_action(
        _("Generate the invitation list and share it among agents"),
        {200: serializers.GenerateResultSerializer},
        request=serializers.GenerateSerializer,
        description=_(
            "Freezes who is invited: every eligible customer a target group matches who is not on the list yet, "
            "in the first group that matches. Generating again adds only customers who match now and did not "
            "before. The campaign must be scheduled or running."
        ),
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.GenerateResultSerializer, **SINGLE)
    def generate(self, request, pk=None):
        campaign = self.get_object()
        form = serializers.GenerateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = services.invitation_list_generate(
            campaign=campaign, agents=form.validated_data.get("agents"), acting_user=request.user
        )
        result["per_group"] = [{"target_group": pk, "added": n} for pk, n in result["per_group"].items()]
        return Response(self.get_serializer(result).data)

    @_campaign_action(
        _("Give the unassigned open invitations to agents"),
        {200: serializers.AssignResultSerializer},
        request=serializers.AssignSerializer,
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.AssignResultSerializer, **SINGLE)
    def assign(self, request, pk=None):
        campaign = self.get_object()
        form = serializers.AssignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        assigned = services.invitations_assign(
            campaign=campaign, agents=form.validated_data["agents"], acting_user=request.user
        )
        return Response(self.get_serializer({"assigned": assigned}).data)

    @_campaign_action(
        _("Move an agent's open invitations to other agents"),
        {200: serializers.AssignResultSerializer},
        request=serializers.ReassignSerializer,
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.AssignResultSerializer, **SINGLE)
    def reassign(self, request, pk=None):
        campaign = self.get_object()
        form = serializers.ReassignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        moved = services.invitations_reassign(
            campaign=campaign,
            from_agent=form.validated_data["from_agent"],
            agents=form.validated_data["agents"],
            acting_user=request.user,
        )
        return Response(self.get_serializer({"assigned": moved}).data)

    @_campaign_action(_("Progress of the calls, per agent and per target group"), {200: serializers.ProgressSerializer})
    @action(detail=True, methods=["get"], serializer_class=serializers.ProgressSerializer, **SINGLE)
    def progress(self, request, pk=None):
        campaign = self.get_object()
        body = {
            "agent_progress": selectors.agent_progress(campaign=campaign),
            "group_summary": selectors.group_summary(campaign=campaign),
        }
        return Response(self.get_serializer(body).data)

    @_campaign_action(
        _("Results: attendance and revenue per group, non-target participants, A/B variants and holdouts"),
        {200: serializers.ResultsSerializer},
        description=_(
            # xgettext:no-python-format
            "Computed from the records: an invitee attended with a visit in the campaign's period, before or "
            "after the call. Variants are compared two-sided at α = 0.05 (Fisher's exact test for small counts); "
            "the uplift of calling over the holdout comes with its 95 % confidence interval."
        ),
    )
    @action(detail=True, methods=["get"], serializer_class=serializers.ResultsSerializer, **SINGLE)
    def results(self, request, pk=None):
        campaign = self.get_object()
        own = None if can(request.user, "reports.all") else request.user
        summary = selectors.group_summary(campaign=campaign, agent=own)
        body = {
            "group_summary": summary,
            "non_target_participants": None if own else selectors.non_target_participants(campaign=campaign),
            "variant_results": selectors.variant_results(campaign=campaign, agent=own),
            "holdouts": selectors.holdout_results(summary=summary),
        }
        return Response(self.get_serializer(body).data)


# --- target groups ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary=_("Target groups of the dealership's campaigns")),
    retrieve=extend_schema(
        summary=_("A target group"), responses={200: serializers.TargetGroupSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary=_("Add a target group to a draft campaign"),
        responses={201: serializers.TargetGroupSerializer, 400: REFUSED, 403: FORBIDDEN},
    ),
    update=extend_schema(
        summary=_("Replace a target group (draft campaigns only)"),
        responses={200: serializers.TargetGroupSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary=_("Change some of a target group (draft campaigns only)"),
        responses={200: serializers.TargetGroupSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary=_("Delete a target group (draft campaigns only)"),
        responses={204: DELETED, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class TargetGroupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    model = TargetGroup
    selector = staticmethod(selectors.target_groups)
    serializer_class = serializers.TargetGroupSerializer
    filterset_class = filters.TargetGroupFilter
    search_fields = ["name", "campaign__code"]
    action_permissions = {
        "list": VIEW,
        "retrieve": VIEW,
        "create": MANAGE,
        "update": MANAGE,
        "partial_update": MANAGE,
        "destroy": MANAGE,
    }

    @staticmethod
    def _split(data):
        data = dict(data)
        data.pop("campaign", None)
        return data, data.pop("offers", None), data.pop("offers_b", None)

    def perform_create(self, serializer):
        campaign = serializer.validated_data["campaign"]
        fields, offers, offers_b = self._split(serializer.validated_data)
        group = services.target_group_create(
            campaign=campaign, offers=offers, offers_b=offers_b, acting_user=self.request.user, **fields
        )
        serializer.instance = self.get_queryset().get(pk=group.pk)

    def perform_update(self, serializer):
        changes, offers, offers_b = self._split(serializer.validated_data)
        group = services.target_group_update(
            group=serializer.instance, changes=changes, offers=offers, offers_b=offers_b, acting_user=self.request.user
        )
        serializer.instance = self.get_queryset().get(pk=group.pk)

    def perform_destroy(self, instance):
        services.target_group_delete(group=instance, acting_user=self.request.user)


# --- invitations and calls --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary=_("Invitations of the dealership's campaigns"),
        description=_(
            "An agent sees only the invitations assigned to them. The customer's phone is masked (138****5678)."
        ),
    ),
    retrieve=extend_schema(
        summary=_("An invitation, with the script, the offer and the calls made"),
        description=_(
            "The customer's phone is masked. The agent the invitation is assigned to gets it in full with "
            "?reveal=phone (each such request is recorded in the access log); anyone else asking is refused (403)."
        ),
        parameters=[
            OpenApiParameter(
                "reveal",
                OpenApiTypes.STR,
                enum=["phone"],
                description=_("phone: the customer's full number (the assigned agent only; logged)."),
            )
        ],
        responses={200: serializers.InvitationDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = Invitation
    selector = staticmethod(selectors.invitations)
    serializer_class = serializers.InvitationSerializer
    filterset_class = filters.InvitationFilter
    search_fields = ["customer__name", "customer__customer_no", "vehicle__plate"]
    action_permissions = {"list": VIEW, "retrieve": VIEW, "next": CALLS, "outcome": CALLS}
    error_codes = {"outcome": {400: ["reason_required", "reason_not_asked", "unknown_reason"]}}

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        if self.request.user.role == Role.AGENT:
            queryset = queryset.filter(agent=self.request.user)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("target_group__offers", "target_group__offers_b", "attempts_made")
        return queryset

    def get_serializer_class(self):
        if self.action in ("retrieve", "next"):
            return serializers.InvitationDetailSerializer
        return super().get_serializer_class()

    def retrieve(self, request, *args, **kwargs):
        invitation = self.get_object()
        data = self.get_serializer(invitation).data
        if request.query_params.get("reveal") == "phone":
            # the agent working the call, on purpose: one access event (customers.reveal)
            if invitation.agent_id != request.user.pk:
                message = _("Only the agent the invitation is assigned to sees the full number.")
                raise exceptions.PermissionDenied(message)
            data["customer_phone"] = phone_reveal(
                customer=invitation.customer,
                user=request.user,
                via=f"API invitation {invitation.pk}",
                request=request,
                check_role=False,
            )
        return Response(data)

    @extend_schema(
        summary=_("The caller's next customer to call"),
        description=_(
            "Due call-backs and retries first (by time), then the customers not called yet; only running "
            "campaigns, never the holdout."
        ),
        responses={
            200: serializers.InvitationDetailSerializer,
            204: OpenApiResponse(description=_("Nobody to call now.")),
            403: FORBIDDEN,
        },
    )
    @action(detail=False, methods=["get"], **SINGLE)
    def next(self, request):
        invitation = selectors.next_invitation(agent=request.user, dealership=self.dealership)
        if invitation is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.get_serializer(invitation).data)

    @extend_schema(
        summary=_("Record the outcome of a call"),
        description=_(
            "Only the agent the invitation is assigned to, while the campaign runs. Accepted needs the "
            "appointment date (an appointment is booked and the group's offer issued as coupons); call back "
            "needs the time; declined needs the reason (code reason_required without it)."
        ),
        request=serializers.OutcomeSerializer,
        responses={201: serializers.OutcomeResultSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.OutcomeResultSerializer, **SINGLE)
    def outcome(self, request, pk=None):
        invitation = self.get_object()
        if invitation.agent_id != request.user.pk:
            raise exceptions.PermissionDenied(_("This customer is on another agent's list."))
        form = serializers.OutcomeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        attempt = services.call_record(invitation=invitation, agent=request.user, **form.validated_data)
        invitation = self.get_queryset().get(pk=invitation.pk)
        coupons = Coupon.objects.filter(invitation=invitation, issued_at=attempt.called_at).select_related("template")
        body = {"attempt": attempt, "invitation": invitation, "coupons": coupons}
        return Response(self.get_serializer(body).data, status=status.HTTP_201_CREATED)


# --- coupon templates and coupons -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary=_("Coupon templates of the dealership")),
    retrieve=extend_schema(
        summary=_("A coupon template"), responses={200: serializers.CouponTemplateSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary=_("Add a coupon template"),
        responses={201: serializers.CouponTemplateSerializer, 400: REFUSED, 403: FORBIDDEN},
    ),
    update=extend_schema(
        summary=_("Replace a coupon template"),
        responses={200: serializers.CouponTemplateSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary=_("Change some of a coupon template (issued coupons keep their last day)"),
        responses={200: serializers.CouponTemplateSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class CouponTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedViewSet
):
    model = CouponTemplate
    selector = staticmethod(selectors.coupon_templates)
    serializer_class = serializers.CouponTemplateSerializer
    search_fields = ["name"]
    action_permissions = {
        "list": VIEW,
        "retrieve": VIEW,
        "create": MANAGE,
        "update": MANAGE,
        "partial_update": MANAGE,
    }

    def perform_create(self, serializer):
        serializer.instance = services.coupon_template_create(
            dealership=self.dealership, acting_user=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.coupon_template_update(
            template=serializer.instance, changes=dict(serializer.validated_data), acting_user=self.request.user
        )


@extend_schema_view(
    list=extend_schema(
        summary=_("Coupons of the dealership"),
        description=_("Find a coupon by the code the customer shows with ?code=."),
    ),
    retrieve=extend_schema(summary=_("A coupon"), responses={200: serializers.CouponSerializer, 404: NOT_FOUND}),
)
class CouponViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = Coupon
    selector = staticmethod(selectors.coupons)
    serializer_class = serializers.CouponSerializer
    filterset_class = filters.CouponFilter
    action_permissions = {"list": VIEW, "retrieve": VIEW, "issue": MANAGE, "redeem": REDEEM, "void": MANAGE}
    error_codes = {"redeem": {409: ["coupon_redeemed"]}}

    @extend_schema(
        summary=_("Issue coupons: to one customer, or to every invitee of a target group"),
        request=serializers.CouponIssueSerializer,
        responses={201: serializers.CouponIssuedSerializer, 400: REFUSED, 403: FORBIDDEN},
    )
    @action(detail=False, methods=["post"], serializer_class=serializers.CouponIssuedSerializer, **SINGLE)
    def issue(self, request):
        form = serializers.CouponIssueSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "target_group" in data:
            issued = services.coupons_issue_to_group(
                group=data["target_group"], template=data["template"], acting_user=request.user
            )
            body = {"issued": issued, "coupon": None}
        else:
            coupon = services.coupon_issue(
                template=data["template"],
                customer=data["customer"],
                campaign=data.get("campaign"),
                acting_user=request.user,
            )
            body = {"issued": 1, "coupon": self.get_queryset().get(pk=coupon.pk)}
        return Response(self.get_serializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("Redeem a coupon on a service visit"),
        description=_(
            "At most once, even when two advisors try at the same moment. A coupon that is expired, voided, "
            "another customer's, below its minimum spend, not valid on the visit's type or usable from the next "
            "visit only answers 400 with the reason; one already redeemed answers 409."
        ),
        request=serializers.RedeemSerializer,
        responses={
            200: serializers.CouponSerializer,
            400: REFUSED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(description=_("Already redeemed: “message” says on when.")),
        },
    )
    @action(detail=True, methods=["post"], **SINGLE)
    def redeem(self, request, pk=None):
        coupon = self.get_object()
        form = serializers.RedeemSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        try:
            services.coupon_redeem(coupon=coupon, visit=form.validated_data["visit"], acting_user=request.user)
        except ApplicationError as exc:
            if (
                not isinstance(exc, StateConflict)
                and Coupon.objects.filter(pk=coupon.pk, status=Coupon.Status.REDEEMED).exists()
            ):
                raise StateConflict(exc.message, code="coupon_redeemed") from exc
            raise
        return Response(self.get_serializer(self.get_queryset().get(pk=coupon.pk)).data)

    @extend_schema(
        summary=_("Void an open coupon"),
        request=serializers.VoidSerializer,
        responses={200: serializers.CouponSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], **SINGLE)
    def void(self, request, pk=None):
        coupon = self.get_object()
        form = serializers.VoidSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.coupon_void(coupon=coupon, reason=form.validated_data["reason"], acting_user=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=coupon.pk)).data)


# --- compliance terms -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary=_("The dealership's own banned expressions and allowed phrases"),
        description=_("They add to the built-in lists of the Advertising Law check."),
    ),
    create=extend_schema(
        summary=_("Add a banned expression or an allowed phrase"),
        responses={201: serializers.ComplianceTermSerializer, 400: REFUSED, 403: FORBIDDEN},
    ),
    destroy=extend_schema(
        summary=_("Remove a banned expression or an allowed phrase"),
        responses={204: DELETED, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class ComplianceTermViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, ScopedViewSet):
    model = ComplianceTerm
    selector = staticmethod(selectors.compliance_terms)
    serializer_class = serializers.ComplianceTermSerializer
    filterset_class = filters.ComplianceTermFilter
    action_permissions = {"list": VIEW, "create": MANAGE, "destroy": MANAGE}

    def perform_create(self, serializer):
        serializer.instance = services.compliance_term_add(
            dealership=self.dealership, acting_user=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.compliance_term_remove(term=instance, acting_user=self.request.user)
