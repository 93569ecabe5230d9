"""Segmentation runs are set-based: no history row per customer, but the run names who started it — the user
of the page, the API or ``manage.py segment --user``, or nobody (the nightly job, the command run alone)."""

import pytest
from django.core.management import CommandError, call_command

from segmentation.models import SegmentationRun
from segmentation.tasks import segment_dealership_task
from tests.factories import CustomerFactory


def test_the_segment_command_names_the_user_it_is_run_for(dealership, as_manager):
    CustomerFactory(dealership=dealership)

    call_command("segment", "--dealership", dealership.code, "--user", as_manager.username, stdout=None)
    call_command("segment", "--dealership", dealership.code, "--force", stdout=None)

    assert list(SegmentationRun.objects.order_by("id").values_list("started_by", flat=True)) == [as_manager.pk, None]


def test_the_segment_command_refuses_an_unknown_user_before_running(dealership):
    with pytest.raises(CommandError, match="No user “nobody”"):
        call_command("segment", "--dealership", dealership.code, "--user", "nobody")
    assert not SegmentationRun.objects.exists()


def test_a_run_queued_by_a_user_names_them_and_the_nightly_one_nobody(dealership, as_manager):
    asked = segment_dealership_task.apply(args=[dealership.pk], kwargs={"user_id": as_manager.pk}).get()
    nightly = segment_dealership_task.apply(args=[dealership.pk], kwargs={"force": True}).get()

    runs = SegmentationRun.objects.in_bulk([asked, nightly])
    assert (runs[asked].started_by, runs[nightly].started_by) == (as_manager, None)
