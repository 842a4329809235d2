"""Jurisdiction profiles: the law's calling rules, in the recipient's local time, as data.

Each profile cites where its numbers come from. Where we could not verify an article we
say so instead of guessing one: these profiles are engineering defaults, not legal advice,
and a campaign's counsel can override the frequency caps per campaign (see
`centralita.campaigns.policy.CampaignPolicy`). `centralita.campaigns.calling_rules` re-exports
everything here; import from there.
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field

_MON_TO_FRI = frozenset({0, 1, 2, 3, 4})
_MON_TO_SAT = frozenset({0, 1, 2, 3, 4, 5})
_EVERY_DAY = frozenset(range(7))


class JurisdictionProfile(BaseModel):
    """The legal calling rules of a jurisdiction, in the recipient's local time."""

    name: str
    window_start: time
    window_end: time  # exclusive; 00:00 means midnight (the end of the day)
    weekdays: frozenset[int] = Field(description="Allowed weekdays, Monday=0 ... Sunday=6.")
    holiday_country: str | None = Field(
        default=None, description="ISO country whose public holidays are off-limits."
    )
    max_attempts_per_7_days: int | None = Field(
        default=None, description="Cap on attempts to a contact in any rolling 7 days."
    )
    quiet_days_after_conversation: int | None = Field(
        default=None, description="No call for this many days after a conversation."
    )
    source: str = Field(description="Where the rule comes from (law, article, guidance).")


PROFILES: dict[str, JurisdictionProfile] = {
    # The first users' own rules (issue 3), with no legal overlay: the campaign schedule
    # (slots, quota, holidays of the campaign's country) does the rest.
    "default": JurisdictionProfile(
        name="default",
        window_start=time(8, 0),
        window_end=time(21, 0),
        weekdays=_MON_TO_SAT,
        source=(
            "Centralita default: the first users' own rules (issue 3), 08:00-21:00 local, "
            "Monday to Saturday; no jurisdiction-specific limits."
        ),
    ),
    # US, CFPB Regulation F. The hours are the FDCPA's presumption of convenient times
    # ("after 8 a.m. and before 9 p.m." local; like common dialler practice we let a call
    # start at 08:00 sharp). The frequency numbers are the presumption of
    # 1006.14(b)(2): counted per debt (one contact of one campaign is one debt here), and
    # over a rolling 7 x 24 h, which is at least as strict as "seven consecutive days"
    # except across a fall-back night. A conversation starts the quiet period even when the
    # consumer asked to be called back; 1006.14(b)(3) excludes calls made with the
    # consumer's prior consent, so a campaign honouring a callback may lower the quiet
    # days. State laws can be stricter (Massachusetts, for one, caps collection calls
    # per week) and are not modelled: pick a stricter cap per campaign.
    "us_reg_f": JurisdictionProfile(
        name="us_reg_f",
        window_start=time(8, 0),
        window_end=time(21, 0),
        weekdays=_EVERY_DAY,
        max_attempts_per_7_days=7,
        quiet_days_after_conversation=7,
        source=(
            "CFPB Regulation F: 12 CFR 1006.6(b)(1)(i) (inconvenient times: before 8 a.m. "
            "and after 9 p.m. local time at the consumer's location; FDCPA 15 U.S.C. "
            "1692c(a)(1)); 12 CFR 1006.14(b)(2) (presumed harassment: more than 7 calls "
            "within 7 consecutive days, or a call within 7 days after a telephone "
            "conversation, about the same debt)."
        ),
    ),
    # Chile. Ley 21.320 (Diario Oficial 2021-04-20) amended art. 37 of Ley 19.496
    # (consumer protection) on extrajudicial collection. Hours: calls and visits only on
    # "días y horas hábiles" (08:00-20:00, not on holidays), which SERNAC states as
    # Monday to Saturday 08:00-20:00; we have not verified whether art. 37 states the hours
    # itself or by reference to art. 59 of the Código de Procedimiento Civil. Frequency:
    # more than one telephone contact or visit per week breaches the article's principles.
    # We count every ATTEMPT as a contact (the strict reading; counsel may read "contacto"
    # as a call that reached the debtor), over a rolling 7 x 24 h rather than a calendar
    # week (stricter). The cap is configurable per campaign for that reason. Written
    # channels (SMS, e-mail: two a week, two days apart) are not calls and not modelled.
    "cl_ley_21320": JurisdictionProfile(
        name="cl_ley_21320",
        window_start=time(8, 0),
        window_end=time(20, 0),
        weekdays=_MON_TO_SAT,
        holiday_country="CL",
        max_attempts_per_7_days=1,
        source=(
            "Chile, Ley 21.320 (2021) amending Ley 19.496 art. 37 (cobranza extrajudicial): "
            "calls Monday to Saturday 08:00-20:00, not on holidays; at most one telephone "
            "contact or visit per week for the same debt."
        ),
    ),
    # Spain. No statute we could verify sets hours for debt-collection calls. TRLGDCU
    # (Real Decreto Legislativo 1/2007) art. 96.2 forbids COMMERCIAL calls before 09:00,
    # after 21:00, on holidays and at weekends; applying the same hours to collection
    # calls is the practice we recommend (it is what consumer bodies expect), not a
    # verified legal requirement. Ley 10/2025 de servicios de atención a la clientela
    # (BOE 2025-12-27) regulates customer-service lines and commercial calls; we found no
    # collection-hours article in it. Holidays: national ones only (`holidays` "ES" with no
    # subdivision); regional and local holidays are not modelled.
    "es": JurisdictionProfile(
        name="es",
        window_start=time(9, 0),
        window_end=time(21, 0),
        weekdays=_MON_TO_FRI,
        holiday_country="ES",
        source=(
            "Spain: hours of TRLGDCU (RDLeg 1/2007) art. 96.2 for commercial calls "
            "(not before 09:00 nor after 21:00, no weekends or holidays), applied to "
            "collection calls as recommended practice; national holidays only."
        ),
    ),
    # Demos, load tests and development only: no legal window at all. Never the default,
    # and a real campaign should name a jurisdiction's profile.
    "unrestricted": JurisdictionProfile(
        name="unrestricted",
        window_start=time(0, 0),
        window_end=time(0, 0),  # 00:00 as an end means midnight: open all day
        weekdays=_EVERY_DAY,
        source="No restriction: for demos and tests on the simulated carrier only.",
    ),
}
