"""The context sentence the offline recogniser reads before each caller utterance."""

from __future__ import annotations

import pytest

from realtime.offline.retranscription import MAX_CONTEXT_TERMS, call_context

pytestmark = pytest.mark.unit


def test_a_collection_call_names_its_topic_and_the_tenant_terms() -> None:
    context = call_context("es-CL", ["saldo pendiente", "repactación"], collection=True)
    assert context == "Llamada de cobranza: saldo pendiente, repactación."


def test_other_agents_get_a_service_topic_in_their_language() -> None:
    assert call_context("en", ["refund"], collection=False) == "Customer service call: refund."
    assert call_context("es", [], collection=False) == "Llamada de atención al cliente."


def test_terms_are_deduplicated_blank_ones_dropped_and_capped() -> None:
    terms = ["abono", " abono ", "", *[f"término {n}" for n in range(100)]]
    context = call_context("es", terms, collection=True)
    assert context is not None
    listed = context.removeprefix("Llamada de cobranza: ").removesuffix(".").split(", ")
    assert listed[0] == "abono"
    assert len(listed) == MAX_CONTEXT_TERMS
    assert len(set(listed)) == len(listed)


def test_a_language_without_a_topic_gets_no_context() -> None:
    assert call_context("pt-BR", ["boleto"], collection=True) is None
