"""A SIP trunk's rules: final SIP answers as our outcomes, numbers as URIs, routes."""

from __future__ import annotations

import pytest

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.carrier.sip_trunk import SipTrunk, caller_id_for, outcome_for

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        (486, CallOutcome.BUSY, "dial_busy"),
        (600, CallOutcome.BUSY, "dial_busy"),
        (603, CallOutcome.BUSY, "dial_declined"),
        (480, CallOutcome.NO_ANSWER, "dial_no_answer"),
        (408, CallOutcome.NO_ANSWER, "dial_no_answer"),
        (487, CallOutcome.NO_ANSWER, "dial_no_answer"),
        (404, CallOutcome.FAILED, "dial_invalid_number"),
        (484, CallOutcome.FAILED, "dial_invalid_number"),
        (503, CallOutcome.FAILED, "dial_sip_503"),
        (403, CallOutcome.FAILED, "dial_sip_403"),
    ],
)
def test_final_answers_are_our_outcomes(status: int, outcome: CallOutcome, reason: str) -> None:
    assert outcome_for(status) == (outcome, reason)


def test_numbers_and_uris_at_the_trunk() -> None:
    trunk = SipTrunk(proxy_host="203.0.113.10", domain="sip.carrier.example")
    assert trunk.uri("+56912345678") == "sip:+56912345678@sip.carrier.example"
    digits = SipTrunk(proxy_host="203.0.113.10", dial_plus=False)
    assert digits.uri("+56912345678") == "sip:56912345678@203.0.113.10"
    assert trunk.uri("sip:ana@10.0.0.5:5070") == "sip:ana@10.0.0.5:5070"  # kept as it is


def test_a_number_goes_through_the_trunk_a_sip_address_straight_to_it() -> None:
    trunk = SipTrunk(proxy_host="203.0.113.10", proxy_port=5080)
    assert trunk.route_to("+56912345678") == ("203.0.113.10", 5080)
    assert trunk.route_to("sip:ana@10.0.0.5:5070") == ("10.0.0.5", 5070)
    assert trunk.route_to("sip:ana@10.0.0.5") == ("10.0.0.5", 5060)
    assert trunk.route_to("sip:ana@pbx.example") == ("203.0.113.10", 5080)  # no DNS here


def test_bad_trunks_are_refused() -> None:
    with pytest.raises(ValueError, match="ring_timeout_s"):
        SipTrunk(proxy_host="203.0.113.10", ring_timeout_s=5)
    with pytest.raises(ValueError, match="proxy_port"):
        SipTrunk(proxy_host="203.0.113.10", proxy_port=70000)
    assert SipTrunk(proxy_host="203.0.113.10").sources == ("203.0.113.10",)


def test_the_caller_id_is_the_callees_country_and_the_same_every_retry() -> None:
    trunk = SipTrunk(proxy_host="203.0.113.10", from_numbers=("+34910000001", "+56221110000"))
    request = DialRequest(
        idempotency_key="attempt-1",
        to_number="+56912345678",
        campaign_id="c",
        contact_id="x",
        attempt_number=1,
    )
    assert caller_id_for(trunk, request) == "+56221110000"
    assert caller_id_for(trunk, request) == caller_id_for(trunk, request)
    assert caller_id_for(SipTrunk(proxy_host="203.0.113.10"), request) == "centralita"
