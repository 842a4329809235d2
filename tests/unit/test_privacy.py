"""Phone masking: at most the prefix and the last 4 digits ever show."""

from __future__ import annotations

import pytest

from centralita.kernel.privacy import mask_phone

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+56961234567", "+56*****4567"),
        ("+34612345678", "+34*****5678"),
        ("+5622345678", "+56****5678"),
        ("+12345678", "+12**5678"),
        ("+1234567", "+12*4567"),
    ],
)
def test_mask_phone_examples(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@pytest.mark.parametrize("number", ["", "1", "+56", "4567", "+569612", "1234567"])
def test_short_input_fully_masked(number: str) -> None:
    assert mask_phone(number) == "*" * len(number)


@pytest.mark.parametrize("length", range(0, 21))
def test_never_shows_more_than_prefix_and_last_four(length: int) -> None:
    # Distinct characters, so any character that shows can be traced to its position.
    number = "+" + "".join(chr(ord("a") + i) for i in range(length - 1)) if length else ""
    masked = mask_phone(number)

    assert len(masked) == len(number)
    shown = [i for i, ch in enumerate(masked) if ch != "*"]
    allowed = set(range(3)) | set(range(length - 4, length))
    assert set(shown) <= allowed
    for i in shown:
        assert masked[i] == number[i]
    # Something is always hidden, and the middle is always hidden.
    if length:
        assert "*" in masked
    assert set(masked[3:-4]) <= {"*"}
