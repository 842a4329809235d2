"""Uploads read into titled sections: Markdown, HTML, text, PDF, DOCX, and the refusals."""

from __future__ import annotations

import pytest

from centralita.knowledge.documents import (
    Document,
    UnreadableDocument,
    UnsupportedDocument,
    read_document,
)
from tests.support.documents import Para, Table, docx, text_pdf

pytestmark = pytest.mark.unit

FAQ_MD = """\
# Preguntas frecuentes de cobranza

Esta guía responde las dudas más comunes de nuestros clientes.

## ¿Dónde puedo pagar?

Puede pagar su deuda en:

* **Servipag**, en cualquier sucursal.
* Caja Vecina de *BancoEstado*.
* En línea en [nuestro portal](https://pagos.cobranzas-ejemplo.cl).

## ¿Cuánto es con intereses?

Los intereses por mora se calculan al 1,5% mensual sobre el saldo vencido.

| Días de atraso | Recargo |
|---|---|
| 1 a 30 | 1,5% |
| 31 a 60 | 3,0% |

### Gastos de cobranza

Desde el día 21 de atraso se suman gastos de cobranza según la Ley 19.496.

```
# esto no es un título
```
"""

FAQ_HTML = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Ayuda | Cobranzas Andes</title>
<style>body { font-family: sans-serif; }</style>
<script>window.dataLayer = [];</script></head>
<body>
<nav><a href="/">Inicio</a> <a href="/ayuda">Ayuda</a></nav>
<h1>Centro de ayuda</h1>
<p>Respuestas   a sus
preguntas&nbsp;frecuentes.</p>
<h2>¿Dónde puedo pagar?</h2>
<ul><li>Servipag</li><li>Caja Vecina</li>
<li>Transferencia a la cuenta 123-456 del Banco de Chile</li></ul>
<h2>Horario de atención</h2>
<table><tr><th>Día</th><th>Horario</th></tr>
<tr><td>Lunes a viernes</td><td>9:00 a 18:00</td></tr></table>
<footer><p>Cobranzas Andes SpA &copy; 2025</p></footer>
</body></html>
"""


def headings(doc: Document) -> list[tuple[str, ...]]:
    return [s.heading_path for s in doc.sections]


def test_markdown_keeps_the_heading_path_and_the_answers() -> None:
    doc = read_document(FAQ_MD.encode(), filename="faq.md", media_type="text/markdown")
    assert doc.kind == "markdown"
    assert doc.title == "Preguntas frecuentes de cobranza"
    top = "Preguntas frecuentes de cobranza"
    assert headings(doc) == [
        (top,),
        (top, "¿Dónde puedo pagar?"),
        (top, "¿Cuánto es con intereses?"),
        (top, "¿Cuánto es con intereses?", "Gastos de cobranza"),
    ]
    where = doc.sections[1].text
    assert "**" not in where
    assert "*BancoEstado*" not in where
    assert "- Servipag, en cualquier sucursal." in where.split("\n")
    assert "nuestro portal (https://pagos.cobranzas-ejemplo.cl)" in where
    interest = doc.sections[2].text
    assert "Días de atraso | Recargo\n1 a 30 | 1,5%\n31 a 60 | 3,0%" in interest
    assert "---" not in interest
    assert "# esto no es un título" in doc.sections[3].text  # a fence's "#" is code


def test_html_skips_scripts_styles_and_navigation() -> None:
    doc = read_document(FAQ_HTML.encode(), filename="ayuda.html", media_type=None)
    assert doc.kind == "html"
    assert doc.title == "Ayuda | Cobranzas Andes"
    assert headings(doc) == [
        ("Centro de ayuda",),
        ("Centro de ayuda", "¿Dónde puedo pagar?"),
        ("Centro de ayuda", "Horario de atención"),
    ]
    everything = "\n".join(s.text for s in doc.sections)
    for hidden in ("dataLayer", "font-family", "Inicio"):
        assert hidden not in everything
    assert doc.sections[0].text == "Respuestas a sus preguntas frecuentes."
    assert doc.sections[1].text.split("\n") == [
        "- Servipag",
        "- Caja Vecina",
        "- Transferencia a la cuenta 123-456 del Banco de Chile",
    ]
    hours = doc.sections[2].text
    assert "Lunes a viernes | 9:00 a 18:00" in hours
    assert "Cobranzas Andes SpA © 2025" in hours  # footers keep addresses and names


def test_html_is_found_by_its_content_without_a_name_or_type() -> None:
    doc = read_document(FAQ_HTML.encode(), filename="upload", media_type=None)
    assert doc.kind == "html"


def test_windows_1252_text_from_a_spanish_pc_decodes() -> None:
    text = "Señor Núñez:\r\n\r\n\r\nSu deuda vence el 30 de junio.   Pague a tiempo.\r\n"
    doc = read_document(text.encode("cp1252"), filename="aviso.txt", media_type=None)
    assert doc.kind == "text"
    assert doc.title == "aviso"
    assert doc.sections[0].heading_path == ()
    assert doc.sections[0].text == "Señor Núñez:\n\nSu deuda vence el 30 de junio. Pague a tiempo."


def test_utf8_with_a_bom_and_decomposed_accents_is_normalised() -> None:
    text = "\ufeffCo\u0301mo pagar\n\nEn línea."  # "Có" written as o + combining accent
    doc = read_document(text.encode("utf-8"), filename="x.txt", media_type="text/plain")
    assert doc.sections[0].text == "Cómo pagar\n\nEn línea."


def test_a_text_pdf_gives_its_pages_text_and_title() -> None:
    pdf = text_pdf(
        [
            ["Guía de pago", "¿Dónde puedo pagar? En Servipag o Caja Vecina (sin costo)."],
            ["Intereses: 1,5% mensual sobre el saldo vencido."],
        ],
        title="Guía de pago 2025",
    )
    doc = read_document(pdf, filename="guia.pdf", media_type="application/pdf")
    assert doc.kind == "pdf"
    assert doc.title == "Guía de pago 2025"
    assert len(doc.sections) == 1
    text = doc.sections[0].text
    assert "¿Dónde puedo pagar? En Servipag o Caja Vecina (sin costo)." in text
    assert text.endswith("\n\nIntereses: 1,5% mensual sobre el saldo vencido.")


def test_a_pdf_is_recognised_by_its_bytes() -> None:
    pdf = text_pdf([["Pague antes del 5 de cada mes."]])
    doc = read_document(pdf, filename="documento", media_type="application/octet-stream")
    assert doc.kind == "pdf"
    assert doc.title == "documento"


def test_a_spanish_word_document_keeps_title_headings_lists_and_tables() -> None:
    data = docx(
        [
            Para("Manual de cobranza", "Ttulo"),
            Para("Para uso de los agentes."),
            Para("¿Dónde puedo pagar?", "Ttulo1"),
            Para("Puede pagar en:\nServipag o Caja Vecina."),
            Para("Transferencia bancaria", listed=True),
            Table([["Canal", "Horario"], ["Servipag", "9:00 a 18:00"]]),
            Para("Repactación", "Ttulo2"),
            Para("Hasta 12 cuotas sin pie."),
        ],
        title="Manual de cobranza 2025",
    )
    doc = read_document(data, filename="manual.docx", media_type=None)
    assert doc.kind == "docx"
    assert doc.title == "Manual de cobranza 2025"
    title, where = "Manual de cobranza", "¿Dónde puedo pagar?"
    assert headings(doc) == [(title,), (title, where), (title, where, "Repactación")]
    assert doc.sections[1].text == (
        "Puede pagar en:\nServipag o Caja Vecina.\n\n- Transferencia bancaria\n\n"
        "Canal | Horario\nServipag | 9:00 a 18:00"
    )


def test_word_heading_ids_alone_are_enough_without_styles_xml() -> None:
    data = docx(
        [Para("Título", "Título"), Para("Pagos", "Heading1"), Para("En Servipag.")],
        styles=False,
    )
    doc = read_document(data, filename="f.docx", media_type=None)
    assert doc.title == "Título"
    assert headings(doc) == [("Título", "Pagos")]


@pytest.mark.parametrize(
    ("data", "filename", "media_type", "says"),
    [
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "roto.pdf", "application/pdf", "PDF"),
        (b"PK\x03\x04 not really a zip", "roto.docx", None, "DOCX"),
        (b"", "vacio.txt", "text/plain", "empty"),
        (b"  \n\n ", "blanco.md", None, "empty"),
        (b"# Solo\n\n## Titulos\n", "titulos.md", None, "no text"),
    ],
)
def test_corrupt_or_empty_files_are_unreadable(
    data: bytes, filename: str, media_type: str | None, says: str
) -> None:
    with pytest.raises(UnreadableDocument) as raised:
        read_document(data, filename=filename, media_type=media_type)
    assert str(raised.value).startswith(f"{filename}: ")
    assert says in str(raised.value)


def test_a_scanned_pdf_without_text_is_unreadable() -> None:
    with pytest.raises(UnreadableDocument, match=r"escaneo\.pdf: .*no text layer"):
        read_document(text_pdf([[], []]), filename="escaneo.pdf", media_type=None)


def test_binary_that_is_not_text_is_unreadable_as_text() -> None:
    noise = bytes(range(256)) * 8
    with pytest.raises(UnreadableDocument, match=r"datos.txt: not readable as text"):
        read_document(noise, filename="datos.txt", media_type="text/plain")


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


@pytest.mark.parametrize(
    ("data", "filename", "media_type"),
    [
        (PNG, "foto.png", "image/png"),
        (PNG, "foto", None),  # nothing declared: the bytes say binary
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "viejo.doc", None),
        (b"{\\rtf1\\ansi Hola}", "carta.rtf", "application/octet-stream"),
        (b"col1,col2", "hoja.xlsx", "application/vnd.ms-excel"),
    ],
)
def test_types_we_do_not_read_are_unsupported(
    data: bytes, filename: str, media_type: str | None
) -> None:
    with pytest.raises(UnsupportedDocument) as raised:
        read_document(data, filename=filename, media_type=media_type)
    assert str(raised.value).startswith(f"{filename}: ")
