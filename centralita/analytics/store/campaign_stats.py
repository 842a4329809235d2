"""A campaign's attempts grouped three ways (all, by day, by hour on its clock).

The rows are the dialled attempts (`completed` or `error`) of the campaign whose call,
if any, is not soft-deleted; `fields` says what answered and a promise mean. Each query
returns one row per group, told apart by `GROUPING`: `by_hour_or_all` and
`by_day_or_all` both set is the whole campaign, `by_day_or_all` alone a day, otherwise
an hour of the day.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from centralita.analytics.store import fields
from centralita.kernel.db import Conn

_ROWS = f"""
WITH r AS (
    SELECT (a.started_at AT TIME ZONE %(tz)s)::date AS day,
           extract(hour FROM a.started_at AT TIME ZONE %(tz)s)::int AS hour,
           date_trunc('hour', a.started_at AT TIME ZONE %(tz)s) AS clock_hour,
           {fields.ANSWERED} AS answered,
           {fields.ANSWERED} AND {fields.MADE_PROMISE} AS promised,
           {fields.PROMISED_AMOUNT} AS amount,
           {fields.PROMISED_CURRENCY} AS currency,
           a.duration_s, a.cost, coalesce({fields.OUTCOME}, 'unknown') AS outcome
    FROM call_attempts a
    LEFT JOIN calls c ON c.attempt_id = a.id
    LEFT JOIN call_analyses an ON an.call_id = c.id
    WHERE a.campaign_id = %(campaign)s AND a.tenant_id = %(tenant)s
      AND a.status IN ('completed', 'error') AND c.deleted_at IS NULL
)
"""
# Every query groups the same rows three ways: all of them, by day, by hour.
_SETS = "GROUPING(day) AS by_hour_or_all, GROUPING(hour) AS by_day_or_all, day, hour"
_FIGURES = f"""{_ROWS}
SELECT {_SETS}, count(*) AS attempts, count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE promised) AS promises,
       avg(duration_s) FILTER (WHERE answered) AS avg_duration_s,
       coalesce(sum(cost), 0)::float8 AS cost, count(DISTINCT clock_hour) AS active_hours
FROM r GROUP BY GROUPING SETS ((), (day), (hour))
"""
_AMOUNTS = f"""{_ROWS}
SELECT {_SETS}, currency, count(*) AS promises, sum(amount)::float8 AS total
FROM r WHERE promised AND amount IS NOT NULL
GROUP BY GROUPING SETS ((currency), (day, currency), (hour, currency))
ORDER BY currency NULLS LAST
"""
_OUTCOMES = f"""{_ROWS}
SELECT {_SETS}, outcome, count(*) AS n
FROM r GROUP BY GROUPING SETS ((outcome), (day, outcome), (hour, outcome))
"""

Row = dict[str, Any]


@dataclass(frozen=True)
class GroupedRows:
    """Each group's figures, its promised amounts by currency, and its outcomes."""

    figures: list[Row]  # attempts, answered, promises, avg_duration_s, cost, active_hours
    amounts: list[Row]  # currency, promises, total (currencies in order, none last)
    outcomes: list[Row]  # outcome ('unknown': none), n


async def campaign(conn: Conn, tenant_id: str, campaign_id: uuid.UUID) -> Row | None:
    """The tenant's campaign (`name`, `timezone`), or None."""
    cur = await conn.execute(
        "SELECT name, timezone FROM campaigns WHERE id = %s AND tenant_id = %s",
        (campaign_id, tenant_id),
    )
    return await cur.fetchone()


async def grouped_rows(
    conn: Conn, tenant_id: str, campaign_id: uuid.UUID, timezone: str
) -> GroupedRows:
    """The campaign's attempts grouped, days and hours read on `timezone`."""
    params = {"tz": timezone, "campaign": campaign_id, "tenant": tenant_id}
    figures = await (await conn.execute(_FIGURES, params)).fetchall()
    amounts = await (await conn.execute(_AMOUNTS, params)).fetchall()
    outcomes = await (await conn.execute(_OUTCOMES, params)).fetchall()
    return GroupedRows(figures=figures, amounts=amounts, outcomes=outcomes)
