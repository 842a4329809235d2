"""A media worker's identity in placement and its admission of calls (issue 20)."""

from __future__ import annotations

import socket

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.placement import CallAdmission
from centralita.kernel.settings import Settings
from centralita.telephony.media_workers import MEDIA_WORKER_UNAVAILABLE
from workers.media_membership import MediaMembership, MembershipConfig, advertised_url

pytestmark = pytest.mark.unit


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_the_address_others_reach_is_the_hostname_when_bound_to_every_interface() -> None:
    assert advertised_url(settings(media_host="0.0.0.0", media_port=8100)) == (
        f"http://{socket.gethostname()}:8100"
    )
    assert advertised_url(settings(media_host="127.0.0.1", media_port=8111)) == (
        "http://127.0.0.1:8111"
    )
    assert (
        advertised_url(
            settings(media_host="0.0.0.0", media_advertised_url="http://media-3.lan:9000/")
        )
        == "http://media-3.lan:9000"
    )


def test_each_worker_gets_a_queue_of_its_own_and_a_restart_is_a_new_worker() -> None:
    first = MembershipConfig.from_settings(settings(media_task_queue_prefix="cm"), port=8123)
    second = MembershipConfig.from_settings(settings(media_task_queue_prefix="cm"), port=8123)
    assert first.worker_id != second.worker_id
    assert first.task_queue == f"cm-{first.worker_id}"
    assert first.address.endswith(":8123")
    named = MembershipConfig.from_settings(settings(media_worker_id="m7", media_max_calls=6))
    assert (named.worker_id, named.task_queue, named.max_calls) == ("m7", "centralita-media-m7", 6)


def test_admission_refuses_a_call_while_full_or_draining_and_frees_its_room() -> None:
    admission = CallAdmission(max_calls=1)
    with admission.admit(), pytest.raises(ApplicationError) as full, admission.admit():
        pass
    assert full.value.type == MEDIA_WORKER_UNAVAILABLE
    assert "1 of 1" in str(full.value)
    assert admission.active == 0
    with admission.admit():  # room again once the call ended
        assert admission.active == 1
    admission.draining = True
    with pytest.raises(ApplicationError, match="draining"), admission.admit():
        pass


def test_a_worker_whose_queue_is_not_polled_is_not_offered_calls() -> None:
    """Until its Temporal worker polls (start-up, Temporal lost), placement must skip it:
    a call placed there would wait on a queue nobody reads."""

    async def never_connects() -> Client:
        raise AssertionError("not called by this test")

    membership = MediaMembership(
        MembershipConfig.from_settings(settings(media_worker_id="m1")),
        pool=None,  # type: ignore[arg-type]  # the announcement reads no database
        connect=never_connects,
    )
    assert membership.announcement().draining
    membership.polling = True
    assert not membership.announcement().draining
    membership.admission.draining = True
    assert membership.announcement().draining
