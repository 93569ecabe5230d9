"""DMS files to DataFrames of text.

A file is CSV (UTF-8 with or without BOM, else GBK) or Excel (.xlsx). A file
that is neither (Shift-JIS, Big5, Latin-1, UTF-16…) mostly still decodes as
GB18030, into characters no DMS export holds: such text is refused before
anything is written, naming the first line that shows it (``garbled_line``). Every
cell is read as text (never as a float: amounts stay exact), blank lines are
kept so that row numbers match what the user sees (the header is row 1), and
CSV is read in chunks so that memory stays flat however long the file is.

A UTF-8 file without blank lines (the usual DMS export) is parsed by pyarrow's
CSV reader, several times faster than pandas' and straight into the
Arrow-backed strings the checks work on; other files (GBK, blank lines) by
pandas. Both give the same frames.
"""

import codecs
import functools
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .report import quote
from .schema import FileSchema

CHUNK_ROWS = 50_000
_DECODE_BLOCK = 4 * 1024 * 1024
_ARROW_BLOCK = 1024 * 1024
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what ``read_csv(dtype=str)`` gives, pyarrow installed
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


@dataclass
class _Scan:
    encoding: str
    lines: int
    blank_lines: bool = False  # an empty line (or one holding only "\r") after the first
    control_chars: bool = False  # a control byte (NUL, …) somewhere: the cells are then checked for them


# Control bytes (tab and line breaks are text). Neither UTF-8 nor GBK uses them inside a multi-byte character.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAVE_AS_UTF8 = gettext_lazy("Save it from Excel as “CSV UTF-8” and upload it again.")

# Characters that text read as GB18030 holds only when it was written in another encoding: Japanese kana
# (Shift-JIS, EUC-JP; Big5's commonest characters land there too), half-width katakana, box drawing, C1 control
# codes. A Chinese DMS export does not contain them: one is enough.
_UNLIKELY = re.compile("[\uff61-\uff9f\u3040-\u30ff\u2500-\u257f\x80-\x9f]")
RARE_SHARE = 0.3  # of the characters beyond ASCII, outside GB2312: ~1 % in Chinese names and addresses
RARE_MIN = 3  # and at least this many (a rare name such as 王喆 is not a garbled file)
_LATIN_LOOKS = 1000  # rare characters looked at one by one for a Latin letter before them


@functools.cache
def _rare_cjk() -> re.Pattern:
    """Chinese characters outside GB2312's 6,763 (the everyday ones), and private-use ones: text read in the
    wrong encoding is mostly made of them (Shift-JIS read as GBK: nearly all; Big5: half)."""
    common = set()
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                common.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    ranges, start, previous = [], None, None
    for point in [*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000)]:
        if chr(point) in common:
            continue
        if start is not None and point == previous + 1:
            previous = point
            continue
        if start is not None:
            ranges.append((start, previous))
        start = previous = point
    ranges.append((start, previous))
    # Private use (GBK's user-defined areas) counts as rare, not as impossible: some systems put a name's
    # character missing from GBK there (造字); a file whose text is mostly rare or private is refused.
    ranges.append((0xE000, 0xF8FF))
    return re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges) + "]")


@dataclass
class _Garble:
    """Evidence, block by block over one file, that its text was not written in GBK."""

    non_ascii: int = 0
    rare: int = 0
    first_rare: tuple[int, str] | None = None  # (line, text) of the first line holding a rare character
    found: tuple[int, str] | None = None  # (line, text) of the first line that shows the file garbled

    def feed(self, text: str, first_line: int) -> None:
        if self.found:
            return

        def line_at(position: int) -> tuple[int, str]:
            start = text.rfind("\n", 0, position) + 1
            end = text.find("\n", position)
            return first_line + text.count("\n", 0, position), text[start : end if end >= 0 else len(text)]

        if match := _UNLIKELY.search(text):
            self.found = line_at(match.start())
            return
        rare = _rare_cjk()
        self.non_ascii += len(text) - len(text.encode("ascii", "ignore"))
        count = len(rare.findall(text))  # few in a real file; a garbled one is decided on this block
        if not count:
            return
        self.rare += count
        if self.first_rare is None:
            self.first_rare = line_at(rare.search(text).start())
        if count <= _LATIN_LOOKS:
            for match in rare.finditer(text):
                # Right after a Latin letter ("M黮ler"): a Latin-1 accent read together with the next byte.
                before = text[match.start() - 1] if match.start() else ""
                if before.isascii() and before.isalpha():
                    self.found = line_at(match.start())
                    return
        if self.rare >= RARE_MIN and self.rare > RARE_SHARE * self.non_ascii:
            self.found = self.first_rare

    def garbled(self) -> tuple[int, str] | None:
        return self.found


def _detect_encoding(handle, name: str = "") -> _Scan:
    """utf-8-sig when the whole file decodes as UTF-8 (a BOM is optional), else GBK (read as GB18030, its
    superset) unless the text shows it was written in another encoding; with the number of lines, whether one
    of them is blank and whether a control byte (NUL, …) appears."""
    start = handle.read(4)
    handle.seek(0)
    wide = len(start) == 4 and (start[1] == start[3] == 0 or start[0] == start[2] == 0)  # "c\0u\0…" without BOM
    if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or wide:
        raise FileProblem(
            _("“%(file)s” is UTF-16 text (Excel's “Unicode text”), not CSV. %(advice)s")
            % {"file": name, "advice": _SAVE_AS_UTF8}
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, blank, tail, control = 0, False, b"", False
    try:
        while block := handle.read(_DECODE_BLOCK):
            decoder.decode(block)
            lines += block.count(b"\n")
            seen = tail + block
            blank = blank or b"\n\n" in seen or b"\n\r\n" in seen
            control = control or _CONTROL_BYTES.search(block) is not None
            tail = block[-2:]
        decoder.decode(b"", final=True)
        return _Scan("utf-8-sig", lines, blank, control)
    except UnicodeDecodeError:
        pass
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("gb18030")()
    garble = _Garble()
    lines, control = 0, False
    try:
        while block := handle.read(_DECODE_BLOCK):
            text = decoder.decode(block)
            garble.feed(text, lines + 1)
            lines += text.count("\n")
            control = control or _CONTROL_BYTES.search(block) is not None
        garble.feed(decoder.decode(b"", final=True), lines + 1)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            _("“%(file)s” is neither UTF-8 nor GBK text. %(advice)s") % {"file": name, "advice": _SAVE_AS_UTF8}
        ) from exc
    if found := garble.garbled():
        line, text = found
        raise FileProblem(
            _(
                "“%(file)s” does not read as UTF-8 or GBK text: line %(line)d reads “%(text)s”, characters a DMS "
                "export does not hold. It was probably saved in another encoding (Shift-JIS, Big5, Latin-1…). "
                "%(advice)s"
            )
            % {"file": name, "line": line, "text": quote(text), "advice": _SAVE_AS_UTF8},
            row=line,
            value=text,
        )
    return _Scan("gb18030", lines, blank_lines=True, control_chars=control)  # blank lines: read by pandas


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
    blank_lines: bool = True  # CSV: whether a line may be blank (then pandas reads it, keeping row numbers)
    control_chars: bool = True  # whether a cell may hold a control character (NUL, …): then the cells are checked
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
                scan = _detect_encoding(handle, dms_file.name)
                dms_file.encoding, dms_file.blank_lines = scan.encoding, scan.blank_lines
                dms_file.control_chars = scan.control_chars
                dms_file.approx_rows = max(scan.lines - 1, 0)
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
            done = 0
            source = self._arrow_source(handle)
            if source is not None:
                done = yield from self._arrow_chunks(source, rows, rename)
                if done is None:
                    return
                handle.seek(0)  # an irregular row: pandas reads on from the first row not yet given
            yield from self._pandas_chunks(handle, rows, rename, skip=done)
        finally:
            if owned:
                handle.close()

    def _pandas_chunks(self, handle, rows: int, rename: dict[str, str], *, skip: int = 0):
        """Chunks as pandas reads them, leaving out the first ``skip`` rows (given already)."""
        reader = pd.read_csv(handle, **self._csv_options(chunksize=rows, usecols=list(rename)))
        start = 0  # the chunk's first row, counted from 0 after the header
        try:
            for chunk in reader:
                end = start + len(chunk)
                if end > skip:
                    offset = max(skip - start, 0)
                    yield start + offset + 2, chunk.iloc[offset:].rename(columns=rename).reset_index(drop=True)
                start = end
        except pd.errors.ParserError as exc:
            raise FileProblem(_("The file is not a readable CSV file: %(error)s") % {"error": exc}) from exc

    def _arrow_reads(self) -> bool:
        """pyarrow reads UTF-8 without blank lines (it would drop them, shifting row numbers) and without
        repeated header names (pandas renames the second one)."""
        return self.encoding == "utf-8-sig" and not self.blank_lines and len(set(self.header)) == len(self.header)

    def _arrow_source(self, handle):
        """What pyarrow reads the file from itself (a path, or the bytes of an upload kept in memory), or None.

        Never a Python file object: a pyarrow reader left open on one can crash the interpreter at exit.
        """
        if not self._arrow_reads():
            return None
        if isinstance(self.source, str | os.PathLike):
            return os.fspath(self.source)
        if hasattr(self.source, "temporary_file_path"):
            return self.source.temporary_file_path()
        if isinstance(handle, io.BytesIO):
            return pa.BufferReader(handle.getvalue())
        return None

    def _arrow_chunks(self, source, rows: int, rename: dict[str, str]):
        """Chunks as pyarrow reads them; returns None at the end of the file, or the number of rows given so far
        when a row has fewer or more cells than the header (pyarrow would drop it; pandas fills a short row
        with blanks and refuses a long one, with its line number)."""
        irregular = False

        def on_irregular_row(_row) -> str:
            nonlocal irregular
            irregular = True
            return "skip"

        given, pending, held = 0, [], 0
        try:
            reader = pa_csv.open_csv(
                source,
                read_options=pa_csv.ReadOptions(block_size=_ARROW_BLOCK, encoding="utf8", use_threads=False),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_irregular_row),
                convert_options=pa_csv.ConvertOptions(
                    include_columns=list(rename),
                    column_types=dict.fromkeys(rename, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            for batch in reader:
                if irregular:
                    return given
                pending.append(batch)
                held += batch.num_rows
                while held >= rows:
                    table = pa.Table.from_batches(pending)
                    chunk, rest = table.slice(0, rows), table.slice(rows)
                    yield given + 2, self._arrow_frame(chunk, rename)
                    given += chunk.num_rows
                    pending, held = rest.to_batches(), rest.num_rows
        except pa.ArrowInvalid:
            # A row longer than pyarrow's block (a cell of megabytes): pandas reads on from the rows not given.
            return given
        if irregular:
            return given
        if held:
            yield given + 2, self._arrow_frame(pa.Table.from_batches(pending), rename)
        return None

    @staticmethod
    def _arrow_frame(table: "pa.Table", rename: dict[str, str]) -> pd.DataFrame:
        frame = table.to_pandas(types_mapper={pa.string(): _TEXT}.get)
        return frame[list(rename)].rename(columns=rename)

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
