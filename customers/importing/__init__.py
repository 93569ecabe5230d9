"""The DMS import (SPEC "Importing from the DMS"): customers, vehicles and repair orders from CSV or Excel.

``run_import(dealership=…, files={"customers": …, "vehicles": …, "visits": …}, skip_invalid=…, dry_run=…,
acting_user=…, source="command"|"page"|"api", run=…, bulk=…)`` returns an ``ImportResult``; a page or API
upload goes through ``jobs.import_start`` (a queued ``ImportRun`` and a Celery task). The modules:

* ``schema``   the columns of each file, their Chinese headers and the spellings DMS exports use;
* ``reader``   files (UTF-8 / GBK CSV, Excel) to DataFrames of text, in chunks;
* ``validate`` vectorised checks and conversions of a chunk;
* ``writer``   staging tables and the set-based upserts;
* ``runner``   the whole import in one transaction, and its ``ImportRun`` audit record;
* ``jobs``     imports as background jobs (queue, claim, run as the uploader, keep the rejects);
* ``progress`` rows read / checked / written, visible while the import's transaction is open;
* ``report``   what an import reports, and the one place a value is shortened for a message.
"""

from .report import FileReport, ImportResult, RowError
from .runner import run_import

__all__ = ["FileReport", "ImportResult", "RowError", "run_import"]
