"""A dealership's administrator at work in the browser, under the Content-Security-Policy.

They create a user, issue an API token (its key shown once), look at the audit trail and open the API
docs (Swagger UI, whose start-up script comes from a URL); no page breaks the policy.
"""

import re

import pytest
from playwright.sync_api import expect

from dealercrm.core.models import ApiToken, User

pytestmark = pytest.mark.browser


@pytest.fixture
def violations(page):
    """Every CSP violation and console error of the page."""
    seen = []
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    page.on("console", lambda message: message.type == "error" and seen.append(message.text))
    page.on("pageerror", lambda error: seen.append(str(error)))
    return seen


def test_an_administrator_manages_users_and_tokens(page, log_in, screenshot, violations, admin_user, advisor):
    # given the administrator logged in
    page.goto("/accounts/login/")
    log_in("administrator")
    # when they open Administration from the menu
    page.get_by_test_id("nav-staff").click()
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_test_id("user-advisor")).to_be_visible()
    screenshot("users")

    # and create a user
    page.get_by_test_id("user-create").click()
    page.locator("#id_username").fill("dms-sync")
    page.locator("#id_display_name").fill("DMS 同步")
    page.locator("#id_role").select_option("advisor")
    page.locator("#id_password").fill("Kettle-Mango-7281")
    page.get_by_test_id("form-submit").click()
    expect(page.get_by_test_id("user-dms-sync")).to_be_visible()

    # and issue a token for it
    page.get_by_role("link", name="API tokens").click()
    page.get_by_test_id("token-create").click()
    created = User.objects.get(username="dms-sync")
    assert (created.role, created.is_staff, created.is_superuser) == ("advisor", False, False)
    page.locator("#id_user").select_option(str(created.pk))
    page.locator("#id_name").fill("DMS nightly")
    page.get_by_test_id("form-submit").click()
    key = page.get_by_test_id("token-key").input_value()
    token = ApiToken.objects.get(name="DMS nightly")
    assert key.startswith(token.token_key) and len(key) == 64
    screenshot("token-issued")

    # then the list shows the token without its key
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_test_id(f"token-{token.token_key}")).to_be_visible()
    assert key not in page.content()

    # and the audit trail tells who did it
    page.get_by_role("link", name="Audit trail").click()
    expect(page.locator("#audit-events")).to_contain_text("dms-sync")
    screenshot("audit")

    # and the API docs render (Swagger UI from the sidecar, its script from a URL)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    screenshot("api-docs")

    page.wait_for_load_state("networkidle")
    assert violations == []
