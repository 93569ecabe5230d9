"""The zh-hans catalogue is complete: every source string has a translation, none fuzzy."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unquote(text: str) -> str:
    return ast.literal_eval(text.strip())


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file (blocks separated by blank lines), without the header."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry, field = {"fuzzy": False, "msgctxt": None, "msgid": None, "msgstr": []}, None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["fuzzy"] = "fuzzy" in line
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if field == "msgstr":
                    entry["msgstr"][-1] += _unquote(line)
                elif field:
                    entry[field] += _unquote(line)
            else:
                keyword, _, rest = line.partition(" ")
                field = "msgstr" if keyword.startswith("msgstr") else keyword
                if field == "msgstr":
                    entry["msgstr"].append(_unquote(rest))
                else:
                    entry[field] = _unquote(rest)
        if entry["msgid"]:
            entries.append(entry)
    return entries


def _key(entry):
    return (entry.get("msgctxt"), entry["msgid"])


def test_every_string_in_the_catalogue_is_translated():
    assert PO.exists(), "locale/zh_Hans/LC_MESSAGES/django.po is missing: run `make messages`"
    entries = parse_po(PO)
    assert len(entries) > 100
    untranslated = [e["msgid"] for e in entries if not e["msgstr"] or any(not s for s in e["msgstr"])]
    fuzzy = [e["msgid"] for e in entries if e["fuzzy"]]
    assert untranslated == [], f"untranslated: {untranslated[:20]}"
    assert fuzzy == [], f"fuzzy: {fuzzy[:20]}"


def test_catalogue_covers_every_string_in_the_source(tmp_path):
    """makemessages over a copy of the source adds no msgid that the committed catalogue lacks."""
    if not shutil.which("xgettext"):
        if IN_CI:
            pytest.fail("CI=true and xgettext is missing: apt-get install gettext")
        pytest.skip("needs GNU gettext: apt-get install gettext")
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "staticfiles",
            "media",
            "node_modules",
            "*.pyc",
            "*.sqlite3",
            ".pytest_cache",
            ".ruff_cache",
            "test-artifacts",
            "out",
            "vendor",
        ),
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "dealercrm.settings.local"
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--ignore=bench", "--verbosity=0"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = {_key(e) for e in parse_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")}
    committed = {_key(e) for e in parse_po(PO)}
    missing = sorted(m for _, m in fresh - committed)
    assert missing == [], f"strings missing from the catalogue (run `make messages`): {missing[:20]}"


TRANSLATING = {"gettext", "gettext_lazy", "_", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy"}
TRANSLATING |= {"npgettext", "npgettext_lazy"}
APP_FOLDERS = ("dealercrm", "customers", "segmentation", "campaigns", "followups", "reports")


def _untranslatable_calls(path: Path) -> list[str]:
    """Calls of a translation function whose text or context is not a literal: makemessages cannot read them, so
    they are never in the catalogue and show in English whatever the language."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in TRANSLATING:
            continue
        literal_args = 2 if name.startswith(("pgettext", "npgettext")) else 1
        if name.startswith("ngettext"):
            literal_args = 2
        if not all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args[:literal_args]):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(…)")
    return found


def test_every_translated_text_and_context_is_a_literal():
    files = [path for folder in APP_FOLDERS for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts]
    assert [call for path in files for call in _untranslatable_calls(path)] == []


def test_the_literal_check_sees_a_context_in_a_variable(tmp_path):
    # negative control: the mistake that once hid a report's column names from the catalogue
    module = tmp_path / "late.py"
    module.write_text('CTX = "report"\nlabel = pgettext(CTX, "Invited")\nok = pgettext("report", "Invited")\n')
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert _untranslatable_calls(module) == ["late.py:2 pgettext(…)"]
    finally:
        ROOT = saved
