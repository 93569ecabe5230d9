"""The retention review's selection: every customer listed, or the ones ticked."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RetentionSelectionForm(forms.Form):
    """``all=1`` (every customer due for review) or ``ids`` (those ticked on the page)."""

    all = forms.BooleanField(required=False)
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # any number: the service keeps only the store's customers still due for review
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        data = super().clean()
        if not data.get("all") and not data.get("ids"):
            raise forms.ValidationError(
                _("Tick the customers to anonymise, or choose all of them."), code="none_chosen"
            )
        return data

    def selection(self):
        """The ids chosen, or None for every customer due for review."""
        return None if self.cleaned_data.get("all") else sorted(set(self.cleaned_data["ids"]))
