"""`mask_personal`: every written phone and national id masked, everything else untouched.

Telemetry runs it over whatever text a span or a log line carries, so the tables go
both ways: personal values in the forms people and systems write them, and the
numeric-looking things telemetry is full of (timestamps, addresses, ids, amounts) that
must stay readable.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.kernel.privacy import mask_national_id, mask_personal, mask_phone

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # E.164, as stored and dialled
        ("+56961234567", "+56*****4567"),
        ("+34612345678", "+34*****5678"),
        ("+5622345678", "+56****5678"),
        ("+12025550123", "+12*****0123"),
        # written with groups
        ("+56 9 6123 4567", "+56 * **** 4567"),
        ("(+56) 9 6123-4567", "(+56) * ****-4567"),
        ("+34 612 34 56 78", "+34 *** ** 56 78"),
        ("+1 (202) 555-0123", "+1 (2**) ***-0123"),
        # in a URL path, raw or with the '+' encoded
        ("/opt-outs/+56961234567", "/opt-outs/+56*****4567"),
        ("/softphones/%2B56961234567/calls/next", "/softphones/%2B56*****4567/calls/next"),
        ("phone=%2b34612345678&x=1", "phone=%2b34*****5678&x=1"),
        # national forms, without the country code
        ("961234567", "*****4567"),
        ("9 6123 4567", "* **** 4567"),
        ("612 345 678", "*** **5 678"),
        ("0034612345678", "*********5678"),
        # in sentences, logs and JSON
        ("llámeme al 961234567.", "llámeme al *****4567."),
        ("dialling +56961234567 (attempt 2)", "dialling +56*****4567 (attempt 2)"),
        ('{"phone": "+56961234567"}', '{"phone": "+56*****4567"}'),
        ("to_number='+56961234567'", "to_number='+56*****4567'"),
        ("tel:+34612345678", "tel:+34*****5678"),
    ],
)
def test_phones_keep_at_most_the_prefix_and_last_four_digits(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # Chilean RUT: dotted, plain, K as check digit, the dotted body alone
        ("12.345.678-5", "**.***.**8-5"),
        ("RUT 9.876.543-2", "RUT *.***.**3-2"),
        ("12345678-5", "*******8-5"),
        ("rut: 7654321-k", "rut: ******1-k"),
        ("12.345.678-K.", "**.***.**8-K."),
        ("su rut 12.345.678 por favor", "su rut **.***.*78 por favor"),
        # Spanish DNI
        ("12345678Z", "*******8Z"),
        ("DNI 87654321-x", "DNI *******1-x"),
        # Spanish NIE
        ("X1234567L", "*******7L"),
        ("nie y-7654321-b", "nie *-******1-b"),
        ("Z7654321H,", "*******1H,"),
    ],
)
def test_national_ids_keep_their_last_two_characters(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "",
        "call over, 3 turns",
        # clocks and dates
        "2026-11-23",
        "2026-11-23 15:00:00",
        "2026-11-23T15:00:00.123456+00:00",
        "15:04:05.123",
        "1732372800",  # epoch seconds: 10 digits, but see below
        "1732372800.123",
        # addresses and ports
        "127.0.0.1:8100",
        "192.168.100.200",
        "10.0.0.1/8",
        # ids
        "3ba22c1a-3aff-477b-a796-387150003669",
        "12345678-9abc-4def-8123-456789012345",  # a UUID whose first part is all digits
        "00000000-0000-0000-0000-000000000001",
        "campaign-8b88eed5-ddd0-433a-88f5-d1d02e25725d-contact-28642e0c-7f8c-40f0-ba6a"
        "-f8de20d4c917-attempt-1",
        "evt_0123456789abcdef0123456789abcdef",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "inbound-6b2f0c8e-1d2a-4d1e-9a0e-0e3c2d1b5a40",
        # amounts, figures and versions
        "200000 CLP",
        "took 123.456 ms",
        "0.123456789012",
        "v1.35.0",
        "pid 1234567",
        "SELECT * FROM calls WHERE id = %s::uuid LIMIT 500",
    ],
)
def test_what_only_looks_numeric_stays_as_it_is(text: str) -> None:
    if text == "1732372800":
        # Ten bare digits are a phone as far as text can tell (a Chilean landline with
        # its area code is nine); an epoch stamp alone in a line pays for that.
        assert mask_personal(text) == "******2800"
        return
    assert mask_personal(text) == text


def test_several_values_in_one_text_are_each_masked() -> None:
    text = "María (12.345.678-5) +56961234567, fijo +56 2 2345 6789; NIE X1234567L"
    assert mask_personal(text) == (
        "María (**.***.**8-5) +56*****4567, fijo +56 * **** 6789; NIE *******7L"
    )


def test_a_known_phone_masks_as_mask_phone_does() -> None:
    for number in ("+56961234567", "+34612345678", "+5622345678", "+12345678", "+1234567"):
        assert mask_personal(number) == mask_phone(number)


def test_mask_national_id_keeps_separators() -> None:
    assert mask_national_id("12.345.678-5") == "**.***.**8-5"
    assert mask_national_id("X-1234567-L") == "*-******7-L"


# Any E.164 number, wherever it sits in a sentence, loses its middle digits.
@given(
    country=st.sampled_from(["1", "34", "56", "44", "598"]),
    rest=st.text(alphabet="0123456789", min_size=7, max_size=11),
    before=st.sampled_from(["", "tel ", "(", "/", '"', "x="]),
    after=st.sampled_from(["", " ", ")", "/", '"', ".", ","]),
)
def test_no_e164_number_survives(country: str, rest: str, before: str, after: str) -> None:
    number = f"+{country}{rest}"[:16]
    masked = mask_personal(f"{before}{number}{after}")
    assert number not in masked
    digits = re.sub(r"\D", "", number)
    shown = re.sub(r"[^\d]", "", masked)
    # at most two digits after the '+' and the last four show
    assert len(shown) <= 6
    assert digits.endswith(shown[-4:])
