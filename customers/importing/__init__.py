"""The DMS import (SPEC "Importing from the DMS"): customers, vehicles and repair orders from CSV or Excel.

``run_import(dealership=…, files={"customers": …, "vehicles": …, "visits": …}, skip_invalid=…, dry_run=…,
acting_user=…, source="command"|"page"|"api")`` returns an ``ImportResult``. The modules:

* ``schema``   the columns of each file, their Chinese headers and the spellings DMS exports use;
* ``reader``   files (UTF-8 / GBK CSV, Excel) to DataFrames of text, in chunks;
* ``validate`` vectorised checks and conversions of a chunk;
* ``writer``   staging tables and the set-based upserts;
* ``runner``   the whole import in one transaction, and its ``ImportRun`` audit record.
"""

from .report import FileReport, ImportResult, RowError
from .runner import run_import

__all__ = ["FileReport", "ImportResult", "RowError", "run_import"]
