"""The one error contract of the REST API: every 4xx body is {"code", "message", "fields"}.

Clients match on ``code`` (stable), show ``message`` (in the request's language) and put ``fields`` beside
the fields. Each status the API answers is checked here through a real endpoint.
"""

import json

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from customers.api.views import CustomerViewSet
from customers.models import Customer
from dealercrm.core.api import error_body, exception_handler
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.roles import Role
from tests.factories import UserFactory, make_vin

pytestmark = pytest.mark.django_db

CONTRACT = {"code", "message", "fields"}


def refusal(response, status):
    """The body of ``response``, which must be a JSON refusal in the contract with ``status``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body.keys() >= CONTRACT, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert all(isinstance(texts, list) and all(isinstance(t, str) for t in texts) for texts in body["fields"].values())
    return body


# --- 400 ----------------------------------------------------------------------------------------------------


def test_a_refused_field_is_named_in_fields_and_nothing_is_saved(advisor, api_client_for):
    response = api_client_for(advisor).post(
        reverse("api-customer-list"), {"customer_no": "C9", "name": "张三", "phone": "12345"}, format="json"
    )
    body = refusal(response, 400)
    assert body.keys() == CONTRACT
    assert (body["code"], list(body["fields"])) == ("invalid", ["phone"])
    assert "phone" in body["message"]
    assert not Customer.objects.exists()


def test_a_missing_field_answers_its_own_stable_code(advisor, api_client_for):
    response = api_client_for(advisor).post(reverse("api-customer-list"), {"name": "张三"}, format="json")
    body = refusal(response, 400)
    assert body["code"] == "required"
    assert {"customer_no", "phone"} <= body["fields"].keys()


def test_a_nested_field_is_named_by_its_dotted_path(as_manager, api_client_for, dealership):
    rules = {"brand_schedules": {"别克": {"interval_days": "often"}}}
    response = api_client_for(as_manager).post(reverse("api-segmentation-rule-list"), rules, format="json")
    body = refusal(response, 400)
    assert list(body["fields"]) == ["brand_schedules.别克.interval_days"]


def test_an_error_about_the_whole_request_is_the_message(as_manager, api_client_for, records):
    body = {"template": records["template"].pk}  # neither a customer nor a target group
    response = api_client_for(as_manager).post(reverse("api-campaign-coupon-issue"), body, format="json")
    body = refusal(response, 400)
    assert (body["code"], body["message"], body["fields"]) == (
        "invalid",
        "Give either a customer or a target group.",
        {},
    )


def test_a_service_refusal_carries_its_code_and_its_extra_keys(as_manager, api_client_for, records):
    campaign = records["campaign"]
    api = api_client_for(as_manager)
    api.patch(reverse("api-campaign-detail", args=[campaign.pk]), {"description": "全市最好的保养"}, format="json")
    response = api.post(reverse("api-campaign-schedule", args=[campaign.pk]), {}, format="json")
    body = refusal(response, 400)
    assert body["code"] == "banned_expressions"
    assert [finding["phrase"] for finding in body["findings"]] == ["最好"]


def test_malformed_json_is_a_parse_error(advisor, api_client_for):
    response = api_client_for(advisor).post(
        reverse("api-customer-list"), data='{"name": "张三",', content_type="application/json"
    )
    body = refusal(response, 400)
    assert (body["code"], body["fields"]) == ("parse_error", {})
    assert "JSON" in body["message"]


def test_a_user_of_several_dealerships_must_name_one(dealership, other_dealership, api_client_for):
    chain = UserFactory(username="chain", role=Role.AS_MANAGER, dealerships=[dealership, other_dealership])
    body = refusal(api_client_for(chain).get(reverse("api-customer-list")), 400)
    assert body["code"] == "dealership_required"
    assert "X-Dealership" in body["message"]


# --- 401, 403 -----------------------------------------------------------------------------------------------


def test_no_credentials_is_401_not_authenticated_with_the_scheme_to_use(dealership):
    response = APIClient().get(reverse("api-customer-list"))
    assert refusal(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"]


def test_a_bad_token_is_401_authentication_failed(dealership):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get(reverse("api-customer-list"))
    assert refusal(response, 401)["code"] == "authentication_failed"


def test_a_role_the_role_table_refuses_is_403_permission_denied(agent, api_client_for):
    response = api_client_for(agent).post(reverse("api-customer-list"), {"name": "张三"}, format="json")
    assert refusal(response, 403)["code"] == "permission_denied"


# --- 404, 405, 406, 409, 415, 429 ---------------------------------------------------------------------------


def test_a_record_of_another_dealership_is_404_not_found(outsider, api_client_for, records):
    url = reverse("api-customer-detail", args=[records["customers"][0].pk])
    assert refusal(api_client_for(outsider).get(url), 404)["code"] == "not_found"


def test_a_dealership_not_among_yours_is_404_not_found(advisor, other_dealership, api_client_for):
    response = api_client_for(advisor).get(reverse("api-customer-list"), {"dealership": other_dealership.code})
    assert refusal(response, 404)["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/customers/abc/", "/api/nothing"])
def test_an_api_path_no_view_answers_is_404_in_the_contract(path, advisor, api_client_for):
    assert refusal(api_client_for(advisor).get(path), 404)["code"] == "not_found"


@pytest.mark.parametrize("name", ["api-staff-user-detail", "api-customer-detail", "api-campaign-detail"])
def test_an_id_that_is_not_a_number_is_404_not_a_server_error(name, admin_user, api_client_for):
    url = reverse(name, args=[1]).replace("/1/", "/%60%C3%AD/")  # schemathesis sent "`í"
    assert refusal(api_client_for(admin_user).get(url), 404)["code"] == "not_found"


def test_a_page_path_no_view_answers_stays_a_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_api_does_not_offer_is_405(as_manager, api_client_for, records):
    url = reverse("api-customer-detail", args=[records["customers"][0].pk])
    assert refusal(api_client_for(as_manager).delete(url), 405)["code"] == "method_not_allowed"
    assert Customer.objects.filter(pk=records["customers"][0].pk).exists()


def test_a_format_the_api_cannot_answer_is_406(advisor, api_client_for):
    response = api_client_for(advisor).get(reverse("api-customer-list"), HTTP_ACCEPT="application/xml")
    assert refusal(response, 406)["code"] == "not_acceptable"


def test_a_body_of_an_unaccepted_media_type_is_415(advisor, api_client_for):
    response = api_client_for(advisor).post(reverse("api-customer-list"), data="name=张三", content_type="text/plain")
    assert refusal(response, 415)["code"] == "unsupported_media_type"
    assert not Customer.objects.exists()


def test_a_record_in_a_state_that_forbids_the_change_is_409(advisor, api_client_for, records):
    coupon, visit = records["coupons"][0], records["visits"][0]
    api = api_client_for(advisor)
    url = reverse("api-campaign-coupon-redeem", args=[coupon.pk])
    assert api.post(url, {"visit": visit.pk}, format="json").status_code == 200
    body = refusal(api.post(url, {"visit": visit.pk}, format="json"), 409)
    assert body["code"] not in {"invalid", "state_conflict"}  # the service's (or the view's) precise code
    assert coupon.code in body["message"]


def test_too_many_requests_is_429_with_retry_after(advisor, api_client_for, monkeypatch):
    class OnePerMinute(UserRateThrottle):
        rate = "1/minute"

    monkeypatch.setattr(CustomerViewSet, "throttle_classes", [OnePerMinute])
    api = api_client_for(advisor)
    assert api.get(reverse("api-customer-list")).status_code == 200
    response = api.get(reverse("api-customer-list"))
    assert refusal(response, 429)["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


# --- the language of the message ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "not_found", "not_allowed"),
    [("en", "Not found.", 'Method "DELETE" not allowed.'), ("zh-hans", "未找到。", "方法 “DELETE” 不被允许。")],
)
def test_the_message_is_in_the_request_language_and_the_code_is_not(
    language, not_found, not_allowed, advisor, api_client_for, records
):
    api = api_client_for(advisor)
    missing = api.get(reverse("api-customer-detail", args=[999_999]), HTTP_ACCEPT_LANGUAGE=language)
    url = reverse("api-customer-detail", args=[records["customers"][0].pk])
    delete = api.delete(url, HTTP_ACCEPT_LANGUAGE=language)
    assert (refusal(missing, 404)["code"], refusal(missing, 404)["message"]) == ("not_found", not_found)
    assert (refusal(delete, 405)["code"], refusal(delete, 405)["message"]) == ("method_not_allowed", not_allowed)


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "No customer with id {pk} in this dealership."), ("zh-hans", "本店没有 ID 为 {pk} 的客户。")],
)
def test_a_field_message_is_in_the_request_language(language, text, as_manager, outsider, api_client_for, records):
    stranger = records["customers"][0]  # a customer of SZ01, sent by GZ02's manager
    vehicle = {"vin": make_vin(4242), "owner": stranger.pk}
    response = api_client_for(outsider).post(
        reverse("api-vehicle-list"), vehicle, format="json", HTTP_ACCEPT_LANGUAGE=language
    )
    body = refusal(response, 400)
    assert body["fields"]["owner"] == [text.format(pk=stranger.pk)]


# --- the handler itself -------------------------------------------------------------------------------------


def test_a_state_conflict_keeps_its_status_code_fields_and_extra():
    exc = StateConflict("已结束。", code="campaign_finished", fields={"status": "finished"}, extra={"at": "2026-12-01"})
    response = exception_handler(exc, {})
    assert response.status_code == 409
    assert response.data == {
        "code": "campaign_finished",
        "message": "已结束。",
        "fields": {"status": ["finished"]},
        "at": "2026-12-01",
    }


def test_a_model_validation_error_maps_its_fields_and_its_whole_record_message():
    exc = DjangoValidationError(
        {
            "opened_on": [DjangoValidationError("A visit cannot open in the future.", code="future_date")],
            "__all__": ["The visit's vehicle is not the customer's."],
        }
    )
    response = exception_handler(exc, {})
    assert response.status_code == 400
    assert response.data == error_body(
        "future_date",
        "The visit's vehicle is not the customer's.",
        {"opened_on": ["A visit cannot open in the future."]},
    )


def test_an_application_error_is_400_with_its_code():
    response = exception_handler(ApplicationError("Nothing changed.", code="nothing_changed"), {})
    assert (response.status_code, response.data["code"], response.data["fields"]) == (400, "nothing_changed", {})


def test_a_bug_is_left_to_the_500_handler():
    assert exception_handler(ZeroDivisionError(), {}) is None
    assert exception_handler(exceptions.APIException(), {}).status_code == 500  # DRF's own 500: no details
