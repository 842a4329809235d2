"""Custom search attributes: how operators filter campaign workflows in the Temporal UI."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.common import SearchAttributeKey

CAMPAIGN_ID = SearchAttributeKey.for_keyword("CampaignId")
CONTACT_ID = SearchAttributeKey.for_keyword("ContactId")
ATTEMPT_NUMBER = SearchAttributeKey.for_int("AttemptNumber")
OUTCOME = SearchAttributeKey.for_keyword("Outcome")

ALL: tuple[SearchAttributeKey[str] | SearchAttributeKey[int], ...] = (
    CAMPAIGN_ID,
    CONTACT_ID,
    ATTEMPT_NUMBER,
    OUTCOME,
)


def as_indexed_types() -> dict[str, IndexedValueType.ValueType]:
    """Name -> IndexedValueType, as the operator API takes them."""
    return {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL}
