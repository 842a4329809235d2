"""When a campaign run continues as new: late enough to cut rarely, early enough to fit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.campaigns.policy import (
    EVENTS_PER_CALL,
    HISTORY_LIMIT,
    CampaignPolicy,
    CampaignRunInput,
    history_bound,
    history_budget,
)

pytestmark = pytest.mark.unit

MAX_CONCURRENCY: int = next(
    rule.le for rule in CampaignPolicy.model_fields["concurrency"].metadata if hasattr(rule, "le")
)


@given(
    max_events=st.integers(min_value=200, max_value=9_000),
    concurrency=st.integers(min_value=1, max_value=MAX_CONCURRENCY),
)
def test_the_cut_and_the_drain_always_fit_under_temporals_limit(
    max_events: int, concurrency: int
) -> None:
    budget = history_budget(max_events, concurrency)
    assert budget <= max_events
    assert budget + EVENTS_PER_CALL * concurrency < HISTORY_LIMIT


def test_a_usual_campaign_uses_the_configured_budget() -> None:
    default = CampaignRunInput(campaign_id="c").max_history_events
    assert history_budget(default, CampaignPolicy().concurrency) == default
    assert history_budget(default, 100) == default


def test_the_highest_concurrency_cuts_earlier() -> None:
    assert history_budget(9_000, MAX_CONCURRENCY) < 9_000 - 3_000


def test_a_default_campaign_at_the_benchmarks_concurrency_stays_under_5000_events() -> None:
    """Issue 20: the cut, one more dispatch round and the drain of 100 calls fit in 5,000."""
    default = CampaignRunInput(campaign_id="c").max_history_events
    assert history_bound(default, 100) < 5_000
