"""Whether a transition's `when` holds, and if not, why (in words a model can act on).

The engine needs only the yes/no; LLM mode tells the model which condition failed so
it can ask for what is missing ("the ID heard does not match") instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from centralita.understanding.ids import national_id_matches
from realtime.agents.flows.schema import Condition
from realtime.agents.flows.templates import Renderer


def unmet_conditions(
    cond: Condition,
    *,
    slots: Mapping[str, Any],
    heard: Mapping[str, Any],
    renderer: Renderer,
    verified: bool,
) -> list[str]:
    """Every condition of `cond` that does not hold (empty: the transition may be taken).

    Args:
        cond: the transition's conditions.
        slots: the slots known so far (this turn's included).
        heard: the slots heard in this turn.
        renderer: the contact's variables.
        verified: whether identity is verified.
    """
    unmet = [f"slot {s} is not known yet" for s in cond.has if slots.get(s) is None]
    unmet += [f"slot {s} is already known" for s in cond.missing if slots.get(s) is not None]
    unmet += [f"slot {s} was not heard in this turn" for s in cond.heard if heard.get(s) is None]
    unmet += [f"the contact has no {v}" for v in cond.variable if not renderer.has_variable(v)]
    unmet += [f"the contact has {v}" for v in cond.no_variable if renderer.has_variable(v)]
    if cond.verified is not None and cond.verified != verified:
        unmet.append("identity is not verified yet" if cond.verified else "identity is verified")
    if cond.id_matches is not None:
        said = slots.get("national_id")
        known = renderer.variable(cond.id_matches)
        if said is None:
            unmet.append("slot national_id is not known yet")
        elif known is None or not national_id_matches(str(said), str(known)):
            # Never the value on file: the reason goes to a model, and on to the caller.
            unmet.append(f"the national_id heard does not match the {cond.id_matches} on file")
    return unmet
