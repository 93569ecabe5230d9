"""Browser fixtures: Debian's Chromium driven by Playwright against Django's live server.

Nothing is downloaded: Playwright launches /usr/bin/chromium (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 in CI).
Every test here is marked ``browser``; the root conftest skips it (outside CI) before any fixture runs,
so a machine without Chromium never tries to launch one.

Screenshots of each step go to test-artifacts/browser/<test>/ (gitignored).
"""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import expect

CHROMIUM = "/usr/bin/chromium"
# No network on the machines: keep Chromium from calling home (updates, sync, field trials, QUIC probes).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 900}
# The auto-waiting expect() gives up after 10 s; a page of this app answers in well under a second,
# the margin is for a loaded CI machine.
EXPECT_TIMEOUT_MS = 10_000
PASSWORD = "pass-1234"  # tests.factories.UserFactory's
CALL_FAILED = pytest.StashKey[bool]()


def chromium_path() -> str:
    return CHROMIUM if os.path.exists(CHROMIUM) else (shutil.which("chromium") or CHROMIUM)


@pytest.fixture(scope="session")
def _django_allows_sync_calls_under_playwright():
    """Playwright's sync API keeps an asyncio loop running in the main thread for as long as it is started.

    Django then refuses ORM calls from that thread (SynchronousOnlyOperation), which the tests' factories and
    pytest-django's database flush make. Allow them exactly while Playwright runs.
    """
    patch = pytest.MonkeyPatch()
    patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    patch.undo()


@pytest.fixture(scope="session")
def playwright(_django_allows_sync_calls_under_playwright, playwright):
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    return playwright


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    """page.goto("/customers/") goes to Django's live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": VIEWPORT,
        "timezone_id": "Asia/Shanghai",
        "service_workers": "block",
    }


@pytest.fixture
def browser_locale():
    """The browser's language (its Accept-Language); a test parametrizes it to start in Chinese."""
    return "en-US"


@pytest.fixture
def context(new_context, browser_locale):
    return new_context(locale=browser_locale)


@pytest.fixture
def page(page, live_server):
    """A page of the live server; the test errors if the page sent anything to another host."""
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    server = urlsplit(live_server.url).netloc
    offsite = []
    page.on(
        "request",
        lambda request: (
            urlsplit(request.url).scheme in {"http", "https", "ws", "wss"}
            and urlsplit(request.url).netloc != server
            and offsite.append(request.url)
        ),
    )
    yield page
    assert offsite == [], f"the page sent requests off the machine: {offsite}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.stash[CALL_FAILED] = True
    return report


@pytest.fixture
def screenshot(page, request):
    """``screenshot("name")`` saves the whole page as test-artifacts/browser/<test>/<NN>-<name>.png.

    A test that fails leaves one more, ``NN-failed.png``, of the page as it was then.
    """
    name = request.node.name.removeprefix("test_").replace("[chromium]", "").replace("[chromium-", "-")
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "-", name).strip("-")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    taken = []

    def take(step: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=path, full_page=True)
        taken.append(path)
        return path

    yield take
    if request.node.stash.get(CALL_FAILED, False) and not page.is_closed():
        take("failed")


@pytest.fixture
def log_in(page):
    """``log_in("advisor")``: fill the login form (opening it if needed) and land on the counter."""

    def log_in_as(username: str, password: str = PASSWORD):
        if not page.locator("#login-form").is_visible():
            page.goto("/accounts/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(password)
        page.locator("#login-submit").click()
        expect(page).to_have_url(re.compile(r"/customers/$"))
        page.wait_for_load_state()  # the deferred scripts (htmx, Bootstrap) have run: the page reacts to input

    return log_in_as
