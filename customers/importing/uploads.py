"""Uploaded DMS files, kept for the import task to read and between "check" and "import" on the import page.

Each upload gets a directory ``MEDIA_ROOT/imports/<uuid>/`` holding the files
and a ``manifest.json`` naming who uploaded them, for which dealership and with
which option. Only that user, in that dealership, can use the token from a page
(``load_upload``); anyone else gets "not found". The task finds the files by the
token its run names (``open_upload``). The uploaded files go after the import
(the rejects files stay, to be downloaded); directories older than a day are
swept at the next upload. ``MEDIA_ROOT`` must be shared by the web and the workers.
"""

import json
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.http import Http404

from .schema import KINDS

MAX_AGE_SECONDS = 24 * 3600
_SUFFIXES = {".csv", ".txt", ".xlsx"}


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


@dataclass
class KeptUpload:
    token: str
    directory: Path
    user_id: int
    dealership_id: int
    skip_invalid: bool
    names: dict[str, str] = field(default_factory=dict)  # kind -> original file name
    committed_run: int | None = None

    @property
    def files(self) -> dict[str, Path]:
        return {kind: self.directory / self._stored_name(kind) for kind in self.names}

    def _stored_name(self, kind: str) -> str:
        suffix = Path(self.names[kind]).suffix.lower()
        return f"{kind}{suffix if suffix in _SUFFIXES else '.csv'}"

    def save(self) -> None:
        manifest = {
            "user": self.user_id,
            "dealership": self.dealership_id,
            "skip_invalid": self.skip_invalid,
            "names": self.names,
            "committed_run": self.committed_run,
        }
        (self.directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    def rejects_path(self, kind: str) -> Path:
        return self.directory / f"rejects-{kind}.csv"

    def save_rejects(self, rejects: dict[str, bytes]) -> None:
        for kind, content in rejects.items():
            self.rejects_path(kind).write_bytes(content)

    def drop_sources(self) -> None:
        """After the import, the uploaded files go; the rejects files stay for download."""
        for path in self.files.values():
            path.unlink(missing_ok=True)


def keep_uploads(files: dict, *, user, dealership, skip_invalid: bool) -> KeptUpload:
    """Store the uploaded files (Django ``UploadedFile``s by kind) and return their token."""
    sweep()
    token = uuid.uuid4().hex
    directory = _root() / token
    directory.mkdir(parents=True)
    upload = KeptUpload(
        token=token,
        directory=directory,
        user_id=user.pk,
        dealership_id=dealership.pk,
        skip_invalid=skip_invalid,
        names={kind: Path(f.name).name for kind, f in files.items() if f},
    )
    for kind, path in upload.files.items():
        with path.open("wb") as out:
            for chunk in files[kind].chunks():
                out.write(chunk)
    upload.save()
    return upload


def load_upload(token: str, *, user, dealership) -> KeptUpload:
    """The upload behind ``token``, if it is this user's in this dealership; else 404."""
    upload = open_upload(token)
    if upload is None or upload.user_id != user.pk or upload.dealership_id != dealership.pk:
        raise Http404
    return upload


def open_upload(token: str) -> KeptUpload | None:
    """The upload behind ``token`` for the task that imports it (no user to check there); None if gone."""
    try:
        token = uuid.UUID(str(token)).hex
    except ValueError:
        return None
    directory = _root() / token
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return KeptUpload(
        token=token,
        directory=directory,
        user_id=manifest["user"],
        dealership_id=manifest["dealership"],
        skip_invalid=bool(manifest.get("skip_invalid")),
        names={kind: name for kind, name in manifest.get("names", {}).items() if kind in KINDS},
        committed_run=manifest.get("committed_run"),
    )


def sweep(max_age: int = MAX_AGE_SECONDS) -> None:
    """Remove upload directories older than ``max_age`` seconds."""
    root = _root()
    if not root.is_dir():
        return
    limit = time.time() - max_age
    for directory in root.iterdir():
        try:
            if directory.is_dir() and directory.stat().st_mtime < limit:
                shutil.rmtree(directory, ignore_errors=True)
        except OSError:
            continue
