"""REST endpoints of the DMS import: POST the files (202: the import runs in the background), then GET the
run's status, progress and, once it has ended, its report.

``POST /api/v1/import/`` answers 202 with the run and its status URL (also in ``Location``); a request that is
not an import at all (no file, a file of the wrong kind or too large) is a 400 in the error contract.
``GET /api/v1/imports/<id>/`` answers the run: ``status`` (queued, running, succeeded, refused, failed),
``progress`` and ``report`` (the ``ImportReport``, null until the run has ended).
"""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.core.api import DealershipScopedMixin

from .import_forms import ACCEPTED_SUFFIXES, max_upload_mb
from .importing.jobs import import_report, import_start
from .importing.uploads import keep_uploads
from .models import ImportRun


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
            raise serializers.ValidationError(
                _("Send at least one file: customers, vehicles or visits."), code="import_no_file"
            )
        limit = max_upload_mb()
        for kind, upload in files.items():
            if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
                raise serializers.ValidationError(
                    {kind: _("Send a .csv or .xlsx file exported from the DMS.")}, code="import_file_type"
                )
            if upload.size > limit * 1024 * 1024:
                raise serializers.ValidationError(
                    {kind: _("Larger than %(mb)d MB.") % {"mb": limit}}, code="import_file_too_large"
                )
        attrs["files"] = files
        return attrs


class RowErrorSerializer(serializers.Serializer):
    file = serializers.CharField(
        allow_blank=True, help_text=_("customers, vehicles or visits (empty for the upload as a whole)")
    )
    row = serializers.IntegerField(help_text=_("Row number in the file; the header is row 1."))
    column = serializers.CharField(allow_blank=True, help_text=_("The column's name as written in the file."))
    value = serializers.CharField(
        allow_blank=True, help_text=_("The value as written, at most 80 characters (longer ones end with …).")
    )
    reason = serializers.CharField()
    code = serializers.CharField(
        allow_blank=True,
        help_text=_("The stable code of the rule broken, where it has one (as the page and the API give it)."),
    )


class FileReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    format = serializers.CharField(allow_blank=True, help_text=_("csv or xlsx"))
    encoding = serializers.CharField(allow_blank=True, help_text=_("UTF-8 or GBK for CSV"))
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    not_imported = serializers.IntegerField(
        help_text=_(
            "Valid rows left out because the import was refused (all-or-nothing): "
            "rows = created + updated + unchanged + rejected + not_imported."
        )
    )


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


class ImportProgressSerializer(serializers.Serializer):
    rows_read = serializers.IntegerField()
    rows_checked = serializers.IntegerField()
    rows_written = serializers.IntegerField(help_text=_("New and changed rows written (0 until the end)."))


class ImportRunSerializer(serializers.ModelSerializer):
    """An import run: where it is, and its report once it has ended."""

    status = serializers.ChoiceField(
        choices=ImportRun.Status.choices,
        help_text=_(
            "queued, running; then succeeded (written, or checked for a dry run), refused (a bad row or file: "
            "nothing written, the report says why) or failed (an error of ours: nothing written)."
        ),
    )
    url = serializers.SerializerMethodField(help_text=_("This status, to ask again."))
    progress = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField(help_text=_("The report once the run has ended (else null)."))

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "url",
            "status",
            "dry_run",
            "skip_invalid",
            "source",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
            "report",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, run) -> str:
        # With the dealership named: a user of several dealerships must name it on every request.
        return f"{reverse('api-import-status', args=[run.pk])}?dealership={run.dealership.code}"

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, run) -> dict:
        return {"rows_read": run.rows_read, "rows_checked": run.rows_checked, "rows_written": run.rows_written}

    @extend_schema_field(ImportReportSerializer(allow_null=True))
    def get_report(self, run) -> dict | None:
        return import_report(run)


class DmsImportApiView(DealershipScopedMixin, APIView):
    """Import DMS files into the current dealership (after-sales managers and administrators)."""

    required_action = "dms.import"
    parser_classes = [MultiPartParser, FormParser]
    error_codes = {"post": {400: ["import_no_file", "import_file_type", "import_file_too_large"]}}

    @extend_schema(
        operation_id="dms_import",
        summary=_("Import customers, vehicles and repair orders exported from the DMS"),
        description=_(
            "Multipart upload of up to three files (customers, vehicles, visits), CSV in UTF-8 or GBK or Excel, "
            "English or Chinese headers. The import runs in the background: the answer (202) gives the run and "
            "its status URL (also in Location), which reports progress and, once ended, the report. "
            "All-or-nothing unless skip_invalid; dry_run checks and counts only. The report counts "
            "created / updated / unchanged / rejected / not imported rows per file and names every bad row."
        ),
        request={"multipart/form-data": ImportRequestSerializer},
        responses={202: OpenApiResponse(ImportRunSerializer, description=_("Queued: ask the status URL."))},
        tags=["import"],
    )
    def post(self, request):
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = keep_uploads(
            data["files"], user=request.user, dealership=self.dealership, skip_invalid=data["skip_invalid"]
        )
        run = import_start(
            dealership=self.dealership, upload=upload, acting_user=request.user, source="api", dry_run=data["dry_run"]
        )
        body = ImportRunSerializer(run).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ImportRunApiView(DealershipScopedMixin, APIView):
    """One import run of the current dealership: status, progress and, once ended, the report."""

    required_action = "dms.import"

    @extend_schema(
        operation_id="dms_import_status",
        summary=_("Status, progress and report of an import"),
        responses={200: ImportRunSerializer},
        examples=[
            OpenApiExample(
                "refused",
                response_only=True,
                status_codes=["200"],
                value={
                    "id": 12,
                    "url": "/api/v1/imports/12/?dealership=SZ01",
                    "status": "refused",
                    "dry_run": False,
                    "skip_invalid": False,
                    "source": "api",
                    "created_at": "2025-05-10T09:30:00+08:00",
                    "started_at": "2025-05-10T09:30:01+08:00",
                    "finished_at": "2025-05-10T09:30:02+08:00",
                    "progress": {"rows_read": 2, "rows_checked": 2, "rows_written": 0},
                    "report": {
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
                                "not_imported": 1,
                            }
                        },
                        "errors": [
                            {
                                "file": "customers",
                                "row": 3,
                                "column": "手机号",
                                "value": "12345",
                                "reason": "Not a valid phone number (mainland mobile or landline with area code).",
                                "code": "",
                            }
                        ],
                        "rejects": {},
                    },
                },
            )
        ],
        tags=["import"],
    )
    def get(self, request, pk: int):
        run = get_object_or_404(ImportRun.objects.select_related("dealership"), pk=pk, dealership=self.dealership)
        return Response(ImportRunSerializer(run).data)
