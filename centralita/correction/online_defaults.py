"""Default wrong -> right pairs for the online corrector, per language.

They fix what the embedded Whisper models get wrong in debt-collection calls: split or
misheard number words, and the acronyms of Chile and Spain (RUT, DICOM, UF, DNI, NIE,
Bizum). Each pair is exact and safe out of context; a pair that could wrongly fire on
an ordinary word (a first name such as "Ruth", the verb form "iban") does not belong
here but in a tenant's own dictionary, or in the post-call corrector that sees context.

Keys are matched ignoring case and accents, whole words only; multi-word keys match
the words in sequence separated by spaces or hyphens.
"""

from __future__ import annotations

DEFAULTS_ES: dict[str, str] = {
    # Hundreds heard as two words, or with the first sound swapped.
    "loscientos": "doscientos",
    "dos cientos": "doscientos",
    "dos cientas": "doscientas",
    "tres cientos": "trescientos",
    "tres cientas": "trescientas",
    "cuatro cientos": "cuatrocientos",
    "cuatro cientas": "cuatrocientas",
    "seis cientos": "seiscientos",
    "seis cientas": "seiscientas",
    "sete cientos": "setecientos",
    "siete cientos": "setecientos",
    "ocho cientos": "ochocientos",
    "ocho cientas": "ochocientas",
    "nueve cientos": "novecientos",
    "nove cientos": "novecientos",
    "quinien tos": "quinientos",
    # Money and debt words.
    "salgo pendiente": "saldo pendiente",
    "salgo deudor": "saldo deudor",
    "salgo insoluto": "saldo insoluto",
    "re pactar": "repactar",
    "re pactación": "repactación",
    "re negociar": "renegociar",
    "a bonar": "abonar",
    "morosida": "morosidad",
    "de uda pendiente": "deuda pendiente",
    # Chile.
    "rut": "RUT",
    "r u t": "RUT",
    "erre u te": "RUT",
    "rud": "RUT",
    "dicom": "DICOM",
    "di com": "DICOM",
    "dicon": "DICOM",
    "u efe": "UF",
    "uf": "UF",
    "cuenta rut": "CuentaRUT",
    # Spain.
    "dni": "DNI",
    "de ene i": "DNI",
    "nie": "NIE",
    "bizum": "Bizum",
    "bisum": "Bizum",
    "vizum": "Bizum",
    "bi zum": "Bizum",
}

DEFAULTS_EN: dict[str, str] = {
    "pay pal": "PayPal",
    "paypal": "PayPal",
    "zell": "Zelle",
    "zelle": "Zelle",
    "venmo": "Venmo",
    "s s n": "SSN",
}

DEFAULTS: dict[str, dict[str, str]] = {"es": DEFAULTS_ES, "en": DEFAULTS_EN}
