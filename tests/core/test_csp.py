"""Defect 7: a Content-Security-Policy (django-csp), sent under production settings and in every other.

No page carries an inline script or a <style> element, so the policy can refuse both; htmx is told not to
inject its indicator styles; Swagger UI loads its start-up script from a URL.
"""

import json
import re

import pytest
from django.urls import reverse

from tests.core.test_settings import production_env, run_python

pytestmark = pytest.mark.django_db

REQUIRED = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}

PRINT_HEADER = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
# No collectstatic here: plain static storage instead of the manifest's (nothing else is changed).
storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=storages):
    response = Client().get("/accounts/login/", secure=True, headers={"host": "crm.example.com"})
print(json.dumps({"status": response.status_code, "csp": response.get("Content-Security-Policy"),
                  "report_only": response.get("Content-Security-Policy-Report-Only")}))
"""


def directives(header: str) -> dict[str, set[str]]:
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = set(words[1:])
    return parsed


def test_production_settings_send_the_policy():
    # given the production settings as deployed
    result = run_python(PRINT_HEADER, "dealercrm.settings.production", **production_env())
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # then the login page is sent with an enforced policy (not report-only) holding the required directives
    assert answer["status"] == 200
    assert answer["csp"], "no Content-Security-Policy header"
    policy = directives(answer["csp"])
    for name, values in REQUIRED.items():
        assert policy.get(name) == values, (name, policy.get(name))
    assert "'unsafe-inline'" not in policy.get("script-src", set()) | policy.get("style-src", set())
    assert "'unsafe-eval'" not in answer["csp"]


def test_the_test_settings_enforce_it_too(client, advisor):
    client.force_login(advisor)
    response = client.get(reverse("customers:counter"))
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == {"'self'"} and policy["object-src"] == {"'none'"}


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def assert_policy_safe(html: str, url: str):
    assert not INLINE_SCRIPT.search(html), f"inline <script> on {url}"
    assert not STYLE_ELEMENT.search(html), f"<style> element on {url}"
    assert not EVENT_HANDLER.search(html), f"inline event handler on {url}"


def test_the_pages_have_no_inline_script_or_style(client, admin_user, advisor):
    client.force_login(admin_user)
    urls = [
        reverse("customers:counter"),
        reverse("staff:users"),
        reverse("staff:tokens"),
        reverse("staff:token-create"),
        reverse("staff:dealership"),
        reverse("staff:audit"),
        reverse("staff:user-edit", args=[advisor.pk]),
        reverse("api-docs"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policy_safe(response.content.decode(), url)
    client.logout()
    login = client.get(reverse("login")).content.decode()
    assert_policy_safe(login, "login")
    # htmx is told not to inject its indicator <style>
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in login


def test_swagger_ui_loads_its_start_up_script_from_a_url(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("api-docs")).content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    start_up = [src for src in sources if "script" in src and "swagger-ui" not in src]
    assert start_up, sources
    script = client.get(start_up[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
