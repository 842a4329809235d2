"""The offline evaluation set for level 2: a lexicon, misheard -> right pairs, and words
that must not match.

The pairs are derived, deterministically, two ways: written by hand from mistakes
Whisper makes on Spanish phone audio ("salgo"/"saldo", "loscientos"/"doscientos",
"Dicon"/"DICOM", "Vizum"/"Bizum"), and generated from the lexicon by the confusions
a phone line causes (b/v, s/z/c, ll/y, a dropped or added h, a voiced/unvoiced or
nasal consonant swapped, a final s or d lost, doubled letters, a word split in two or
two joined). The lexicon is full of near neighbours ("Pérez", "Peña", "Paz", "Parra")
so the right entry has to beat look-alikes, not an empty field.
"""

from __future__ import annotations

import random
import re
from typing import Final

from centralita.correction.lexicon import LexiconEntry, LexiconKind
from centralita.correction.phonetic import compact

_SURNAMES: Final = """
Pérez Peña Paz Parra Pardo Pareja Peralta Perea Ponce Prieto Pizarro Pinto Pino Poblete
González Gómez Gutiérrez Guzmán Godoy Gallardo Garrido Gallego Garcés Gil Giménez Jiménez
Hernández Herrera Hidalgo Henríquez Haro Huerta Fernández Fuentes Figueroa Flores Fuenzalida
Rodríguez Rojas Ruiz Ramos Ramírez Reyes Riquelme Rivera Rivas Robles Romero Rubio Ríos
Sánchez Sáez Salazar Sandoval Sepúlveda Silva Soto Suárez Saavedra Salinas Serrano Sanz
Martínez Muñoz Morales Molina Moreno Medina Méndez Mendoza Miranda Montero Moya Marín
López Lagos Lara León Lillo Llanos Lorca Lozano Luna Leiva Lobos Lucero Llorente
Vásquez Velázquez Vargas Valenzuela Vera Vidal Villalobos Valdés Vega Venegas Villegas
Castillo Contreras Cortés Cáceres Carrasco Cabrera Campos Castro Cerda Cisternas Correa
Díaz Domínguez Durán Delgado Donoso Espinoza Escobar Orellana Ortiz Olivares Ortega Osorio
Bravo Bustos Becerra Benítez Barrera Blanco Beltrán Tapia Torres Toledo Tobar Yáñez Zúñiga
Aguilar Alarcón Álvarez Araya Arancibia Acevedo Alvarado Aravena Ibáñez Iglesias Quiroga
Quintana Quezada Navarro Núñez Chávez Echeverría Cifuentes Zamora Zapata Urrutia Uribe
"""

_FIRST_NAMES: Final = """
María José Juan Carlos Javier Jorge Jaime Gerardo Guillermo Gonzalo Héctor Hugo Ximena
Valentina Verónica Yolanda Lorena Rocío Cecilia Celia Sergio Silvia Ignacio Raquel Yasna
"""

_COMPANIES: Final = """
DICOM|BancoEstado|Banco Santander|Scotiabank|Itaú|Falabella|Ripley|Cencosud|Movistar|Entel
Claro|Vodafone|Iberdrola|Endesa|Naturgy|Mapfre|Caixabank|BBVA|Sabadell|Bankinter|Unicaja
Metrogas|Aguas Andinas|Enel|Líder|Jumbo|Sodimac|Paris|Abcdin|Hites|Tricot|Corona|La Polar
"""

_PRODUCTS: Final = """
CuentaRUT|Bizum|Tarjeta CMR|Visa Platinum|Mastercard Black|Cuenta Vista|Crédito Hipotecario
Tarjeta Oro|Plan Fibra|Seguro Hogar|Avance en Efectivo|Superavance|Tarjeta Lider|Plan Total
"""

_PLACES: Final = """
Santiago|Valparaíso|Viña del Mar|Concepción|Temuco|Rancagua|Antofagasta|Iquique|Puerto Montt
Ñuñoa|Providencia|Las Condes|Maipú|Puente Alto|Quilicura|Huechuraba|Vitacura|Peñalolén
Madrid|Barcelona|Valencia|Sevilla|Zaragoza|Málaga|Bilbao|Valladolid|Vigo|Gijón|Alicante
"""

_TERMS: Final = """
saldo|repactación|morosidad|renegociación|prescripción|finiquito|convenio|cuota vencida
abono|cobranza|liquidación|boleta|factura|pagaré|interés moratorio|castigo|aval|hipoteca
doscientos|trescientos|quinientos|setecientos|novecientos|deuda vencida|orden de no pago
"""

# Misheard -> right, as Whisper writes them on phone audio (each right side is an entry).
HANDWRITTEN: Final[tuple[tuple[str, str], ...]] = (
    ("salgo", "saldo"),
    ("loscientos", "doscientos"),
    ("Dicon", "DICOM"),
    ("Dicong", "DICOM"),
    ("di com", "DICOM"),
    ("Vizum", "Bizum"),
    ("bi sum", "Bizum"),
    ("cuenta rut", "CuentaRUT"),
    ("cuentarrut", "CuentaRUT"),
    ("banco estado", "BancoEstado"),
    ("vanco estado", "BancoEstado"),
    ("re pactación", "repactación"),
    ("repatación", "repactación"),
    ("morosida", "morosidad"),
    ("moro sidad", "morosidad"),
    ("pagare", "pagaré"),
    ("finikito", "finiquito"),
    ("prescrición", "prescripción"),
    ("tres cientos", "trescientos"),
    ("quinien tos", "quinientos"),
    ("sete cientos", "setecientos"),
    ("nove cientos", "novecientos"),
    ("Peres", "Pérez"),
    ("Ernández", "Hernández"),
    ("Gonsales", "González"),
    ("Rodrigues", "Rodríguez"),
    ("Basques", "Vásquez"),
    ("Belasques", "Velázquez"),
    ("Yanes", "Yáñez"),
    ("Súñiga", "Zúñiga"),
    ("Echeverria", "Echeverría"),
    ("Eceverría", "Echeverría"),
    ("Riquelmi", "Riquelme"),
    ("Sepulbeda", "Sepúlveda"),
    ("Fuensalida", "Fuenzalida"),
    ("Enrríquez", "Henríquez"),
    ("Quiroja", "Quiroga"),
    ("Cifuente", "Cifuentes"),
    ("Jiménes", "Jiménez"),
    ("Scotia bank", "Scotiabank"),
    ("Escotiabank", "Scotiabank"),
    ("Ibérdrola", "Iberdrola"),
    ("Naturji", "Naturgy"),
    ("Caixa bank", "Caixabank"),
    ("Metro gas", "Metrogas"),
    ("Sodimak", "Sodimac"),
    ("Falabela", "Falabella"),
    ("Ñuñoa", "Ñuñoa"),
    ("Nunoa", "Ñuñoa"),
    ("Peñalolen", "Peñalolén"),
    ("Uechuraba", "Huechuraba"),
    ("Vitacuda", "Vitacura"),
    ("Kilicura", "Quilicura"),
    ("Maipu", "Maipú"),
    ("Ranca gua", "Rancagua"),
    ("Super avance", "Superavance"),
    ("Ximena", "Ximena"),
    ("Jimena", "Ximena"),
    ("Yasmna", "Yasna"),
    ("Guiyermo", "Guillermo"),
)

# Ordinary words a caller says that are in no lexicon: none may match.
NEGATIVES: Final = """
carretera vecino hermano hermana trabajo sueldo despedido enfermo hospital colegio
almuerzo comida cocina ventana puerta camioneta auto micro metro lluvia calor verano
invierno cumpleaños matrimonio separado abogado contador oficina sucursal cajero clave
contraseña mensaje correo llamada recado favor problema pregunta respuesta seguro tranquilo
disculpe perdone entiendo claro exacto perfecto obviamente lamentablemente sinceramente
mañana pasado semana quincena feriado vacaciones jubilado pensión arriendo dividendo luz
agua gas internet celular computador impresora documento carnet cédula firma contrato
"""

# (confusion, rewrite): each takes a lower-case word and returns it misheard, or the
# same word when the confusion does not apply to it.
_CONFUSIONS: Final[tuple[tuple[str, str, str], ...]] = (
    ("b/v", "v", "b"),
    ("v/b", "b", "v"),
    ("z/s", "z", "s"),
    ("s/z", "s", "z"),
    ("ce/se", "ce", "se"),
    ("ci/si", "ci", "si"),
    ("ll/y", "ll", "y"),
    ("y/ll", "y", "ll"),
    ("h dropped", "h", ""),
    ("qu/k", "qu", "k"),
    ("rr/r", "rr", "r"),
    ("d/t", "d", "t"),
    ("g/j", "ge", "je"),
    ("n/m", "n", "m"),
    ("r/l", "r", "l"),
    ("final s lost", "s$", ""),
    ("ñ/n", "ñ", "n"),
    ("accent lost", "á", "a"),
)


def _entries(block: str, kind: LexiconKind, separator: str | None) -> list[LexiconEntry]:
    texts = block.split() if separator is None else block.replace("\n", separator).split("|")
    return [LexiconEntry(kind=kind, text=t.strip(), source="seed") for t in texts if t.strip()]


def lexicon() -> list[LexiconEntry]:
    """The evaluation lexicon: surnames, first names, companies, products, places, terms."""
    return [
        *_entries(_SURNAMES, "person", None),
        *_entries(_FIRST_NAMES, "person", None),
        *_entries(_COMPANIES, "company", "|"),
        *_entries(_PRODUCTS, "product", "|"),
        *_entries(_PLACES, "place", "|"),
        *_entries(_TERMS, "domain_term", "|"),
    ]


def _mishear(word: str, rng: random.Random) -> tuple[str, str] | None:
    """One or two phone-line confusions applied to ``word``; None when none applies."""
    lower = word.lower()
    applicable = [c for c in _CONFUSIONS if re.search(c[1], lower)]
    if not applicable:
        return None
    rng.shuffle(applicable)
    heard, names = lower, []
    for name, pattern, replacement in applicable[: rng.choice((1, 1, 2))]:
        heard = re.sub(pattern, replacement, heard, count=1)
        names.append(name)
    if heard == lower:
        return None
    # Whisper capitalises names it does not know, so keep the entry's first capital.
    if word[:1].isupper():
        heard = heard[:1].upper() + heard[1:]
    return heard, "+".join(names)


def _split(word: str) -> str:
    middle = len(word) // 2
    return word[:middle] + " " + word[middle:].lower()


def pairs(seed: int = 6) -> list[tuple[str, str, str]]:
    """(heard, right, how) pairs: the hand-written ones, then the generated ones."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    out = [(heard, right, "handwritten") for heard, right in HANDWRITTEN if heard != right]
    for entry in lexicon():
        if " " in entry.text:
            out.append((entry.text.replace(" ", ""), entry.text, "joined"))
            continue
        if rng.random() < 0.12 and len(entry.text) >= 7:
            out.append((_split(entry.text), entry.text, "split"))
            continue
        misheard = _mishear(entry.text, rng)
        if misheard is not None:
            out.append((misheard[0], entry.text, misheard[1]))
    # A confusion that lands on another entry ("Pino" -> "Pinto") is no mishearing.
    known = {compact(e.text) for e in lexicon()}
    return [p for p in out if compact(p[0]) not in known]


def negatives() -> list[str]:
    """Ordinary words that must stay as heard (no lexicon entry is near enough)."""
    return NEGATIVES.split()
