"""What every app's forms share: crispy's fields-only helper, and a service's refusal shown on the form."""

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError

from .exceptions import ApplicationError


def add_service_error(form: forms.Form, exc: Exception) -> None:
    """Show a service's ValidationError or ApplicationError on ``form``: on its field when the form has one."""
    if isinstance(exc, ApplicationError):
        form.add_error(None, exc.message)
        return
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error if target else ValidationError(error.messages))
        return
    form.add_error(None, exc)


def fields_only_helper() -> FormHelper:
    """Fields only: the page template draws the <form>, its buttons and the CSRF token (shared by every app)."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper
