"""What leaves a process as telemetry: masked spans, masked log records, sampling, links.

The spans here are made with the process's own tracer provider and read back from an
in-memory exporter registered with it (`tests/support/tracing.py`), the way OTLP gets
them: after `MaskedExport`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from centralita.kernel.events import envelope
from centralita.kernel.logs import PersonalDataFilter, install_masking, masking_installed
from centralita.kernel.telemetry import detached, replay_safe_provider, tracer
from centralita.kernel.tracing_links import TRACE_KEY, trace_link, with_trace_context
from realtime.session.record import TurnMetrics
from realtime.session.tracing import stage, turn_span
from tests.support.tracing import captured_spans, texts_of

pytestmark = pytest.mark.unit

PHONE, RUT, DNI, NIE = "+56961234567", "12.345.678-5", "12345678Z", "X1234567L"
PERSONAL = (PHONE, "961234567", RUT, "12345678", DNI, NIE, "1234567L")


def _leaks(texts: list[str]) -> list[str]:
    return [t for t in texts if any(value in t for value in PERSONAL)]


# -- spans -------------------------------------------------------------------------------


def test_exported_spans_carry_no_phone_or_id_anywhere() -> None:
    with captured_spans() as exported:
        parent = tracer().start_span(f"GET /softphones/{PHONE}/calls/next")
        with (
            trace.use_span(parent, end_on_exit=True),
            tracer().start_as_current_span(
                "child",
                attributes={
                    "url.path": "/opt-outs/%2B56961234567",
                    "http.url": f"http://api/contacts?phone={PHONE}&rut={RUT}",
                    "ids": [DNI, "fine", NIE],
                    "turns": 3,  # numbers stay numbers
                },
                links=[trace.Link(parent.get_span_context(), {"why": f"same as {RUT}"})],
            ) as span,
        ):
            span.add_event("heard", {"text": f"mi rut es {RUT} y mi número {PHONE}"})
            try:
                raise ValueError(f"not an E.164 number: {PHONE[1:]!r} for {DNI}")
            except ValueError as exc:
                span.record_exception(exc)
                span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
    spans = exported.get_finished_spans()
    assert {s.name for s in spans} == {"GET /softphones/+56*****4567/calls/next", "child"}
    assert _leaks(list(texts_of(spans))) == []
    child = next(s for s in spans if s.name == "child")
    assert child.attributes is not None
    assert child.attributes["url.path"] == "/opt-outs/%2B56*****4567"
    assert child.attributes["ids"] == ("*******8Z", "fine", "*******7L")
    assert child.attributes["turns"] == 3
    assert child.status.description == "not an E.164 number: '*******4567' for *******8Z"
    [heard, exception] = child.events
    assert heard.attributes == {"text": "mi rut es **.***.**8-5 y mi número +56*****4567"}
    assert exception.attributes is not None
    assert "*******8Z" in str(exception.attributes["exception.stacktrace"])
    # The masked copy keeps the span's identity and family.
    assert child.parent is not None
    assert child.parent.span_id == parent.get_span_context().span_id


def test_without_an_exporter_new_traces_are_not_sampled_but_a_sampled_parent_is() -> None:
    with tracer().start_as_current_span("nobody exports") as span:
        assert not span.is_recording()
        assert not span.get_span_context().trace_flags.sampled
        assert span.get_span_context().is_valid  # the context still travels

    # A sampled trace that arrives from another process is always followed.
    remote = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    parent = trace.set_span_in_context(NonRecordingSpan(remote))
    with tracer().start_as_current_span("continued", context=parent) as span:
        assert span.is_recording()
        assert span.get_span_context().trace_id == remote.trace_id

    with captured_spans() as exported, tracer().start_as_current_span("exported") as span:
        assert span.is_recording()
    assert [s.name for s in exported.get_finished_spans()] == ["exported"]


def test_detached_work_starts_outside_the_current_trace() -> None:
    with captured_spans(), tracer().start_as_current_span("a call") as call:
        with detached():
            assert not trace.get_current_span().get_span_context().is_valid
        assert trace.get_current_span() is call


# -- an event's trace, from its producer to its delivery ------------------------------------


def test_an_event_notes_its_trace_only_when_sampled_and_receivers_never_see_it() -> None:
    data = {"call_key": "k1", "phone": PHONE}
    with tracer().start_as_current_span("untraced"):
        assert with_trace_context(data) == data  # nothing stored without tracing

    with captured_spans(), tracer().start_as_current_span("call") as call:
        stored = with_trace_context(data)
    assert stored[TRACE_KEY]["traceparent"].startswith("00-")
    link = trace_link(stored)
    assert link is not None
    assert link.context.trace_id == call.get_span_context().trace_id
    assert link.context.span_id == call.get_span_context().span_id

    body = envelope("call_ended", datetime(2026, 11, 23, tzinfo=UTC), stored)
    assert body["data"] == data
    assert trace_link(data) is None
    assert trace_link({TRACE_KEY: {"traceparent": "garbage"}}) is None


# -- a turn's spans ----------------------------------------------------------------------------


async def test_a_turn_span_holds_its_stages_with_their_latencies() -> None:
    metrics = TurnMetrics(index=2, endpointing_ms=480.0)
    with captured_spans() as exported:
        with turn_span("call-1", metrics):
            with stage("stt", metrics, "stt_ms"):
                metrics.stt_ms = 310.5
            with stage("brain", metrics, "brain_ms"):
                metrics.brain_ms = 12.25
            with pytest.raises(RuntimeError), stage("tts", metrics, "tts_first_audio_ms"):
                raise RuntimeError("voice failed")
        with stage("tts", None, "tts_first_audio_ms"):
            pass  # the greeting: no turn, no span
    spans = {s.name: s for s in exported.get_finished_spans()}
    assert set(spans) == {"turn", "stt", "brain", "tts"}
    turn = spans["turn"]
    assert turn.attributes is not None
    assert turn.attributes["centralita.call_key"] == "call-1"
    assert turn.attributes["centralita.turn_index"] == 2
    assert turn.attributes["centralita.turn.stt_ms"] == 310.5
    assert turn.attributes["centralita.turn.endpointing_ms"] == 480.0
    assert "centralita.turn.voice_to_voice_ms" not in turn.attributes
    for name, latency in (("stt", 310.5), ("brain", 12.25)):
        parent = spans[name].parent
        assert parent is not None
        assert turn.context is not None
        assert parent.span_id == turn.context.span_id
        assert spans[name].attributes == {
            "centralita.turn_index": 2,
            "centralita.latency_ms": latency,
        }
    assert spans["tts"].status.status_code is trace.StatusCode.ERROR


# -- logs --------------------------------------------------------------------------------------


class _Contact:
    def __repr__(self) -> str:
        return f"Contact(phone={PHONE!r}, rut={RUT!r})"


def test_log_records_are_masked_in_message_arguments_exception_and_stack() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("centralita.test.masking")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Keep())
    with masking_installed():
        logger.info("dialling %s for %r (%d tries)", PHONE, _Contact(), 3)
        logger.info("map %(who)s", {"who": f"NIE {NIE}"})
        logger.warning(f"f-string with {DNI}", stack_info=True)
        try:
            raise ConnectionError(f"{PHONE} unreachable")
        except ConnectionError:
            logger.exception("call to %s failed", PHONE)
    logger.info("after: %s", PHONE)  # the factory is gone again

    formatter = logging.Formatter("%(message)s")
    shown = [formatter.format(r) for r in records]
    assert shown[0] == (
        "dialling +56*****4567 for Contact(phone='+56*****4567', rut='**.***.**8-5') (3 tries)"
    )
    assert shown[1] == "map NIE *******7L"
    assert shown[2].startswith("f-string with *******8Z\nStack (most recent call last):")
    assert shown[3].startswith("call to +56*****4567 failed\nTraceback")
    assert "ConnectionError: +56*****4567 unreachable" in shown[3]
    assert _leaks(shown[:4]) == []
    assert shown[4] == f"after: {PHONE}"


def test_masking_installs_once_and_the_filter_works_on_its_own() -> None:
    restore = install_masking()
    try:
        assert install_masking()() is None  # a second install is a no-op, and so is its undo
        made = logging.getLogRecordFactory()(
            "x", logging.INFO, __file__, 1, "to %s", (PHONE,), None
        )
        assert made.getMessage() == "to +56*****4567"
    finally:
        restore()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "to %s", (PHONE,), None)
    assert PersonalDataFilter().filter(record) is True
    assert record.getMessage() == "to +56*****4567"


def test_no_trace_context_is_left_attached() -> None:
    assert otel_context.get_current() == otel_context.Context()


def test_only_an_evicted_workflows_detach_error_is_silenced() -> None:
    logger = logging.getLogger("opentelemetry.context")
    assert replay_safe_provider()  # installs the filter with the provider

    def failed_detach(context: BaseException | None) -> logging.LogRecord:
        error = ValueError("token was created in a different Context")
        error.__context__ = context
        return logger.makeRecord(
            logger.name,
            logging.ERROR,
            __file__,
            1,
            "Failed to detach context",
            (),
            (ValueError, error, None),
        )

    assert not logger.filter(failed_detach(GeneratorExit()))  # a coroutine being closed
    assert logger.filter(failed_detach(None))  # anything else is still reported
    assert logger.filter(failed_detach(RuntimeError("elsewhere")))
