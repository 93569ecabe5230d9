"""What the app imports is installed by ``requirements.txt`` alone (the demo and production install only it; the
tests install ``requirements-dev.txt`` too, which would hide a missing runtime package)."""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APP_FOLDERS = ("dealercrm", "customers", "segmentation", "campaigns", "followups", "reports")


def _imported_top_levels() -> set[str]:
    names = set()
    for folder in APP_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - set(APP_FOLDERS)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(text: str) -> tuple[str, set[str], str]:
    """``name[extra,…]; marker`` → (name, extras, marker)."""
    found = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\]]*)\])?[^;]*;?(.*)", text)
    name, extras, marker = found.group(1), found.group(2) or "", found.group(3) or ""
    return name, {_canonical(e) for e in extras.split(",") if e.strip()}, marker


def _installed_by_requirements(path: Path | None = None) -> set[str]:
    """The distributions requirements.txt names and everything they require, with their extras, recursively."""
    wanted = []
    for line in (path or ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, extras, _marker = _requirement(line)
            wanted.append((name, extras))
    seen = set()
    while wanted:
        name, extras = wanted.pop()
        name = _canonical(name)
        if (name, frozenset(extras)) in seen:
            continue
        seen.add((name, frozenset(extras)))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            required, its_extras, marker = _requirement(requirement)
            needs = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if needs and not {_canonical(n) for n in needs} & extras:
                continue
            wanted.append((required, its_extras))
    return {name for name, _extras in seen}


def _missing(installed: set[str]) -> dict:
    providers = metadata.packages_distributions()
    return {
        name: sorted(_canonical(d) for d in providers.get(name, [name]))
        for name in _imported_top_levels()
        if not any(_canonical(d) in installed for d in providers.get(name, [name]))
    }


def test_every_third_party_import_of_the_app_comes_with_requirements_txt():
    assert _missing(_installed_by_requirements()) == {}


def test_a_package_left_out_is_found(tmp_path):
    # negative control: without its line, requests (the SMS and WeChat channels' client) is missing
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    trimmed = tmp_path / "requirements.txt"
    trimmed.write_text("\n".join(line for line in lines if not line.startswith("requests")), encoding="utf-8")
    assert "requests" in _missing(_installed_by_requirements(trimmed))
