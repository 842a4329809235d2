"""The demo's contacts say what their flows assume, on whatever day the demo runs."""

from __future__ import annotations

from datetime import date

import pytest

from workers.demo import DEMO_CONTACTS

pytestmark = pytest.mark.unit


def test_an_early_collections_reminder_is_for_an_instalment_already_due() -> None:
    # The flow says "que venció el …": a due date still to come made it say so of the
    # future ("venció el martes 15 de diciembre", heard in the demo on 4 December).
    variables = [c.get("variables", {}) for c in DEMO_CONTACTS]
    dues = [date.fromisoformat(v["fecha_limite"]) for v in variables if "fecha_limite" in v]
    assert dues
    assert all(due < date.today() for due in dues)
