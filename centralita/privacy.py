"""Masking of personal data before it reaches logs, terminals and memos."""

from __future__ import annotations


def mask_phone(number: str) -> str:
    """Keep the country prefix and the last 4 digits: `+56961234567` -> `+56*****4567`."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
