"""The phrase lists behind intent classification, per language.

Written with accents and as people say them; `intents.py` folds them at import time.
Each phrase has a position rule:

* ANY: anywhere in the turn ("no me llamen más").
* START: only at the start of the turn ("sí", "no", "claro"): a "no" in the middle of
  a sentence is grammar, not an answer.
* ALONE: only as the whole turn, give or take fillers ("¿cómo?", "what?"): "cómo le
  pago" is not a request to repeat.
"""

from __future__ import annotations

from enum import Enum

from centralita.understanding.model import Intent


class Where(Enum):
    """Where in a turn a phrase counts."""

    ANY = "any"
    START = "start"
    ALONE = "alone"


PhraseTable = dict[Intent, dict[Where, tuple[str, ...]]]

# Asking to be put through to someone: each way of handing over, to each kind of person
# ("¿me pasa con alguien?", "¿me puede comunicar con un agente?", "connect me to someone").
_ES_HAND_OVER = (
    "pasa con", "pasas con", "pasar con", "pase con", "comunica con", "comunicas con",
    "comunicar con", "transfiere con", "transferir con", "transfiera con", "pone con",
    "ponga con", "poner con", "ponme con", "póngame con", "conecta con", "conectar con",
    "derive con", "derivar con",
)  # fmt: skip
# ("con una persona", "con un ejecutivo"... are phrases of their own, after any verb.)
_ES_SOMEONE = ("alguien", "alguien más", "otra persona", "un agente", "una agente")
_EN_HAND_OVER = (
    "put me through to", "put me on with", "connect me to", "connect me with", "get me",
    "talk to", "talk with", "speak to", "speak with", "transfer me to", "pass me to",
)  # fmt: skip
# ("an agent", "a supervisor", "real person"... are phrases of their own, after any verb.)
_EN_SOMEONE = ("someone", "somebody", "someone else", "a person", "a human", "an actual person")

SPANISH: PhraseTable = {
    Intent.OPT_OUT: {Where.ANY: (
        "no me llamen más", "no me llame más", "no me llames más", "no me vuelvan a llamar",
        "no vuelvan a llamar", "no vuelva a llamar", "no me vuelva a llamar",
        "dejen de llamar", "deje de llamar", "dejen de llamarme", "deje de llamarme",
        "bórrenme de la lista", "bórreme de la lista", "bórrenme de su lista",
        "sáquenme de la lista", "sáqueme de la lista", "sáquenme de su lista",
        "bórrenme de su base", "no quiero que me llamen", "no quiero más llamadas",
        "no me molesten más", "dejen de molestar", "dejen de molestarme",
        "no quiero que me vuelvan a llamar", "no llamen más", "no me llamen nunca más",
    )},
    Intent.VOICEMAIL: {Where.ANY: (
        "deje su mensaje", "deja tu mensaje", "deje un mensaje", "deja un mensaje",
        "después del tono", "después de la señal", "al escuchar el tono", "buzón de voz",
        "casilla de voz", "no se encuentra disponible", "el número que usted marcó",
        "el teléfono que usted llamó", "se encuentra apagado", "fuera del área de servicio",
        "fuera de cobertura", "grabe su mensaje", "no puede atender su llamada",
        "no está disponible en este momento", "buzón de mensajes",
    )},
    Intent.HUMAN_REQUEST: {Where.ANY: (
        "hablar con una persona", "hablar con alguien", "hablar con un ejecutivo",
        "con un ejecutivo", "con una ejecutiva", "operador", "operadora", "un humano",
        "una persona real", "persona de verdad", "hablar con un agente", "con un supervisor",
        "con una supervisora", "con el encargado", "con la encargada", "con un asesor",
        "con una asesora", "comuníqueme con", "páseme con", "transfiérame",
        "no quiero hablar con una máquina", "hablar con un humano", "es una grabación",
        "eres un robot", "es un robot", "usted es un robot", "con una persona",
        "pásame con", "comunícame con", "transfiéreme", "me transfiere", "me puede transferir",
        "me podría transferir", "con alguien real", "con alguien de verdad",
        *(f"{verb} {who}" for verb in _ES_HAND_OVER for who in _ES_SOMEONE),
    )},
    Intent.WRONG_PERSON: {
        Where.ANY: (
            "número equivocado", "está equivocado", "está equivocada", "se equivocó de número",
            "equivocado de número", "no conozco a esa persona", "no conozco a nadie",
            "no la conozco", "no lo conozco", "aquí no vive", "no vive aquí", "ya no vive aquí",
            "no soy yo", "no soy esa persona", "no es mi nombre", "no me llamo así",
            "no hay nadie con ese nombre", "se equivocó", "este número es nuevo",
            "no conozco a ese señor", "no conozco a esa señora", "acá no vive",
            "no vive acá", "no es acá", "no es aquí", "no hay ninguna",
            # "I am not her/him/the person": heard over the phone with a noisy tail
            # ("no, no soy la persona, oh hasta") they must not fall back to a bare "no".
            "no soy ella", "no soy él", "no soy la persona", "no soy esa señora",
            "no soy ese señor", "no soy la señora", "no soy el señor",
        ),
        Where.START: ("no soy",),
    },
    Intent.DISPUTE: {Where.ANY: (
        "no debo nada", "yo no debo", "no le debo", "no debo eso", "no les debo", "ya pagué",
        "ya lo pagué", "ya la pagué", "ya está pagado", "ya está pagada", "ya cancelé",
        "eso no es mío", "no es mía", "no es mi deuda", "no reconozco esa deuda",
        "no reconozco", "nunca pedí", "nunca tuve", "nunca he tenido", "es un error",
        "hay un error", "eso está pagado", "no corresponde", "es una estafa",
        "no tengo ninguna deuda", "no tengo deudas", "no tengo deuda", "prescribió",
        "está prescrita", "ya no debo", "pagué hace", "eso ya lo pagué", "ya está saldada",
        "no es mío",
    )},
    Intent.CANNOT_PAY: {Where.ANY: (
        "no puedo pagar", "no tengo plata", "no tengo dinero", "no tengo cómo pagar",
        "no me alcanza", "estoy sin trabajo", "estoy cesante", "me quedé sin pega",
        "no tengo pega", "no tengo lucas", "estoy sin plata", "no puedo abonar",
        "no le puedo pagar", "no voy a poder pagar", "no voy a pagar", "no pienso pagar",
        "imposible pagar", "no tengo los medios", "no tengo ingresos", "estoy en paro",
        "no llego a fin de mes", "ando corto", "estoy corto de plata", "no tengo un peso",
        "no tengo ni un peso", "no puedo pagarle", "no tengo con qué pagar",
        "me quedé sin trabajo", "me despidieron", "no puedo pagar nada", "no tengo trabajo",
        "no le voy a pagar", "no voy a poder", "no tengo como",
        # Out of work, in Chile ("pega", "cesante") and Spain ("el paro").
        "sin pega", "sin trabajo", "sin empleo", "cesante", "desempleado", "desempleada",
        "en paro", "en el paro", "me echaron", "me han despedido", "me han echado",
        "perdí la pega", "perdí el trabajo", "perdí mi trabajo", "perdí el empleo",
        # Short of money ("andar pato": broke, in Chile).
        "ando pato", "estoy pato", "ando sin plata", "ando sin lucas", "sin un peso",
        "sin un duro", "no tengo un duro", "ando corta", "estoy corta de plata",
        "ando apretado", "ando apretada", "estoy apretado", "estoy apretada",
        "no me llega el sueldo", "no me llega la plata", "no me llega el dinero",
        "no me llega para", "no tengo ni para",
    )},
    Intent.PROMISE_TO_PAY: {Where.ANY: (
        "le pago", "te pago", "les pago", "voy a pagar", "puedo pagar", "podría pagar",
        "puedo abonar", "le abono", "voy a abonar", "pagaré", "le deposito", "le transfiero",
        "hago la transferencia", "voy a depositar", "me comprometo a pagar", "lo pago",
        "la pago", "se lo pago", "pagaría", "puedo pagarle", "le puedo pagar",
        "le puedo abonar", "le puedo dar", "le cancelo", "voy a cancelar", "puedo cancelar",
        "me pongo al día", "ponerme al día", "pago el", "pago a fin de mes", "pago mañana",
        "les transfiero", "le hago un abono", "hacer un abono", "pagar en cuotas",
        "voy a transferir", "te transfiero", "te deposito",
    )},
    Intent.CALLBACK_REQUEST: {Where.ANY: (
        "llámeme más tarde", "llámame más tarde", "llámeme mañana", "llámeme después",
        "vuelva a llamar", "vuélvame a llamar", "llame más tarde", "llame mañana",
        "llame después", "ahora no puedo", "ahora no puedo hablar", "estoy ocupado",
        "estoy ocupada", "estoy manejando", "estoy conduciendo", "estoy en el trabajo",
        "estoy en una reunión", "no puedo hablar", "en otro momento", "más tarde",
        "llámeme en", "llámame en", "me puede llamar", "llámeme a las", "llámeme el",
        "llámenme", "me llama", "me llaman", "llámeme", "llámame", "vuelvan a llamar",
        "estoy trabajando", "no es buen momento", "ahora no", "después hablamos",
    )},
    Intent.REPEAT_REQUEST: {
        Where.ANY: (
            "repita", "repítame", "me repite", "puede repetir", "podría repetir",
            "no le escuché", "no le escucho", "no se escucha", "no le entendí", "no entendí",
            "no le oí", "más lento", "más despacio", "otra vez por favor", "de nuevo por favor",
            "se corta", "no entiendo", "qué dijo", "cómo dijo", "no le escucho bien",
        ),
        Where.ALONE: ("cómo", "qué", "perdón", "mande", "qué cosa", "disculpe", "cómo es",
                      "ah", "eh"),
    },
    Intent.GOODBYE: {
        Where.ANY: ("chao", "chau", "adiós", "hasta luego", "hasta pronto", "nos vemos",
                    "que le vaya bien", "que esté bien", "hasta mañana"),
        Where.ALONE: ("buenas noches",),
    },
    Intent.GREETING: {
        Where.START: ("aló", "hola", "buenas", "buenos días", "buenas tardes",
                      "buenas noches", "sí aló", "diga", "dígame", "quién habla", "quién es"),
    },
    Intent.AFFIRM: {
        Where.START: ("sí", "sip", "claro", "correcto", "exacto", "efectivamente", "así es",
                      "por supuesto", "de acuerdo", "ya", "ya po", "bueno", "dale", "ok",
                      "okey", "vale", "perfecto", "conforme", "obvio", "ya está"),
        Where.ANY: ("con él habla", "con ella habla", "él habla", "ella habla", "soy yo",
                    "sí soy yo", "yo soy"),
    },
    Intent.DENY: {
        Where.START: ("no", "nop", "para nada", "negativo", "no gracias", "nada que ver"),
    },
}  # fmt: skip

ENGLISH: PhraseTable = {
    Intent.OPT_OUT: {Where.ANY: (
        "stop calling", "dont call me again", "do not call me", "remove me from your list",
        "take me off your list", "dont call me anymore", "never call me again",
        "do not call list", "unsubscribe", "quit calling", "stop bothering me",
        "dont call again", "take my number off",
    )},
    Intent.VOICEMAIL: {Where.ANY: (
        "leave a message", "leave your message", "after the tone", "after the beep",
        "voicemail", "voice mail", "is not available", "the person you are calling",
        "record your message", "mailbox is full", "cannot take your call",
        "the number you have dialed",
    )},
    Intent.HUMAN_REQUEST: {Where.ANY: (
        "talk to a person", "speak to a person", "speak to a human", "talk to a human",
        "real person", "an agent", "a representative", "operator", "customer service",
        "talk to someone", "speak with someone", "speak to someone", "a supervisor",
        "a manager", "transfer me", "are you a robot", "is this a robot", "a live person",
        *(f"{verb} {who}" for verb in _EN_HAND_OVER for who in _EN_SOMEONE),
    )},
    Intent.WRONG_PERSON: {Where.ANY: (
        "wrong number", "you have the wrong", "dont know that person", "dont know who",
        "doesnt live here", "no one by that name", "nobody by that name", "thats not me",
        "not me", "i am not him", "im not him", "im not her", "i am not her",
        "never heard of", "no one here by",
    )},
    Intent.DISPUTE: {Where.ANY: (
        "dont owe", "do not owe", "already paid", "paid already", "paid it off", "not mine",
        "not my debt", "a mistake", "never had", "this is a scam", "its a scam",
        "dont recognize", "do not recognize", "i paid that", "there is an error",
    )},
    Intent.CANNOT_PAY: {Where.ANY: (
        "cant pay", "cannot pay", "can not pay", "dont have the money", "dont have money",
        "have no money", "lost my job", "unemployed", "wont pay", "im broke", "cant afford",
        "cannot afford", "not going to pay", "no money", "out of work", "unable to pay",
        "laid off", "got fired", "was fired", "been fired", "between jobs", "out of a job",
        "dont have a job", "lost my income", "no income", "on unemployment", "money is tight",
        "moneys tight", "tight on money", "short on money", "short on cash", "strapped for cash",
        "cant make ends meet", "flat broke", "i am broke",
    )},
    Intent.PROMISE_TO_PAY: {Where.ANY: (
        "i will pay", "ill pay", "i can pay", "i could pay", "going to pay", "promise to pay",
        "make a payment", "i will send", "ill send", "pay you on", "pay it on", "pay you",
        "i can do", "pay on", "pay by", "pay tomorrow", "pay the",
    )},
    Intent.CALLBACK_REQUEST: {Where.ANY: (
        "call me later", "call me back", "call back later", "call me tomorrow", "call me at",
        "call me on", "call me in", "im busy", "i am busy", "im driving", "im at work",
        "in a meeting", "not a good time", "cant talk", "can you call", "try again later",
        "another time", "call later", "bad time", "call tomorrow",
    )},
    Intent.REPEAT_REQUEST: {
        Where.ANY: ("say that again", "repeat that", "can you repeat", "didnt catch",
                    "didnt hear", "didnt understand", "dont understand", "slower please",
                    "speak up", "could you repeat", "please repeat"),
        Where.ALONE: ("what", "sorry", "pardon", "huh", "come again", "excuse me"),
    },
    Intent.GOODBYE: {
        Where.ANY: ("bye", "goodbye", "good bye", "see you", "have a nice day",
                    "have a good day", "talk to you later"),
    },
    Intent.GREETING: {
        Where.START: ("hello", "hi", "hey", "good morning", "good afternoon",
                      "good evening", "who is this", "whos calling", "yes hello"),
    },
    Intent.AFFIRM: {
        Where.START: ("yes", "yeah", "yep", "sure", "correct", "right", "ok", "okay",
                      "of course", "absolutely", "alright", "that is correct"),
        Where.ANY: ("speaking", "this is he", "this is she", "thats me", "thats right",
                    "it is me", "its me"),
    },
    Intent.DENY: {
        Where.START: ("no", "nope", "nah", "not really", "no thanks"),
    },
}  # fmt: skip

PHRASES: dict[str, PhraseTable] = {"es": SPANISH, "en": ENGLISH}

# Words said around a turn that change nothing ("eh, ¿cómo?", "sorry, what?").
FILLERS: frozenset[str] = frozenset(
    {"eh", "ah", "em", "mm", "este", "oiga", "senorita", "senor", "joven", "mire", "uh", "um",
     "oh", "well", "so", "po", "pues"}
)  # fmt: skip

# Intents that a negation just before them turns around ("no le voy a pagar", "ya no
# estoy cesante"); not a phrase that starts with one ("no tengo plata").
NEGATABLE: frozenset[Intent] = frozenset(
    {Intent.PROMISE_TO_PAY, Intent.CALLBACK_REQUEST, Intent.HUMAN_REQUEST, Intent.AFFIRM,
     Intent.CANNOT_PAY}
)  # fmt: skip
# The order in which specific intents win over each other on equal evidence: the ones
# with legal or cost weight first (an opt-out must never be missed).
PRIORITY: tuple[Intent, ...] = (
    Intent.OPT_OUT, Intent.VOICEMAIL, Intent.HUMAN_REQUEST, Intent.WRONG_PERSON,
    Intent.DISPUTE, Intent.CANNOT_PAY, Intent.PROMISE_TO_PAY, Intent.CALLBACK_REQUEST,
    Intent.REPEAT_REQUEST, Intent.GOODBYE, Intent.DENY, Intent.AFFIRM, Intent.GREETING,
)  # fmt: skip
# Social intents lose to any specific one: "sí, le pago el viernes" is a promise.
GENERIC: frozenset[Intent] = frozenset(
    {Intent.AFFIRM, Intent.DENY, Intent.GREETING, Intent.GOODBYE}
)
