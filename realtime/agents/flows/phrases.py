"""The flow engine's own words, per language: what it says when a flow does not.

`phrases` in an agent definition replace the first group; a required slot with no
`ask` of its own is asked for with the second. Both can be said before identity is
verified, so they are checked like a flow's own lines (`realtime/agents/flows/disclosure.py`).
"""

from __future__ import annotations

DEFAULT_PHRASES: dict[str, dict[str, list[str]]] = {
    "es": {
        "still_there": ["¿Sigue ahí?", "¿Me escucha?", "¿Aló? ¿Me escucha bien?"],
        "not_understood": ["Disculpe, no le entendí bien.", "Perdone, no logré entenderle."],
        "clarify": ["¿Me confirma {heard}?", "Para estar seguros, ¿dijo {heard}?"],
        "clarify_again": ["Disculpe. ¿Me lo puede repetir, por favor?"],
        "tool_failed": ["Disculpe, no pude registrar eso."],
        "goodbye": ["Gracias por su tiempo. Que tenga un buen día."],
    },
    "en": {
        "still_there": ["Are you still there?", "Can you hear me?", "Hello? Can you hear me?"],
        "not_understood": ["Sorry, I didn't quite catch that.", "Sorry, I didn't understand."],
        "clarify": ["Just to confirm, {heard}?", "Did you say {heard}?"],
        "clarify_again": ["Sorry about that. Could you say it again, please?"],
        "tool_failed": ["Sorry, I couldn't record that."],
        "goodbye": ["Thank you for your time. Have a good day."],
    },
}
DEFAULT_SLOT_ASKS: dict[str, dict[str, str]] = {
    "es": {
        "amount": "¿Qué monto podría pagar?",
        "currency": "¿En qué moneda?",
        "pay_date": "¿Qué día podría hacer el pago?",
        "callback_at": "¿Qué día y a qué hora le acomoda que lo llamemos?",
        "national_id": "¿Me indica los últimos dígitos de su documento?",
    },
    "en": {
        "amount": "How much could you pay?",
        "currency": "In which currency?",
        "pay_date": "What day could you make the payment?",
        "callback_at": "What day and time would suit you for a call back?",
        "national_id": "Could you tell me the last digits of your ID number?",
    },
}
