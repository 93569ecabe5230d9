# ruff: noqa: S608 - SQL here is built from our own table and column names; values are parameters.
"""Writing the repair-orders file (the big one) from its staging table.

Repair orders already on file are updated in one statement (only those that
change), the new ones inserted in another. From ``manage.py import_dms --bulk``
only, a large batch of new ones is bulk-loaded (see ``bulkload``): the table's
secondary indexes are rebuilt after the insert instead of being maintained row
by row. The history rows of what was written follow in one more statement.

The visit's mileage stays on the visit; the vehicle's odometer
(``Vehicle.mileage_km``) comes from the vehicles file. Neither a mileage reading
per repair order nor an odometer update is written here: on a million-row file
they cost a quarter of the import (measured), and the visits keep the figures.
"""

from customers.models import Customer, ServiceVisit, Vehicle
from dealercrm.core.models import Dealership, User

from .bulkload import BulkLoad, min_rows
from .schema import VISITS
from .writer import Staging, _table


def write_visits(stage: Staging) -> tuple[int, int]:
    """Upsert the staged repair orders: the DMS's dates and amounts win, a blank keeps the stored value.

    Returns (created, updated).
    """
    source, table = stage.name(VISITS), _table(ServiceVisit)
    vehicles, customers = _table(Vehicle), _table(Customer)
    joined = (
        f"{source} AS s JOIN {vehicles} AS v ON v.dealership_id = %(d)s AND v.vin = s.vin "
        f"LEFT JOIN {customers} AS c ON c.dealership_id = %(d)s AND c.customer_no = s.customer_no"
    )
    updated = stage._upsert(
        ServiceVisit,
        assignments={
            "vehicle_id": "v.id",
            "customer_id": "COALESCE(c.id, t.customer_id)",
            "opened_on": "s.opened_on",
            "closed_on": "COALESCE(s.closed_on, t.closed_on)",
            "mileage_km": "COALESCE(s.mileage_km, t.mileage_km)",
            "visit_type": "s.visit_type",
            "labor_amount": "COALESCE(s.labor_amount, t.labor_amount)",
            "parts_amount": "COALESCE(s.parts_amount, t.parts_amount)",
            "total_amount": "s.total_amount",
            "payer": "COALESCE(s.payer, t.payer)",
            "advisor_name": "COALESCE(s.advisor_name, t.advisor_name)",
            "advisor_id": "CASE WHEN s.advisor_name IS NULL THEN t.advisor_id ELSE s.advisor_id END",
            "campaign_code": "COALESCE(s.campaign_code, t.campaign_code)",
        },
        source=joined,
        where="t.dealership_id = %(d)s AND t.ro_number = s.ro_number",
    )
    bulk = BulkLoad(stage.db)
    if new_rows := _bulk_rows(stage, bulk, source, table):
        # The history table takes as many new rows: its indexes are rebuilt too, when that pays for it.
        history = _table(ServiceVisit.history.model)
        bulk.start([table, history] if bulk.worth_it(history, new_rows) else [table])
        _lock_references(stage, bulk, source)
    created = stage._insert(
        ServiceVisit,
        {
            "dealership_id": "%(d)s",
            "ro_number": "s.ro_number",
            "vehicle_id": "v.id",
            "customer_id": "COALESCE(c.id, v.owner_id)",
            "opened_on": "s.opened_on",
            "closed_on": "s.closed_on",
            "mileage_km": "s.mileage_km",
            "visit_type": "s.visit_type",
            "labor_amount": "COALESCE(s.labor_amount, %(default_labor)s)",
            "parts_amount": "COALESCE(s.parts_amount, %(default_parts)s)",
            "total_amount": "s.total_amount",
            "payer": "COALESCE(s.payer, %(default_payer)s)",
            "advisor_name": "COALESCE(s.advisor_name, '')",
            "advisor_id": "s.advisor_id",
            "campaign_code": "COALESCE(s.campaign_code, '')",
            "created_at": "%(now)s",
            "updated_at": "%(now)s",
        },
        f"""FROM {joined} WHERE NOT EXISTS (
            SELECT 1 FROM {table} AS t WHERE t.dealership_id = %(d)s AND t.ro_number = s.ro_number)""",
        {
            "default_labor": stage._default(ServiceVisit, "labor_amount"),
            "default_parts": stage._default(ServiceVisit, "parts_amount"),
            "default_payer": stage._default(ServiceVisit, "payer"),
        },
    )
    stage.write_history(ServiceVisit, VISITS)
    # Before the rebuild: PostgreSQL sizes parallel index builds by the tables' statistics.
    stage._grew(ServiceVisit, created)
    stage._grew(ServiceVisit.history.model, created)
    bulk.finish()
    return created, updated


def _bulk_rows(stage: Staging, bulk: BulkLoad, source: str, table: str) -> int:
    """How many new repair orders the bulk-load mode is to write, or 0 when it is not for this load (not asked
    for, not PostgreSQL, a dry run, or too few rows for rebuilding the indexes to pay)."""
    if not stage.bulk or not stage.postgres or stage.dry_run or stage.staged[VISITS] < min_rows():
        return 0
    ((new_rows,),) = stage._fetch(
        f"""SELECT COUNT(*) FROM {source} AS s WHERE NOT EXISTS (
            SELECT 1 FROM {table} AS t WHERE t.dealership_id = %(d)s AND t.ro_number = s.ro_number)"""
    )
    return new_rows if bulk.worth_it(table, new_rows) else 0


def _lock_references(stage: Staging, bulk: BulkLoad, source: str) -> None:
    """What the foreign-key triggers would lock, locked before the insert (see ``bulkload``).

    Customers and vehicles are held whole in SHARE mode (others may read them, not
    change them, until the import commits), or row by row if that cannot be had at once.
    """
    customers, vehicles = _table(Customer), _table(Vehicle)
    locked = "SELECT COUNT(*) FROM ({select} FOR KEY SHARE OF x) AS locked"
    rows = [
        f"SELECT x.id FROM {_table(Dealership)} x WHERE x.id = %(d)s",
        f"SELECT x.id FROM {_table(User)} x WHERE x.id IN (SELECT s.advisor_id FROM {source} s)",
    ]
    if not bulk.lock_tables([customers, vehicles]):
        rows += [
            f"""SELECT x.id FROM {vehicles} x WHERE x.dealership_id = %(d)s
                AND x.vin IN (SELECT s.vin FROM {source} s)""",
            f"""SELECT x.id FROM {customers} x WHERE x.dealership_id = %(d)s
                AND x.customer_no IN (SELECT s.customer_no FROM {source} s)""",
            f"""SELECT x.id FROM {customers} x WHERE x.id IN (
                SELECT v.owner_id FROM {vehicles} v JOIN {source} s ON v.dealership_id = %(d)s AND v.vin = s.vin)""",
        ]
    bulk.lock([(locked.format(select=select), stage.params) for select in rows])
