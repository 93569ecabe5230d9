"""The customer's survey page, opened from the signed link of a message (no login: the link is the key).

A phone-first page in the language of the store's messages to customers (``FOLLOWUPS_MESSAGE_LANGUAGE``,
Chinese by default):
satisfaction 1–5, NPS 0–10, a comment, and an optional, unticked box to agree to offers beside the store's
consent text (``customers.consent``): ticked, it records the customer's consent with its proof. A tampered
link answers 400, an expired or used one 410, each with a friendly page saying what to do, never an error
page. No script and no inline style (the strict CSP)."""

from django import forms
from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from customers.consent import consent_text_for
from customers.models import ConsentChannel
from customers.services import consent_record
from dealercrm.core.audit import acting_as

from .surveys import SURVEY_ACTOR, SurveyLinkError, survey_answer, survey_from_token

SATISFACTION_CHOICES = [
    (5, _("Very satisfied")),
    (4, _("Satisfied")),
    (3, _("Neutral")),
    (2, _("Dissatisfied")),
    (1, _("Very dissatisfied")),
]
NPS_CHOICES = [(n, str(n)) for n in range(11)]


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with your visit?"),
        choices=SATISFACTION_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose how satisfied you are.")},
    )
    nps = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend?"),
        choices=NPS_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose a number from 0 to 10.")},
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    #: optional and unticked: ticking it records the customer's consent to offers, with the text shown beside it
    consent = forms.BooleanField(label=_("Send me offers and invitations"), required=False, initial=False)

    def __init__(self, *args, consent_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.consent_text = consent_text


def survey_consent_record(*, survey, text_shown: str):
    """The customer ticked the consent box of their survey: a grant through the survey, its reference the
    survey's id, the text beside the box kept as its proof, recorded by nobody (the customer did it)."""
    with acting_as(None, reason=SURVEY_ACTOR):
        return consent_record(
            customer=survey.customer,
            granted=True,
            channel=ConsentChannel.SURVEY,
            text_shown=text_shown,
            reference=str(survey.pk),
        )


def survey_language() -> str:
    return getattr(settings, "FOLLOWUPS_MESSAGE_LANGUAGE", "zh-hans")


def _page(request, template, context, status=200):
    response = TemplateResponse(request, template, context, status=status)
    response.render()  # while the survey's language is active
    response["Content-Language"] = survey_language()
    return response


@method_decorator(never_cache, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")
class SurveyAnswerView(View):
    """GET: the questions; POST: the answer, once (then the thank-you page).

    No CSRF token: the signed, single-use link is the key (whoever could forge a post would need the link, and
    with it could answer anyway), and a phone's in-app browser that drops the cookie still gets its answer in."""

    template_name = "followups/survey/answer.html"

    def dispatch(self, request, *args, **kwargs):
        with translation.override(survey_language()):
            return super().dispatch(request, *args, **kwargs)

    def link_refused(self, request, exc: SurveyLinkError):
        context = {"code": exc.code, "message": exc.message, "language": survey_language()}
        return _page(request, "followups/survey/link.html", context, status=exc.status)

    def context(self, survey, form):
        return {"survey": survey, "form": form, "store": survey.dealership, "language": survey_language()}

    def form(self, survey, data=None) -> SurveyForm:
        # the store's consent text, in the customers' language (the page's, here)
        return SurveyForm(data, consent_text=consent_text_for(survey.dealership))

    def get(self, request, survey_token):
        try:
            survey = survey_from_token(survey_token)
        except SurveyLinkError as exc:
            return self.link_refused(request, exc)
        return _page(request, self.template_name, self.context(survey, self.form(survey)))

    def post(self, request, survey_token):
        try:
            survey = survey_from_token(survey_token)
        except SurveyLinkError as exc:
            return self.link_refused(request, exc)
        form = self.form(survey, request.POST)
        if not form.is_valid():
            return _page(request, self.template_name, self.context(survey, form), status=400)
        try:
            with transaction.atomic():  # the answer and the consent given with it, together or not at all
                survey = survey_answer(
                    survey=survey,
                    satisfaction=form.cleaned_data["satisfaction"],
                    nps=form.cleaned_data["nps"],
                    comment=form.cleaned_data["comment"],
                )
                if form.cleaned_data["consent"]:
                    survey_consent_record(survey=survey, text_shown=form.consent_text)
        except SurveyLinkError as exc:  # answered (or expired) a moment ago, in another tab
            return self.link_refused(request, exc)
        return redirect("surveys:thanks")


class SurveyThanksView(View):
    def get(self, request):
        with translation.override(survey_language()):
            return _page(request, "followups/survey/thanks.html", {"language": survey_language()})
