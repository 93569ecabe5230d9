"""The dealership administrator's pages (role-table action ``staff.manage``), within their own dealerships.

Lists show the current dealership's users and tokens; a user or token of another dealership is 404.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView, View

from .. import access_log
from ..exceptions import ApplicationError
from ..views import DealershipMixin, ServiceFormView, confirm_step, confirmed, refusal_status
from . import access_export, forms, selectors, services

#: access events per page of the access log
ACCESS_EVENTS_PER_PAGE = 50


class StaffMixin(DealershipMixin):
    action = "staff.manage"
    tab = ""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "tab": self.tab}


class StaffFormView(StaffMixin, ServiceFormView):
    template_name = "staff/form_page.html"
    cancel_url = reverse_lazy("staff:users")
    tab = "users"

    def get_cancel_url(self):
        return str(self.cancel_url)

    def get_success_url(self):
        return reverse("staff:users")


class UserListView(StaffMixin, TemplateView):
    template_name = "staff/users.html"
    tab = "users"

    def get_context_data(self, **kwargs):
        users = selectors.staff_list(admin=self.request.user, dealership=self.dealership)
        return {**super().get_context_data(**kwargs), "users": users}


class UserCreateView(StaffFormView):
    form_class = forms.StaffCreateForm
    form_id = "staff-create-form"
    title = gettext_lazy("New user")
    submit_label = gettext_lazy("Create user")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "dealerships": selectors.admin_dealerships(self.request.user)}

    def get_initial(self):
        return {"dealerships": [self.dealership]}

    def perform(self, form):
        data = form.cleaned_data
        user = services.staff_create(
            acting_user=self.request.user,
            username=data["username"],
            display_name=data["display_name"],
            role=data["role"],
            dealerships=list(data["dealerships"]),
            password=data["password"],
        )
        messages.success(self.request, _("User %(user)s created.") % {"user": user.username})
        return user


class UserObjectMixin:
    def get_user(self):
        if not hasattr(self, "_user"):
            self._user = selectors.staff_get(admin=self.request.user, dealership=self.dealership, pk=self.kwargs["pk"])
        return self._user


class UserEditView(UserObjectMixin, StaffFormView):
    form_class = forms.StaffEditForm
    form_id = "staff-edit-form"
    template_name = "staff/user_edit.html"
    submit_label = gettext_lazy("Save")

    @property
    def title(self):
        return _("User %(user)s") % {"user": self.get_user().username}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "dealerships": selectors.admin_dealerships(self.request.user)}

    def get_initial(self):
        user = self.get_user()
        return {
            "display_name": user.display_name,
            "role": user.role,
            "dealerships": [m.dealership for m in user.my_memberships],
        }

    def page_context(self):
        user = self.get_user()
        return {
            "person": user,
            "shared": selectors.works_elsewhere(admin=self.request.user, user=user),
            "tokens": selectors.token_list(dealership=self.dealership, user=user),
            "now": timezone.now(),
        }

    def perform(self, form):
        data = form.cleaned_data
        user = services.staff_update(
            acting_user=self.request.user,
            user=self.get_user(),
            role=data["role"],
            display_name=data["display_name"],
            dealerships=list(data["dealerships"]),
        )
        messages.success(self.request, _("Changes to %(user)s saved.") % {"user": user.username})
        return user


class UserPasswordView(UserObjectMixin, StaffFormView):
    form_class = forms.PasswordForm
    form_id = "staff-password-form"
    submit_label = gettext_lazy("Set the password")

    @property
    def title(self):
        return _("New password for %(user)s") % {"user": self.get_user().username}

    def get_cancel_url(self):
        return reverse("staff:user-edit", args=[self.get_user().pk])

    def perform(self, form):
        user = services.staff_set_password(
            acting_user=self.request.user, user=self.get_user(), password=form.cleaned_data["password"]
        )
        messages.success(
            self.request, _("New password set for %(user)s: tell them in person.") % {"user": user.username}
        )
        return user


def confirm_page(request, *, dealership, title, lines, button, action, cancel, fields=(), danger=True):
    """The confirmation step of an administration action, under the administration's tabs."""
    step = confirm_step(
        title=title, lines=lines, button=button, action=action, cancel=cancel, fields=fields, danger=danger
    )
    return render(request, "staff/confirm.html", {"confirm": step, "dealership": dealership, "tab": ""})


class UserActiveView(UserObjectMixin, StaffMixin, View):
    """POST: deactivate (after a confirmation step) or reactivate (``active`` = the view's flag)."""

    active = False

    def post(self, request, pk):
        user = self.get_user()
        if not self.active and user.pk != request.user.pk and user.is_active and not confirmed(request):
            return confirm_page(
                request,
                dealership=self.dealership,
                title=_("Deactivate %(user)s?") % {"user": user.username},
                lines=[
                    _("They can no longer log in, their open sessions end and their API tokens stop working."),
                    _("You can reactivate them later; their tokens then work again until they expire."),
                ],
                button=_("Deactivate"),
                action=request.path,
                cancel=reverse("staff:user-edit", args=[user.pk]),
            )
        try:
            services.staff_set_active(acting_user=request.user, user=user, active=self.active)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if self.active:
                messages.success(request, _("%(user)s is active again.") % {"user": user.username})
            else:
                messages.success(
                    request,
                    _("%(user)s is deactivated: their sessions and API tokens no longer work.")
                    % {"user": user.username},
                )
        return redirect("staff:user-edit", pk=user.pk)


class TokenListView(StaffMixin, TemplateView):
    template_name = "staff/tokens.html"
    tab = "tokens"

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "tokens": selectors.token_list(dealership=self.dealership),
            "now": timezone.now(),
        }


class TokenCreateView(StaffFormView):
    """Issues a token and answers with a page that shows its key, once (no redirect: the key is kept nowhere)."""

    form_class = forms.TokenForm
    form_id = "token-form"
    title = gettext_lazy("New API token")
    submit_label = gettext_lazy("Issue the token")
    cancel_url = reverse_lazy("staff:tokens")
    tab = "tokens"

    def get_form_kwargs(self):
        users = selectors.staff_list(admin=self.request.user, dealership=self.dealership).filter(is_active=True)
        users = selectors.wholly_administered(users, admin=self.request.user)
        return {**super().get_form_kwargs(), "users": users}

    def get_initial(self):
        return {"user": self.request.GET.get("user")}

    def perform(self, form):
        data = form.cleaned_data
        return services.token_issue(
            acting_user=self.request.user,
            user=data["user"],
            name=data["name"],
            days=data["days"],
            dealership=self.dealership,
            request=self.request,
        )

    def form_valid(self, form):
        try:
            token, key = self.perform(form)
        except (ValidationError, ApplicationError) as exc:
            self.show_error(form, exc)
            return self.form_invalid(form, status=refusal_status(exc))
        context = {**self.get_context_data(form=form), "token": token, "key": key}
        response = render(self.request, "staff/token_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response


class TokenRevokeView(StaffMixin, View):
    def post(self, request, token_key):
        token = selectors.token_get(dealership=self.dealership, token_key=token_key)
        if not confirmed(request):
            return confirm_page(
                request,
                dealership=self.dealership,
                title=_("Revoke the token “%(name)s”?") % {"name": token.name},
                lines=[
                    _("%(user)s's token stops working at once; a system using it is refused from then on.")
                    % {"user": token.user.username},
                    _("This cannot be undone: issue a new token if the system still needs one."),
                ],
                button=_("Revoke"),
                action=request.path,
                cancel=reverse("staff:tokens"),
                fields=[("next", request.POST.get("next", ""))],
            )
        services.token_revoke(acting_user=request.user, token=token, dealership=self.dealership, request=request)
        messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
        target = request.POST.get("next", "")
        return redirect(target if target.startswith("/staff/") else reverse("staff:tokens"))


class DealershipSettingsView(StaffFormView):
    form_class = forms.DealershipSettingsForm
    form_id = "dealership-form"
    title = gettext_lazy("Dealership settings")
    cancel_url = reverse_lazy("staff:users")
    tab = "dealership"

    def get_initial(self):
        d = self.dealership
        return {
            "name": d.name,
            "time_zone": d.time_zone,
            "plate_prefix": d.plate_prefix,
            "consent_text": d.consent_text,
        }

    def get_success_url(self):
        return reverse("staff:dealership")

    def perform(self, form):
        dealership = services.dealership_update(
            acting_user=self.request.user, dealership=self.dealership, **form.cleaned_data
        )
        messages.success(self.request, _("Settings of %(name)s saved.") % {"name": dealership.name})
        return dealership


class AuditView(StaffMixin, TemplateView):
    template_name = "staff/audit.html"
    tab = "audit"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "events": selectors.audit_events(dealership=self.dealership)}


class AccessLogMixin(StaffMixin):
    """The access log's filters, read from the query string (the page and its export share them)."""

    action = "audit.view"
    tab = "access-log"

    def filter_form(self) -> forms.AccessLogFilterForm:
        query = self.request.GET
        bound = any(query.get(name) for name in forms.AccessLogFilterForm.base_fields)
        return forms.AccessLogFilterForm(
            query if bound else None, users=selectors.access_log_users(dealership=self.dealership)
        )


class AccessLogView(AccessLogMixin, TemplateView):
    """Who looked at or exported whose personal data, failed to sign in, or created or revoked a token: the
    dealership's access events, newest first, filtered and paginated. Nothing here edits them."""

    template_name = "staff/access_log.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.filter_form()
        context["form"] = form
        if form.is_bound and not form.is_valid():
            context["invalid"] = True
            return context
        filters = form.filters() if form.is_bound else {}
        events = selectors.access_log_filtered(dealership=self.dealership, **filters)
        page = Paginator(events, ACCESS_EVENTS_PER_PAGE).get_page(self.request.GET.get("page"))
        shown = selectors.customers_shown(dealership=self.dealership, ids={event.customer_id for event in page})
        for event in page:
            event.customer_shown = shown.get(event.customer_id)
        context.update(page=page, filtered=form.is_bound, formats=access_export.FORMATS)
        return context


class AccessLogExportView(AccessLogMixin, View):
    """The filtered access log as CSV or XLSX (``?format=``); the export itself is one access event."""

    def get(self, request):
        fmt = request.GET.get("format") or "csv"
        if fmt not in access_export.FORMATS:
            raise Http404(_("No such format: choose CSV or XLSX."))
        form = self.filter_form()
        if form.is_bound and not form.is_valid():
            errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
            return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
        filters = form.filters() if form.is_bound else {}
        events = selectors.access_log_filtered(dealership=self.dealership, **filters)
        content = access_export.render(events, dealership=self.dealership, fmt=fmt)
        access_log.record(
            access_log.Kind.EXPORT,
            request=request,
            dealership=self.dealership,
            what=f"access log ({fmt})",
            customers=selectors.distinct_customers(events),
            details={name: str(getattr(value, "pk", value)) for name, value in filters.items() if value},
        )
        response = HttpResponse(content, content_type=access_export.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{access_export.filename(self.dealership, fmt)}"'
        response["Cache-Control"] = "no-store"
        return response
