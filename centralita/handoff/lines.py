"""What the caller hears around a handoff, in Spanish and English.

`{when}` is the callback's time said the way the agent says dates ("hoy a las 16:30").
"""

from __future__ import annotations

from datetime import datetime

from centralita.understanding.text import base_language

_LINES: dict[str, dict[str, str]] = {
    "offer": {
        "es": "Si prefiere, le comunico con una ejecutiva. ¿Quiere que lo haga?",
        "en": "If you prefer, I can put you through to a member of our team. Shall I?",
    },
    "transferring": {
        "es": "Le comunico con una ejecutiva, un momento por favor.",
        "en": "I'm putting you through to a member of our team, one moment please.",
    },
    "holding": {
        "es": "Siga en línea, por favor. En un momento le atiende una ejecutiva.",
        "en": "Please stay on the line. Someone will be with you shortly.",
    },
    "nobody_free": {
        "es": "Lo siento, en este momento no hay ejecutivas disponibles. "
        "Una ejecutiva le llamará {when}. Que tenga un buen día.",
        "en": "I'm sorry, nobody from our team is free right now. "
        "Someone will call you back {when}. Have a good day.",
    },
    "no_callback": {
        "es": "Lo siento, en este momento no hay ejecutivas disponibles. "
        "Le volveremos a llamar. Que tenga un buen día.",
        "en": "I'm sorry, nobody from our team is free right now. "
        "We will call you again. Have a good day.",
    },
    "callback": {
        "es": "Para esto es mejor que le atienda una persona. "
        "Una ejecutiva le llamará {when}. Que tenga un buen día.",
        "en": "A person is better placed to help with this. "
        "Someone from our team will call you back {when}. Have a good day.",
    },
}


def handoff_line(name: str, language: str, **values: str) -> str:
    """The line `name` in the call's language (English for any other), filled in."""
    texts = _LINES[name]
    text = texts.get(base_language(language, default="en"), texts["en"])
    return text.format(**values) if values else text


_DAY_WORDS = {
    "es": ("hoy", "mañana", ("el lunes", "el martes", "el miércoles", "el jueves", "el viernes",
                              "el sábado", "el domingo")),
    "en": ("today", "tomorrow", ("on Monday", "on Tuesday", "on Wednesday", "on Thursday",
                                 "on Friday", "on Saturday", "on Sunday")),
}  # fmt: skip


def spoken_when(moment: datetime, now: datetime, language: str) -> str:
    """A callback time as said on the phone: "hoy a las 16:30", "tomorrow at 10:00".

    Both times are aware; the words are in `now`'s zone (the caller's)."""
    lang = base_language(language, default="en")
    today_word, tomorrow_word, weekdays = _DAY_WORDS.get(lang, _DAY_WORDS["en"])
    local = moment.astimezone(now.tzinfo)
    days = (local.date() - now.date()).days
    day = today_word if days == 0 else tomorrow_word if days == 1 else weekdays[local.weekday()]
    at = "a las" if lang == "es" else "at"
    return f"{day} {at} {local:%H:%M}"
