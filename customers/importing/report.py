"""What an import reports: bad rows, counts per file, the rejects files.

A value from a file is never echoed whole: ``quote`` is the one place that makes it fit for a message (at most
``QUOTE_LIMIT`` characters, control characters shown as visible symbols), for every ``RowError`` (the page, the
API, the command, the stored run) and, with a larger limit, for the cells of the rejected-rows file.
"""

import io
import re
from dataclasses import asdict, dataclass, field, fields

from dealercrm.core.exports import csv_writer

REJECT_REASON_COLUMN = "reason"
# The outcome of an import (``ImportResult.status``, the report's ``status``): written, checked only, refused.
COMMITTED, PREVIEWED, REJECTED = "committed", "previewed", "rejected"
QUOTE_LIMIT = 80  # characters of a value quoted in a message
REASON_LIMIT = 500  # a reason may carry a library's message (pandas, openpyxl): bounded too
# A rejected row's cell is given back as written, so that the corrected row imports as it should; only a cell
# longer than any column accepts (the longest, a name, takes 100) is shortened, so that a 1 MB cell does not
# make a 1 MB file.
REJECT_CELL_LIMIT = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _visible(match: re.Match) -> str:
    """A control character as its Unicode "control picture" (NUL as ␀), so that it shows and stores as text."""
    code = ord(match.group())
    return chr(0x2421) if code == 0x7F else chr(0x2400 + code)


def quote(value, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as text fit to be quoted: control characters made visible, cut to ``limit`` characters (…)."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _CONTROL.sub(_visible, text)


@dataclass(frozen=True)
class RowError:
    """One problem with one cell: the file, the row (the header is row 1), the column as written, why."""

    file: str
    row: int
    column: str
    value: str
    reason: str
    #: the stable code of the rule broken, where it has one (the same code as the page and the API give)
    code: str = ""

    def __post_init__(self):
        # The one place a value from a file is shortened for a message (frozen: set through object).
        object.__setattr__(self, "column", quote(self.column))
        object.__setattr__(self, "value", quote(self.value))
        object.__setattr__(self, "reason", quote(self.reason, REASON_LIMIT))

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
    # Valid rows left out because the import as a whole was refused (all-or-nothing): with them every row
    # is counted once, rows = created + updated + unchanged + rejected + not_imported.
    not_imported: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ImportResult:
    """The outcome of ``run_import``; ``status`` is COMMITTED, PREVIEWED or REJECTED."""

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
        return self.status != REJECTED

    @classmethod
    def from_dict(cls, data: dict) -> "ImportResult":
        """The result again from its ``as_dict()`` (a finished ``ImportRun.report``), for the page."""

        def known(kind, values: dict) -> dict:
            names = {f.name for f in fields(kind)}
            return {k: v for k, v in values.items() if k in names}

        return cls(
            status=data.get("status", REJECTED),
            dry_run=bool(data.get("dry_run")),
            skip_invalid=bool(data.get("skip_invalid")),
            files={kind: FileReport(**known(FileReport, r)) for kind, r in (data.get("files") or {}).items()},
            errors=[RowError(**known(RowError, e)) for e in data.get("errors") or []],
            duration_ms=data.get("duration_ms") or 0,
            run_id=data.get("run_id"),
        )

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
    writer = csv_writer(buffer, lineterminator="\r\n")
    writer.writerow([quote(name, REJECT_CELL_LIMIT) for name in header] + [REJECT_REASON_COLUMN])
    columns = [c for c in frame.columns if c != "__row"]
    for values in frame[["__row", *columns]].itertuples(index=False, name=None):
        row_no, *cells = values
        cells = [quote(cell, REJECT_CELL_LIMIT) if isinstance(cell, str) else cell for cell in cells]
        writer.writerow([*cells, "; ".join(reasons.get(int(row_no), []))])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
