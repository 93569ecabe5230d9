"""What an import reports: bad rows, counts per file, the rejects files."""

import csv
import io
from dataclasses import asdict, dataclass, field

REJECT_REASON_COLUMN = "reason"


@dataclass(frozen=True)
class RowError:
    """One problem with one cell: the file, the row (the header is row 1), the column as written, why."""

    file: str
    row: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class FileReport:
    kind: str
    name: str
    format: str = ""
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ImportResult:
    """The outcome of ``run_import``; ``status`` is an ``ImportRun.Status`` value."""

    status: str
    dry_run: bool
    skip_invalid: bool
    files: dict[str, FileReport] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    rejects: dict[str, bytes] = field(default_factory=dict)  # kind -> CSV (UTF-8 with BOM)
    duration_ms: int = 0
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    def counts(self) -> dict[str, dict]:
        return {
            kind: {k: v for k, v in report.as_dict().items() if k not in {"kind", "name", "format", "encoding"}}
            for kind, report in self.files.items()
        }

    def as_dict(self, *, inline_rejects: bool = True) -> dict:
        data = {
            "status": str(self.status),
            "dry_run": self.dry_run,
            "skip_invalid": self.skip_invalid,
            "run_id": self.run_id,
            "duration_ms": self.duration_ms,
            "files": {kind: report.as_dict() for kind, report in self.files.items()},
            "errors": [error.as_dict() for error in self.errors],
        }
        if inline_rejects:
            data["rejects"] = {kind: content.decode("utf-8-sig") for kind, content in self.rejects.items()}
        return data


def rejects_csv(frame, reasons: dict[int, list[str]], header: list[str]) -> bytes:
    """The rejected rows with their original columns and a ``reason`` column, as UTF-8 with BOM (Excel opens it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*header, REJECT_REASON_COLUMN])
    columns = [c for c in frame.columns if c != "__row"]
    for values in frame[["__row", *columns]].itertuples(index=False, name=None):
        row_no, *cells = values
        writer.writerow([*cells, "; ".join(reasons.get(int(row_no), []))])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
