"""A state conflict refused on a page answers 409, as the API does; a refused value stays a 200 form page."""

import pytest
from django import forms
from django.test import RequestFactory

from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.views import ServiceFormView


class NoteForm(forms.Form):
    note = forms.CharField()


class RefusingPage(ServiceFormView):
    """A form page whose service refuses with ``refusal``."""

    action = "customer.view"
    form_class = NoteForm
    template_name = "not/rendered.html"  # the TemplateResponse is not rendered here
    refusal: Exception = ApplicationError("")

    def perform(self, form):
        raise self.refusal

    def get_cancel_url(self):
        return "/"


def post(user, dealership, refusal):
    request = RequestFactory().post("/somewhere/", {"note": "一条备注"})
    request.user, request.dealership = user, dealership
    return RefusingPage.as_view(refusal=refusal)(request)


@pytest.mark.django_db
def test_a_state_conflict_on_a_page_answers_409_with_the_form(as_manager, dealership):
    response = post(as_manager, dealership, StateConflict("The campaign finished meanwhile.", code="finished"))
    assert response.status_code == 409
    assert response.context_data["form"].non_field_errors() == ["The campaign finished meanwhile."]


@pytest.mark.django_db
def test_a_refused_value_on_a_page_is_shown_on_the_form_with_200(as_manager, dealership):
    response = post(as_manager, dealership, ApplicationError("Not a valid note.", code="bad_note"))
    assert response.status_code == 200
    assert response.context_data["form"].non_field_errors() == ["Not a valid note."]
