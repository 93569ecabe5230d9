"""The figures and reports, one module per section; each registers its KPIs and reports when imported
(``ReportsConfig.ready``)."""

from importlib import import_module

SECTIONS = ("campaigns", "base", "workshop", "followups", "quality", "incentives")


def load() -> None:
    for name in SECTIONS:
        import_module(f"{__name__}.{name}")
