"""privacy.merge.customers_merge: everything moves, clashes follow their rule, refusals, the audit."""

from datetime import timedelta

import pytest

from campaigns.models import CallAttempt, Invitation
from customers.models import ConsentEvent, Customer
from customers.services import customers_flag_duplicate_phones
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import AccessEvent
from followups.models import Touch
from privacy import merge
from privacy.merge import RULES, customers_merge, merge_preview, relations
from segmentation.models import CustomerSegment, CustomerTag
from tests.factories import CustomerFactory

from .test_merge_helpers import (
    WHEN,
    campaign_for,
    everything,
    invite,
    segment,
    segmentation_run,
    tag_for,
    touch,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(dealership):
    survivor = CustomerFactory(dealership=dealership, name="张伟", phone="+8613800000001", city="")
    merged = CustomerFactory(dealership=dealership, name="张伟", phone="+8613800000001", city="广州")
    customers_flag_duplicate_phones(dealership=dealership)
    return survivor, merged


def test_every_relation_to_customer_has_a_rule():
    # given every relation another model has to Customer (a future model adds one)
    labels = {label for label, _model, _field in relations()}
    # then each is written down in RULES (moved, or with its clash rule), and RULES names no relation that is gone
    assert labels - set(RULES) == set(), "add a Rule to privacy.merge.RULES for each new relation to Customer"
    assert set(RULES) - labels == set()


def test_a_merge_moves_every_relation(pair, as_manager):
    # given both customers with a row in every relation to Customer
    # (the merged one's segment result ends where the survivor's begins: no clash, see the segment test)
    survivor, merged = pair
    first, second = segmentation_run(survivor.dealership), segmentation_run(survivor.dealership)
    ours = everything(survivor, run=second)
    theirs = everything(merged, run=first, segment_until=second)
    assert set(theirs) == set(RULES)  # the builder covers every relation, so a new one is caught below too
    # when the merged one is merged into the survivor
    result = customers_merge(survivor=survivor, merged=merged, acting_user=as_manager)
    # then every row of both now points at the survivor, and the merged row is gone
    assert result.pk == survivor.pk
    for label, row in [*theirs.items(), *ours.items()]:
        _model_label, field = label.rsplit(".", 1)
        fresh = type(row)._base_manager.get(pk=row.pk)
        assert getattr(fresh, f"{field}_id") == survivor.pk, label
    assert not Customer.objects.filter(pk=merged.pk).exists()


def test_the_merge_is_audited_once_with_what_moved(pair, as_manager):
    # given a merged customer with a row in every relation
    survivor, merged = pair
    everything(merged)
    merged_id, merged_no = merged.pk, merged.customer_no
    before = AccessEvent.objects.count()
    # when merged
    customers_merge(survivor=survivor, merged=merged, acting_user=as_manager)
    # then exactly one merge event names the survivor, the merged customer and one row per relation moved
    assert AccessEvent.objects.count() == before + 1
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.MERGE)
    assert (
        event.user == as_manager and event.customer_id == survivor.pk and event.dealership_id == survivor.dealership_id
    )
    assert event.details["merged"] == {"id": merged_id, "customer_no": merged_no}
    assert event.details["moved"] == dict.fromkeys(RULES, 1)
    # and the survivor's change is in its history, by the acting user
    last = survivor.history.order_by("-history_id").first()
    assert last.history_user == as_manager and last.city == "广州"


def test_the_preview_counts_what_will_move(pair):
    survivor, merged = pair
    everything(merged)
    counts = {label: n for label, _what, n in merge_preview(merged=merged)}
    assert counts == dict.fromkeys(RULES, 1)
    assert {label: n for label, _what, n in merge_preview(merged=survivor)} == dict.fromkeys(RULES, 0)


def test_empty_fields_are_filled_and_points_added(dealership):
    survivor = CustomerFactory(dealership=dealership, city="", email="", birthday=None, points=10, notes="老客户")
    merged = CustomerFactory(
        dealership=dealership, city="广州", email="a@example.com", birthday="1980-02-03", points=5, notes="别的"
    )
    customers_merge(survivor=survivor, merged=merged)
    survivor.refresh_from_db()
    assert (survivor.city, survivor.email, str(survivor.birthday)) == ("广州", "a@example.com", "1980-02-03")
    assert survivor.notes == "老客户"  # not empty: kept
    assert survivor.points == 15


@pytest.mark.parametrize("newer", ["survivor", "merged"])
def test_consent_follows_the_newest_event(dealership, newer):
    from customers.services import consent_record

    survivor = CustomerFactory(dealership=dealership, marketing_consent=False)
    merged = CustomerFactory(dealership=dealership, marketing_consent=False)
    older, newest = (merged, survivor) if newer == "survivor" else (survivor, merged)
    consent_record(customer=older, granted=True, channel="counter", occurred_at=WHEN)
    consent_record(customer=newest, granted=False, channel="phone", occurred_at=WHEN + timedelta(days=1))
    customers_merge(survivor=survivor, merged=merged)
    survivor.refresh_from_db()
    # the newest event (a withdrawal) decides, whichever customer it came from; both histories are kept
    assert survivor.marketing_consent is False
    assert survivor.consent_changed_at == WHEN + timedelta(days=1)
    assert ConsentEvent.objects.filter(customer=survivor).count() == 2


def test_the_duplicate_flags_are_refreshed(pair):
    survivor, merged = pair
    assert Customer.objects.get(pk=survivor.pk).flag_possible_duplicate
    customers_merge(survivor=survivor, merged=merged)
    assert Customer.objects.get(pk=survivor.pk).flag_possible_duplicate is False


def test_a_customer_is_not_merged_with_itself(pair):
    survivor, _merged = pair
    with pytest.raises(ApplicationError) as refused:
        customers_merge(survivor=survivor, merged=Customer.objects.get(pk=survivor.pk))
    assert refused.value.code == "merge_same_customer" and refused.value.status == 400
    assert Customer.objects.filter(pk=survivor.pk).exists()


def test_customers_of_two_dealerships_are_not_merged(dealership, other_dealership):
    survivor = CustomerFactory(dealership=dealership)
    merged = CustomerFactory(dealership=other_dealership)
    everything(merged)
    with pytest.raises(ApplicationError) as refused:
        customers_merge(survivor=survivor, merged=merged)
    assert refused.value.code == "merge_across_dealerships" and refused.value.status == 400
    assert Customer.objects.filter(pk=merged.pk).exists()
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.MERGE).exists()


@pytest.mark.parametrize("which", ["survivor", "merged"])
def test_an_erased_customer_is_not_merged(pair, which):
    survivor, merged = pair
    Customer.objects.filter(pk=(survivor if which == "survivor" else merged).pk).update(erased_at=WHEN)
    with pytest.raises(StateConflict) as refused:
        customers_merge(survivor=survivor, merged=merged)
    assert refused.value.code == "merge_erased_customer" and refused.value.status == 409
    assert Customer.objects.filter(pk=merged.pk).exists()


# --- clashes: one rule per unique constraint -------------------------------------------------------------------


def test_an_untouched_invitation_to_the_same_campaign_is_dropped(pair):
    survivor, merged = pair
    campaign, group = campaign_for(survivor.dealership)
    kept = invite(survivor, campaign, group, status=Invitation.Status.ACCEPTED, attempts=1)
    spare = invite(merged, campaign, group)
    customers_merge(survivor=survivor, merged=merged)
    assert list(Invitation.objects.filter(campaign=campaign).values_list("pk", "customer_id")) == [
        (kept.pk, survivor.pk)
    ]
    assert not Invitation.objects.filter(pk=spare.pk).exists()
    assert AccessEvent.objects.get().details["dropped"] == {"campaigns.Invitation.customer": 1}


def test_the_worked_invitation_of_the_merged_customer_wins_over_an_untouched_one(pair, agent):
    survivor, merged = pair
    campaign, group = campaign_for(survivor.dealership)
    untouched = invite(survivor, campaign, group)
    worked = invite(merged, campaign, group, status=Invitation.Status.CALL_BACK, attempts=1)
    CallAttempt.objects.create(invitation=worked, agent=agent, outcome="call_back", called_at=WHEN)
    customers_merge(survivor=survivor, merged=merged)
    assert not Invitation.objects.filter(pk=untouched.pk).exists()
    assert Invitation.objects.get(pk=worked.pk).customer_id == survivor.pk
    assert worked.attempts_made.count() == 1


def test_two_worked_invitations_to_the_same_campaign_refuse_the_merge(pair):
    survivor, merged = pair
    campaign, group = campaign_for(survivor.dealership)
    invite(survivor, campaign, group, status=Invitation.Status.ACCEPTED)
    invite(merged, campaign, group, status=Invitation.Status.DECLINED)
    with pytest.raises(StateConflict) as refused:
        customers_merge(survivor=survivor, merged=merged)
    assert refused.value.code == "merge_invitation_clash" and str(campaign) in refused.value.message
    assert Customer.objects.filter(pk=merged.pk).exists()
    assert Invitation.objects.filter(customer=merged).count() == 1  # nothing half done


def test_a_planned_birthday_touch_of_the_same_year_is_dropped(pair):
    survivor, merged = pair
    sent = touch(survivor, status=Touch.Status.SENT, sent_at=WHEN)
    planned = touch(merged)
    customers_merge(survivor=survivor, merged=merged)
    assert list(Touch.objects.filter(kind=Touch.Kind.BIRTHDAY).values_list("pk", flat=True)) == [sent.pk]
    assert not Touch.objects.filter(pk=planned.pk).exists()


def test_two_birthday_touches_carried_out_refuse_the_merge(pair):
    survivor, merged = pair
    touch(survivor, status=Touch.Status.SENT, sent_at=WHEN)
    touch(merged, status=Touch.Status.DONE, completed_at=WHEN)
    with pytest.raises(StateConflict) as refused:
        customers_merge(survivor=survivor, merged=merged)
    assert refused.value.code == "merge_touch_clash"


def test_the_same_tag_is_kept_once(pair):
    survivor, merged = pair
    vip, other = tag_for(survivor.dealership, "vip"), tag_for(survivor.dealership, "fleet")
    CustomerTag.objects.create(customer=survivor, tag=vip)
    CustomerTag.objects.create(customer=merged, tag=vip)
    CustomerTag.objects.create(customer=merged, tag=other)
    customers_merge(survivor=survivor, merged=merged)
    assert sorted(CustomerTag.objects.filter(customer=survivor).values_list("tag__code", flat=True)) == [
        "fleet",
        "vip",
    ]


def test_segment_results_of_runs_the_survivor_has_are_dropped_the_older_ones_move(pair):
    # given runs 1, 2, 3: the merged customer has results in run 1 (until 2) and from run 2 (current);
    # the survivor was first segmented in run 2 (current)
    survivor, merged = pair
    dealership = survivor.dealership
    run1, run2 = segmentation_run(dealership), segmentation_run(dealership)
    early = segment(merged, run1, valid_to=run2)
    current_theirs = segment(merged, run2)
    current_ours = segment(survivor, run2)
    # when merged
    customers_merge(survivor=survivor, merged=merged)
    # then the survivor keeps its current result, gains the merged one's run-1 result, and the clashing one goes
    rows = CustomerSegment.objects.filter(customer=survivor)
    assert sorted(rows.values_list("pk", flat=True)) == sorted([early.pk, current_ours.pk])
    assert not CustomerSegment.objects.filter(pk=current_theirs.pk).exists()


def test_a_relation_without_a_rule_is_still_moved(pair, monkeypatch):
    # given a relation whose rule was forgotten (removed from RULES)
    survivor, merged = pair
    rows = everything(merged)
    monkeypatch.delitem(merge.RULES, "followups.Complaint.customer")
    # when merged: it is moved all the same (the rule test above is what fails)
    customers_merge(survivor=survivor, merged=merged)
    complaint = rows["followups.Complaint.customer"]
    assert type(complaint).objects.get(pk=complaint.pk).customer_id == survivor.pk
