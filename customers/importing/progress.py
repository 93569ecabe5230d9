"""An import's progress counters (rows read, checked, written), visible while its transaction is still open.

The import writes inside one transaction, which nobody else sees until it commits; the counters are written to
the ``ImportRun`` by a worker thread on a database connection of its own (autocommit), at most once a second,
so that the page and the API show them as the import goes. A failure to write them never stops the import.
On SQLite (the demo) the counters are written only at the end: a second connection would wait for the
import's write lock.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0


def _write(run_id: int, values: dict) -> None:
    from customers.models import ImportRun

    try:
        ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.RUNNING).update(**values)
    except DatabaseError:
        logger.warning("import #%s: progress not recorded", run_id, exc_info=True)


class Progress:
    """Counts rows as the import reads, checks and writes them; ``close()`` when the import is over."""

    def __init__(self, run_id: int | None, *, live: bool | None = None):
        self.run_id = run_id
        self.read = self.checked = self.written = 0
        if live is None:
            live = connections[DEFAULT_DB_ALIAS].vendor == "postgresql"
        self.live = bool(live and run_id)
        self._pool: ThreadPoolExecutor | None = None
        self._sent = 0.0

    def values(self) -> dict[str, int]:
        return {"rows_read": self.read, "rows_checked": self.checked, "rows_written": self.written}

    def announce(self, files: dict) -> None:
        """The files as opened, with the rows each is expected to hold (``rows_expected``), shown at once."""
        if self.live:
            self._submit({"files": files})

    def add(self, *, read: int = 0, checked: int = 0, written: int = 0) -> None:
        self.read += read
        self.checked += checked
        self.written += written
        if self.live and time.monotonic() - self._sent >= INTERVAL_SECONDS:
            self._send()

    def _send(self) -> None:
        self._sent = time.monotonic()
        self._submit(self.values())

    def _submit(self, values: dict) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dms-progress")
        self._pool.submit(_write, self.run_id, values)

    def close(self) -> None:
        """Wait for the last counters sent and close the thread's connection."""
        if self._pool is None:
            return
        self._pool.submit(connections.close_all)
        self._pool.shutdown(wait=True)
        self._pool = None
