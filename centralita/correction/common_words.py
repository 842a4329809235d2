"""Words the post-call corrector never turns into a lexicon term.

A lexicon of surnames and products always has something that looks like "que", "pago"
or "mañana" ("Paz", "Pagano", "Mañalich"). Those words are what the caller most
likely said, and a wrong replacement there breaks a correct transcript, which costs
more than a missed fix. So the words of the language (every word `wordfreq` puts at
Zipf ``FREQUENT_ZIPF`` or above: about 16,000 in Spanish, "interesa" among them), the
words of the collection dialogue and the number words (amounts belong to the exact
dictionary and the entity parser, not to fuzzy matching) are off limits to levels 2
and 3. A misheard word is almost never a frequent word ("comprojante", "repartación"
are not words at all), so this costs few fixes; a real word misheard as another real
word ("salvo" for "saldo") is the exact dictionary's job, where a reviewer approved it.

The lists are folded (no accents, lower case): compare with `phonetic.fold`.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from wordfreq import iter_wordlist, zipf_frequency

from centralita.correction.phonetic import fold

FREQUENT_ZIPF: Final = 4.0
"""Zipf 4 is ten uses per million words: "interesa" 4.7, "saldo" 4.1, "pas" 3.7."""

_SPANISH: Final = """
a al algo alguien algun alguna alguno algunos ahi ahora alla alli antes aqui asi aun aunque
bien bueno buena buenas buenos cada casa como con contra cual cuando cuanto cuanta cuantos
cuenta cuentas da dar de del desde despues dia dias dice dicen digo dije donde dos el ella
ellas ellos en entonces era eres es esa ese eso esta estaba estado estamos estan estar este
esto estoy fue fuera gracias ha habia hace hacer hago hasta hay hoy igual la las le les lo
los luego mal mas me mes meses mi mis mismo mucho muchas muy nada nadie ni no nos nosotros
nunca o otra otro otros para pero poco por porque puede pueden puedo que quien quiero se
sea seguro si sin sobre solo son soy su sus tal tambien tan tanto te tenemos tengo tiene
tienen todo todos todas tu tus un una uno unos usted ustedes va vamos van veo vez voy y ya
yo senor senora senorita hola adios chao vale claro perfecto exacto ok okay momento favor
pago pagar pague pagado pagos pagare pagaria monto deuda deudas saldo plazo cuota cuotas
banco tarjeta credito debito cobro cobranza factura boleta interes intereses abono abonar
transferencia efectivo dinero plata peso pesos euro euros dolar dolares numero telefono
correo direccion nombre apellido fecha hora semana manana tarde noche ayer lunes martes
miercoles jueves viernes sabado domingo enero febrero marzo abril mayo junio julio agosto
septiembre setiembre octubre noviembre diciembre llamar llamo llamada llamen contestar
hablar hablo hable quiero quiere querer necesito necesita puedo podria tengo tenia trabajo
sale salgo salir llego llegar llega entiendo entiende entendi sabe se saber no problema
cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince
dieciseis diecisiete dieciocho diecinueve veinte treinta cuarenta cincuenta sesenta setenta
ochenta noventa cien ciento cientos doscientos trescientos cuatrocientos quinientos
seiscientos setecientos ochocientos novecientos mil miles millon millones medio media
primero primera segundo tercero ultimo ultima
"""

_ENGLISH: Final = """
a about after again all also am an and any are as at be because been before being but by
can could day did do does done for from get got had has have he her here him his how i if
in into is it its just know like me month more my no not now of on one only or our out
please right say see she so some that the their them then there they this time to today
tomorrow two up us want was way we week well were what when where which who will with
would yes yeah you your okay ok sure thanks thank hello hi bye pay paid payment amount
balance debt account card bank credit number phone name date call back money dollar
dollars cents three four five six seven eight nine ten hundred thousand million
"""

COMMON_WORDS: Final[dict[str, frozenset[str]]] = {
    "es": frozenset(_SPANISH.split()),
    "en": frozenset(_ENGLISH.split()),
}


def is_common(folded_word: str, language: str) -> bool:
    """Whether a folded word is common in ``language`` (or a number: digits inside).

    Args:
        folded_word: the word as `phonetic.fold` returns it, punctuation stripped.
        language: "es", "en" or a regional form ("es-CL"); unknown languages use Spanish.
    """
    if any(ch.isdigit() for ch in folded_word):
        return True
    primary = language.split("-")[0].lower()
    if primary not in COMMON_WORDS:
        primary = "es"
    return folded_word in COMMON_WORDS[primary] or folded_word in frequent_words(primary)


@cache
def frequent_words(language: str) -> frozenset[str]:
    """The folded words of ``language`` at Zipf `FREQUENT_ZIPF` or above (built once, about 0.5 s).

    Folded so that "credito" (as heard, accent dropped) finds "crédito".
    """
    words: set[str] = set()
    for word in iter_wordlist(language):  # most frequent first
        if zipf_frequency(word, language) < FREQUENT_ZIPF:
            break
        words.add(fold(word))
    return frozenset(words)
