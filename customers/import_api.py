"""REST endpoint of the DMS import: POST the files, get the report (400 when nothing could be imported)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.core.api import DealershipScopedMixin

from .import_forms import ACCEPTED_SUFFIXES, max_upload_mb
from .importing import run_import


class ImportRequestSerializer(serializers.Serializer):
    customers = serializers.FileField(required=False, help_text=_("Customers file (CSV or .xlsx)."))
    vehicles = serializers.FileField(required=False, help_text=_("Vehicles file (CSV or .xlsx)."))
    visits = serializers.FileField(required=False, help_text=_("Repair orders file (CSV or .xlsx)."))
    skip_invalid = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Import the valid rows and return the others; without it one bad row and nothing is imported."),
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text=_("Check and count only; nothing is written.")
    )

    def validate(self, attrs):
        files = {kind: attrs.get(kind) for kind in ("customers", "vehicles", "visits") if attrs.get(kind)}
        if not files:
            raise serializers.ValidationError(_("Send at least one file: customers, vehicles or visits."))
        limit = max_upload_mb()
        for kind, upload in files.items():
            if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
                raise serializers.ValidationError({kind: _("Send a .csv or .xlsx file exported from the DMS.")})
            if upload.size > limit * 1024 * 1024:
                raise serializers.ValidationError({kind: _("Larger than %(mb)d MB.") % {"mb": limit}})
        attrs["files"] = files
        return attrs


class RowErrorSerializer(serializers.Serializer):
    file = serializers.CharField(help_text=_("customers, vehicles or visits"))
    row = serializers.IntegerField(help_text=_("Row number in the file; the header is row 1."))
    column = serializers.CharField(help_text=_("The column's name as written in the file."))
    value = serializers.CharField()
    reason = serializers.CharField()


class FileReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    format = serializers.CharField(help_text=_("csv or xlsx"))
    encoding = serializers.CharField(help_text=_("UTF-8 or GBK for CSV"))
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()


class ImportReportSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["committed", "previewed", "rejected"],
        help_text=_("committed: written; previewed: a dry run; rejected: nothing written."),
    )
    dry_run = serializers.BooleanField()
    skip_invalid = serializers.BooleanField()
    run_id = serializers.IntegerField(help_text=_("The import's audit record."))
    duration_ms = serializers.IntegerField()
    files = serializers.DictField(child=FileReportSerializer(), help_text=_("Counts per file."))
    errors = RowErrorSerializer(many=True)
    rejects = serializers.DictField(
        child=serializers.CharField(),
        help_text=_("With skip_invalid: per file, the rejected rows as CSV text with a reason column."),
    )


class DmsImportApiView(DealershipScopedMixin, APIView):
    """Import DMS files into the current dealership (after-sales managers and administrators)."""

    required_action = "dms.import"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="dms_import",
        summary=_("Import customers, vehicles and repair orders exported from the DMS"),
        description=_(
            "Multipart upload of up to three files (customers, vehicles, visits), CSV in UTF-8 or GBK or Excel, "
            "English or Chinese headers. All-or-nothing unless skip_invalid; dry_run checks and counts only. "
            "The report counts created / updated / unchanged / rejected rows per file and names every bad row."
        ),
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: OpenApiResponse(ImportReportSerializer, description=_("Imported, or checked (dry run).")),
            400: OpenApiResponse(
                ImportReportSerializer, description=_("Nothing imported: the report names every bad row.")
            ),
            403: OpenApiResponse(description=_("Your role may not import.")),
            404: OpenApiResponse(description=_("No such dealership among yours.")),
        },
        examples=[
            OpenApiExample(
                "rejected",
                response_only=True,
                status_codes=["400"],
                value={
                    "status": "rejected",
                    "dry_run": False,
                    "skip_invalid": False,
                    "run_id": 12,
                    "duration_ms": 84,
                    "files": {
                        "customers": {
                            "kind": "customers",
                            "name": "客户.csv",
                            "format": "csv",
                            "encoding": "GBK",
                            "rows": 2,
                            "created": 0,
                            "updated": 0,
                            "unchanged": 0,
                            "rejected": 1,
                        }
                    },
                    "errors": [
                        {
                            "file": "customers",
                            "row": 3,
                            "column": "手机号",
                            "value": "12345",
                            "reason": "Not a valid phone number (mainland mobile or landline with area code).",
                        }
                    ],
                    "rejects": {},
                },
            )
        ],
        tags=["import"],
    )
    def post(self, request):
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = run_import(
            dealership=self.dealership,
            files=data["files"],
            skip_invalid=data["skip_invalid"],
            dry_run=data["dry_run"],
            acting_user=request.user,
            source="api",
        )
        return Response(result.as_dict(), status=status.HTTP_200_OK if result.ok else status.HTTP_400_BAD_REQUEST)
