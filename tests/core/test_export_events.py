"""Every export of personal data leaves exactly one access event; a download of figures, none.

Generated from the URL configuration and the access test's dataset (``tests.core.test_access``): every URL that
answers GET with a file (``Content-Disposition: attachment``), and every URL the export registry
(``dealercrm.core.exports.PERSONAL`` / ``FIGURES``) names, is asked by each role of the dealership and of
another dealership. A download must be in the registry; one of ``PERSONAL`` that answers writes exactly one
access event per request (a page: when it answers with a file; the API: whenever it answers), one of
``FIGURES`` none; a refused request (403, 404) none, and an answer that is no export none.
"""

import pytest
from django.db import transaction
from django.db.models import Max

from dealercrm.core import exports
from dealercrm.core.models import AccessEvent
from tests.core.test_access import QUERIES, ROUTES, build_path, world  # noqa: F401 (world: the dataset fixture)

GETS = [route for route in ROUTES if "get" in route.methods() and not route.admin]


def is_download(response) -> bool:
    disposition = response.get("Content-Disposition", "")
    return disposition.startswith("attachment") or (
        getattr(response, "streaming", False) and bool(getattr(response, "as_attachment", False))
    )


def ask(client, path):
    """One GET, its writes undone; with the access events it wrote."""
    with transaction.atomic():
        last = AccessEvent.objects.aggregate(last=Max("id"))["last"] or 0
        response = client.get(path)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        events = list(AccessEvent.objects.filter(id__gt=last))
        transaction.set_rollback(True)
    return response, events


def _case_id(route) -> str:
    return f"GET /{route.text}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", GETS, ids=[_case_id(route) for route in GETS])
def test_each_download_of_personal_data_leaves_one_access_event(route, world):  # noqa: F811
    data = world["data"]
    path = build_path(route, data)
    if route.name in QUERIES:
        path += "?" + QUERIES[route.name](data)

    found, downloads = [], 0
    users = [(f"{role}", pair) for role, pair in world["members"].items()]
    users += [(f"{role} of another dealership", pair) for role, pair in world["outsiders"].items()]
    for who, (_user, client) in users:
        response, events = ask(client, path)
        count = len(events)
        download = is_download(response)
        downloads += download
        if download and route.name not in exports.PERSONAL and route.name not in exports.FIGURES:
            found.append(
                f"{who}: a download ({response.status_code}) in neither dealercrm.core.exports.PERSONAL nor FIGURES "
                f"({route.name or 'unnamed'}): say whether it holds personal data"
            )
            continue
        # a page of PERSONAL is an export when it answers with a file (the import page's ?download=); the API's
        # read of PERSONAL is one whenever it answers
        exported = download or (route.api and route.name in exports.PERSONAL)
        if response.status_code >= 400 or not exported:
            if count:
                found.append(f"{who}: {response.status_code} wrote {count} access events, expected none")
            continue
        expected = 1 if route.name in exports.PERSONAL else 0
        if count != expected:
            found.append(f"{who}: {response.status_code} wrote {count} access events, expected {expected}")
        elif expected:
            (event,) = events
            if event.user_id != _user.pk or not event.what:
                found.append(f"{who}: the event names {event.user_id} / {event.what!r}")

    assert not found, f"GET {path}:\n" + "\n".join(found)


def test_the_registry_names_urls_that_exist_and_says_each_once():
    names = {route.name for route in ROUTES}
    assert set(exports.PERSONAL) <= names and set(exports.FIGURES) <= names
    assert not set(exports.PERSONAL) & set(exports.FIGURES)


def test_the_check_sees_a_download_by_its_header():
    import io

    from django.http import FileResponse, HttpResponse

    attached = HttpResponse("a,b")
    attached["Content-Disposition"] = 'attachment; filename="x.csv"'
    assert is_download(attached)
    assert is_download(FileResponse(io.BytesIO(b"x"), as_attachment=True, filename="x.csv"))
    assert not is_download(HttpResponse("<html>"))


# --- the DMS import's rejected rows: masked phones, one event per download ---------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
def test_the_rejected_rows_download_masks_phones_and_leaves_one_event(
    client_for, as_manager, agent, media, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from tests.customers.dms_files import CUSTOMER_HEADER, csv_bytes, customer_row

    url = reverse("customers:import")
    client = client_for(as_manager)
    rows = [customer_row(1), customer_row(2, birthday="not a day"), customer_row(3, name="")]
    upload = SimpleUploadedFile("customers.csv", csv_bytes(CUSTOMER_HEADER, rows), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"customers": upload})
    token = client.get(response.url).context["upload"].token
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"token": token, "skip_invalid": "1"})
    assert not AccessEvent.objects.exists()

    download = client.get(url, {"download": token, "file": "customers"})

    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert download.status_code == 200 and "C00002" in text and "C00003" in text
    assert "13900000002" not in text and "139****0002" in text and "139****0003" in text
    event = AccessEvent.objects.get()
    assert (event.kind, event.user, event.customers) == ("export", as_manager, 2)
    assert "rejected" in event.what and event.details["file"] == "customers"

    # a refused download (a role without the import, or no such file) leaves none
    refused = Client(raise_request_exception=False)
    refused.force_login(agent)
    assert refused.get(url, {"download": token, "file": "customers"}).status_code == 403
    assert client.get(url, {"download": token, "file": "visits"}).status_code == 404
    assert AccessEvent.objects.count() == 1
