"""DMS files to DataFrames of text.

A file is CSV (UTF-8 with or without BOM, else GBK) or Excel (.xlsx). Every
cell is read as text (never as a float: amounts stay exact), blank lines are
kept so that row numbers match what the user sees (the header is row 1), and
CSV is read in chunks so that memory stays flat however long the file is.
"""

import codecs
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from django.utils.translation import gettext as _

from .schema import FileSchema

CHUNK_ROWS = 50_000
_DECODE_BLOCK = 4 * 1024 * 1024
_XLSX_MAGIC = b"PK\x03\x04"


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, layout, missing columns): no row of it is imported."""

    def __init__(self, reason: str, *, column: str = "", value: str = "", row: int = 1):
        super().__init__(reason)
        self.reason = reason
        self.column = column
        self.value = value
        self.row = row


def source_name(source) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return Path(getattr(source, "name", "") or "upload").name


def _open_binary(source):
    """(a binary handle positioned at the start, whether the caller must close it).

    pandas honours ``encoding`` only for paths and plain ``io`` streams, so an
    upload (Django's ``UploadedFile``) is read from its temporary file, or copied
    into a ``BytesIO`` when it was small enough to be kept in memory.
    """
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True
    if hasattr(source, "temporary_file_path"):
        return open(source.temporary_file_path(), "rb"), True
    if hasattr(source, "seek"):
        source.seek(0)
    if isinstance(source, io.BufferedIOBase | io.RawIOBase):
        return source, False
    return io.BytesIO(source.read()), True


def _detect_encoding(handle) -> tuple[str, int]:
    """(encoding, number of lines): utf-8-sig when the whole file decodes as UTF-8 (a BOM is optional),
    else GBK (read as GB18030, its superset)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    try:
        while block := handle.read(_DECODE_BLOCK):
            decoder.decode(block)
            lines += block.count(b"\n")
        decoder.decode(b"", final=True)
        return "utf-8-sig", lines
    except UnicodeDecodeError:
        pass
    handle.seek(0)
    lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(_DECODE_BLOCK), b""))
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("gb18030")()
    try:
        while block := handle.read(_DECODE_BLOCK):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise FileProblem(_("The file is neither UTF-8 nor GBK text; save it from Excel as CSV (UTF-8).")) from exc
    return "gb18030", lines


@dataclass
class DmsFile:
    """One uploaded or named file, opened for one kind of the import."""

    schema: FileSchema
    source: object  # a path or a seekable binary file-like
    name: str = ""
    format: str = "csv"
    encoding: str = ""
    header: list[str] = field(default_factory=list)  # as written in the file
    columns: dict[str, str] = field(default_factory=dict)  # column name -> header as written
    approx_rows: int = 0  # lines in the file (a quoted cell may hold a line break): for estimates only
    _frame: pd.DataFrame | None = None  # Excel: the whole sheet

    @classmethod
    def open(cls, schema: FileSchema, source) -> "DmsFile":
        dms_file = cls(schema=schema, source=source, name=source_name(source))
        handle, owned = _open_binary(source)
        try:
            magic = handle.read(4)
            handle.seek(0)
            if magic == _XLSX_MAGIC:
                dms_file.format = "xlsx"
                dms_file._frame = dms_file._read_excel(handle)
                dms_file.approx_rows = len(dms_file._frame)
                header = [str(c) for c in dms_file._frame.columns]
            else:
                dms_file.format = "csv"
                dms_file.encoding, lines = _detect_encoding(handle)
                dms_file.approx_rows = max(lines - 1, 0)
                handle.seek(0)
                header = dms_file._read_csv_header(handle)
        finally:
            if owned:
                handle.close()
        dms_file.header = header
        dms_file.columns = dms_file._map_header(header)
        return dms_file

    @property
    def encoding_label(self) -> str:
        return {"utf-8-sig": "UTF-8", "gb18030": "GBK"}.get(self.encoding, self.format.upper())

    # --- reading --------------------------------------------------------------
    def _read_excel(self, handle) -> pd.DataFrame:
        try:
            frame = pd.read_excel(
                io.BytesIO(handle.read()),
                sheet_name=0,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                engine="openpyxl",
            )
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise FileProblem(_("The Excel file cannot be read: %(error)s") % {"error": exc}) from exc
        return frame

    def _csv_options(self, **extra) -> dict:
        return {
            "dtype": str,
            "keep_default_na": False,
            "na_filter": False,
            "skip_blank_lines": False,
            "encoding": self.encoding,
            "engine": "c",
            **extra,
        }

    def _read_csv_header(self, handle) -> list[str]:
        try:
            frame = pd.read_csv(handle, **self._csv_options(nrows=0))
        except pd.errors.EmptyDataError as exc:
            raise FileProblem(_("The file is empty.")) from exc
        except (pd.errors.ParserError, ValueError) as exc:
            raise FileProblem(_("The file is not a readable CSV file: %(error)s") % {"error": exc}) from exc
        return [str(c) for c in frame.columns]

    def _map_header(self, header: list[str]) -> dict[str, str]:
        known = self.schema.header_map()
        columns: dict[str, str] = {}
        for written in header:
            name = known.get(written.strip().lower())
            if name is None:
                continue  # DMS exports carry extra columns: ignored
            if name in columns:
                raise FileProblem(
                    _("Columns “%(first)s” and “%(second)s” both give %(column)s.")
                    % {"first": columns[name], "second": written, "column": name},
                    column=written,
                )
            columns[name] = written
        missing = [name for name in self.schema.required if name not in columns]
        if missing:
            raise FileProblem(
                _("Required column missing: %(columns)s. The first row must hold the column names.")
                % {"columns": ", ".join(missing)},
                column=", ".join(missing),
            )
        return columns

    def chunks(self, rows: int | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        """(row number of the chunk's first row, frame with the known columns under their English names)."""
        rows = rows or CHUNK_ROWS
        rename = {written: name for name, written in self.columns.items()}
        if self._frame is not None:
            frame = self._frame[list(rename)].rename(columns=rename)
            for start in range(0, len(frame), rows):
                yield start + 2, frame.iloc[start : start + rows].reset_index(drop=True)
            return
        handle, owned = _open_binary(self.source)
        try:
            reader = pd.read_csv(handle, **self._csv_options(chunksize=rows, usecols=list(rename)))
            first = 2
            try:
                for chunk in reader:
                    yield first, chunk.rename(columns=rename).reset_index(drop=True)
                    first += len(chunk)
            except pd.errors.ParserError as exc:
                raise FileProblem(_("The file is not a readable CSV file: %(error)s") % {"error": exc}) from exc
        finally:
            if owned:
                handle.close()

    def raw_rows(self, row_numbers: set[int]) -> pd.DataFrame:
        """The rows with these numbers, every column as written in the file (for the rejects file)."""
        if self._frame is not None:
            positions = sorted(n - 2 for n in row_numbers)
            frame = self._frame.iloc[positions].copy()
            frame.insert(0, "__row", [p + 2 for p in positions])
            return frame
        parts = []
        handle, owned = _open_binary(self.source)
        try:
            first = 2
            for chunk in pd.read_csv(handle, **self._csv_options(chunksize=CHUNK_ROWS)):
                numbers = pd.RangeIndex(first, first + len(chunk))
                wanted = numbers.isin(list(row_numbers))
                if wanted.any():
                    part = chunk[wanted].copy()
                    part.insert(0, "__row", numbers[wanted])
                    parts.append(part)
                first += len(chunk)
        finally:
            if owned:
                handle.close()
        if not parts:
            return pd.DataFrame(columns=["__row", *self.header])
        return pd.concat(parts, ignore_index=True)
