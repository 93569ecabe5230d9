"""The DMS import page's upload form."""

from pathlib import Path

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

ACCEPTED_SUFFIXES = (".csv", ".txt", ".xlsx")


def max_upload_mb() -> int:
    return getattr(settings, "DMS_IMPORT_MAX_UPLOAD_MB", 200)


class DmsImportForm(forms.Form):
    customers = forms.FileField(label=_("Customers file"), required=False)
    vehicles = forms.FileField(label=_("Vehicles file"), required=False)
    visits = forms.FileField(label=_("Repair orders file"), required=False)
    skip_invalid = forms.BooleanField(
        label=_("Skip invalid rows"),
        required=False,
        help_text=_(
            "Import the valid rows and give back the others as a file to correct. "
            "Without it, one bad row and nothing is imported."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = max_upload_mb()
        for name in ("customers", "vehicles", "visits"):
            self.fields[name].widget.attrs["accept"] = ",".join(ACCEPTED_SUFFIXES)
            self.fields[name].help_text = _("CSV (UTF-8 or GBK) or Excel .xlsx, up to %(mb)d MB.") % {"mb": limit}
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.form_id = "dms-import-form"
        self.helper.add_input(Submit("check", _("Check the files"), css_class="btn-primary"))

    def clean(self):
        cleaned = super().clean()
        limit = max_upload_mb()
        files = {name: cleaned.get(name) for name in ("customers", "vehicles", "visits")}
        for name, upload in files.items():
            if not upload:
                continue
            if Path(upload.name).suffix.lower() not in ACCEPTED_SUFFIXES:
                self.add_error(name, _("Choose a .csv or .xlsx file exported from the DMS."))
            elif upload.size > limit * 1024 * 1024:
                self.add_error(name, _("This file is larger than %(mb)d MB.") % {"mb": limit})
        if not any(files.values()):
            raise forms.ValidationError(_("Choose at least one file: customers, vehicles or repair orders."))
        return cleaned

    def files_by_kind(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in ("customers", "vehicles", "visits") if self.cleaned_data[name]
        }
