"""What a call is given of the contact's memory: flow variables and the memory itself.

The attempt activity reads the memory just before it dials and adds it to the call's
variables: the flow variables of `ContactMemory.as_variables` (a flow uses them in its
lines and transitions), and the whole memory under `MEMORY_KEY`, from which an LLM
agent's prompt is written in its own language (`memory_of`, then
`ContactMemory.as_context`, masked until the person's identity is verified). The
contact's own variables win over a memory variable of the same name: the tenant's data
is the newer truth.

Reading the memory must never cost the call: a failure is logged and the call goes
out with the variables it had.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from centralita.kernel.db import Pool
from centralita.memory.contact_memory import ContactMemory
from centralita.memory.memory_store import contact_memory

log = logging.getLogger(__name__)

MEMORY_KEY: Final = "_memoria"
"""The variable that carries the whole memory (a JSON object) to the media worker."""


async def with_memory(
    pool: Pool,
    tenant_id: str,
    contact_id: str,
    variables: Mapping[str, Any],
    *,
    now: datetime,
) -> dict[str, Any]:
    """`variables` with what the contact's earlier calls and payments tell, if anything.

    Args:
        pool: the database.
        tenant_id: the call's tenant (no other tenant's history is read).
        contact_id: the contact being called.
        variables: the contact's own variables.
        now: the moment of the call (promises are judged as of now).

    Returns:
        A new dict; `variables` unchanged (as a copy) when there is no history or the
        memory could not be read.
    """
    try:
        memory = await contact_memory(pool, tenant_id, contact_id, now=now)
    except Exception:  # a call goes out without memory rather than not at all
        log.exception("contact %s: memory unavailable, calling without it", contact_id)
        return dict(variables)
    if memory is None or not memory.has_history:
        return dict(variables)
    return {**memory.as_variables(), **variables, MEMORY_KEY: memory.model_dump(mode="json")}


def memory_of(variables: Mapping[str, Any]) -> ContactMemory | None:
    """The memory a call's variables carry (`with_memory`), read once per call; None
    without one, or with an unreadable one (a prompt without history is better than a
    call that fails)."""
    raw = variables.get(MEMORY_KEY)
    if not isinstance(raw, Mapping):
        return None
    try:
        return ContactMemory.model_validate(raw)
    except ValueError:
        log.warning("the call's memory variable is malformed; the prompt goes without it")
        return None
