"""`centralita demo`: the demo campaign end to end on a fresh embedded stack.

The expected results come from the demo's contacts (workers/demo.py), the personas
behind their numbers (realtime/personas/demo_es.json; a persona's last step repeats)
and the retry rules (centralita/campaigns/retry_rules.py) under the demo's policy (3 attempts).
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import phonenumbers
import pytest

from tests.support.stack import (
    CliProcess,
    StackPorts,
    dev_key_headers,
    port_is_free,
    postgres_processes,
    stack_env,
)
from workers.demo import DEMO_CONTACTS

pytestmark = pytest.mark.e2e

DEMO_TIMEOUT_S = 120


@dataclass(frozen=True)
class ExpectedContact:
    """One demo contact's attempts (outcome and masked phone, in order) and final state."""

    outcomes: tuple[str, ...]
    phones: tuple[str, ...]
    state: str

    @property
    def summary(self) -> tuple[str, int, str, str]:
        """The Summary row: last phone tried, attempts, state, outcome."""
        return (self.phones[-1], len(self.outcomes), self.state, self.outcomes[-1])


EXPECTED: dict[str, ExpectedContact] = {
    # Promises to pay on the first call: a final outcome.
    "María González": ExpectedContact(("promise_to_pay",), ("+56*****4567",), "done"),
    # No answer twice (retried on the same phone), then settles it on the third.
    "Juan Pérez": ExpectedContact(
        ("no_answer", "no_answer", "completed"), ("+56*****5678",) * 3, "done"
    ),
    # Busy (an unreached outcome: retried), then promises to pay.
    "Carmen Ruiz": ExpectedContact(("busy", "promise_to_pay"), ("+34*****5678",) * 2, "done"),
    # Never answers: excluded once the policy's 3 attempts are spent.
    "Pedro Soto": ExpectedContact(("no_answer",) * 3, ("+56*****6789",) * 3, "excluded"),
    # The old mobile fails (carrier cannot connect): the next call goes to try_phones,
    # where she asks to be called back in a moment, and then promises to pay.
    "Lucía Fernández": ExpectedContact(
        ("failed", "callback_requested", "promise_to_pay"),
        ("+34*****3456", "+34*****4567", "+34*****4567"),
        "done",
    ),
    # Somebody else answers: excluded at once.
    "Andrés Muñoz": ExpectedContact(("wrong_person",), ("+56*****4321",), "excluded"),
}
# The demo's last row has a malformed phone: rejected at upload, never dialled.
REJECTED_ROW = len(DEMO_CONTACTS)

_SUMMARY_ROW = re.compile(
    r"^(?P<name>\S.*?)\s+(?P<phone>\+[\d*]+)\s+(?P<attempts>\d+)\s+(?P<state>\S+)\s+(?P<outcome>\S+)$"
)
_PROGRESS_LINE = re.compile(
    r"^\s+\[\s*[\d.]+s\] (?P<name>\S.*?)\s+attempt (?P<n>\d+) to (?P<phone>\S+): (?P<outcome>\S+)$"
)
_CREATED = re.compile(r"^Campaign .* created: (?P<id>[0-9a-f-]{36})$", re.MULTILINE)
_MS = r"(\d{1,3}(?:,\d{3})*(?:\.\d)?) ms"
_LATENCY = re.compile(
    r"^Voice-to-voice latency \((?P<turns>\d+) turns? over (?P<calls>\d+) calls?\): "
    rf"p50 {_MS} · p95 {_MS} · max {_MS}$",
    re.MULTILINE,
)
_BREAKDOWN = re.compile(
    rf"^  p50 by part: endpointing {_MS} · STT {_MS} · brain {_MS} · TTS first audio {_MS}$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class DemoRun:
    """A finished `centralita demo` run."""

    code: int
    stdout: str
    stderr: str
    home: Path
    ports: StackPorts

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return f"{self.stdout}\n{self.stderr}"


def summary_rows(stdout: str) -> dict[str, tuple[str, int, str, str]]:
    """The Summary table, by contact name: (phone, attempts, state, outcome).

    Raises:
        AssertionError: no Summary, or a row that does not parse.
    """
    lines = stdout.splitlines()
    assert "Summary" in lines, stdout
    start = lines.index("Summary") + 3  # the title, the header and the rule
    rows: dict[str, tuple[str, int, str, str]] = {}
    for line in lines[start:]:
        if not line.strip():
            break
        match = _SUMMARY_ROW.match(line)
        assert match is not None, f"unparsable summary row: {line!r}"
        rows[match["name"]] = (
            match["phone"],
            int(match["attempts"]),
            match["state"],
            match["outcome"],
        )
    return rows


def progress(stdout: str) -> dict[str, list[tuple[int, str, str]]]:
    """The progress lines, by contact name: (attempt number, phone, outcome) in print order."""
    attempts: dict[str, list[tuple[int, str, str]]] = {}
    for line in stdout.splitlines():
        match = _PROGRESS_LINE.match(line)
        if match is not None:
            attempts.setdefault(match["name"], []).append(
                (int(match["n"]), match["phone"], match["outcome"])
            )
    return attempts


def demo_phone_forms() -> set[str]:
    """Every way the demo's valid phone numbers could be written in full."""
    forms: set[str] = set()
    for contact in DEMO_CONTACTS:
        for raw in [contact["phone"], *contact.get("try_phones", [])]:
            number = phonenumbers.parse(raw)
            if not phonenumbers.is_valid_number(number):
                continue  # the malformed row's "+56 12" is no phone number
            forms |= {
                raw,
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                str(number.national_number),
            }
    return forms


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """`centralita demo --timeout 120` on a fresh home and free ports, run to its end."""
    base = tmp_path_factory.mktemp("demo")
    home, ports = base / "home", StackPorts.pick()
    args = ["demo", "--timeout", str(DEMO_TIMEOUT_S)]
    with CliProcess(args, stack_env(home, ports), base / "cli-logs") as cli:
        code = cli.wait_exit(timeout_s=DEMO_TIMEOUT_S + 90)
        yield DemoRun(code=code, stdout=cli.stdout, stderr=cli.stderr, home=home, ports=ports)


def test_expectations_cover_the_demo_contacts() -> None:
    # Guards the table above against drift: every valid demo row, in upload order.
    valid = [c["name"] for c in DEMO_CONTACTS[: REJECTED_ROW - 1]]
    assert list(EXPECTED) == valid
    broken = phonenumbers.parse(DEMO_CONTACTS[REJECTED_ROW - 1]["phone"])
    assert not phonenumbers.is_valid_number(broken)


def test_demo_exits_0_and_leaves_nothing_running(demo_run: DemoRun) -> None:
    assert demo_run.code == 0, demo_run.output
    assert "Stopped." in demo_run.stdout
    held = {r: p for r, p in demo_run.ports.by_role().items() if not port_is_free(p)}
    assert not held, f"ports still held after the demo: {held}"
    assert not postgres_processes(demo_run.home), "the demo left its Postgres running"


def test_summary_has_each_contacts_final_result(demo_run: DemoRun) -> None:
    rows = summary_rows(demo_run.stdout)

    assert list(rows) == list(EXPECTED), demo_run.stdout
    assert rows == {name: e.summary for name, e in EXPECTED.items()}, demo_run.stdout


def test_progress_shows_every_attempt_once_in_order(demo_run: DemoRun) -> None:
    printed = progress(demo_run.stdout)

    assert set(printed) == set(EXPECTED), demo_run.stdout
    for name, expected in EXPECTED.items():
        want = [
            (n, phone, outcome)
            for n, (phone, outcome) in enumerate(
                zip(expected.phones, expected.outcomes, strict=True), start=1
            )
        ]
        assert printed[name] == want, f"{name}: {printed[name]}"


def test_prints_latency_percentiles_of_the_conversation(demo_run: DemoRun) -> None:
    latency = _LATENCY.search(demo_run.stdout)
    assert latency is not None, demo_run.stdout
    # Only María's number is a bot softphone, and she answers on the first call.
    assert int(latency["calls"]) == 1, latency[0]
    assert int(latency["turns"]) >= 1, latency[0]
    p50, p95, most = (float(latency[n].replace(",", "")) for n in (3, 4, 5))
    assert 0 < p50 <= p95 <= most, latency[0]
    breakdown = _BREAKDOWN.search(demo_run.stdout)
    assert breakdown is not None, demo_run.stdout
    # The line follows the summary table and comes before the Temporal UI links.
    out = demo_run.stdout
    assert out.index("Summary") < latency.start() < breakdown.start() < out.index("Every workflow")


def test_prints_what_the_post_call_worker_made_of_the_conversation(demo_run: DemoRun) -> None:
    out = demo_run.stdout
    assert "After the call" in out, out
    section = out[out.index("After the call") : out.index("Every workflow")]
    # María's conversation (the one real call) was re-transcribed and analysed in time.
    maria = re.search(r"María González\s+(\w+)(.*)· quality (\d\.\d\d)", section)
    assert maria is not None, section
    # She promised "Doscientos mil pesos, el viernes." (realtime/personas/demo_es.json).
    assert maria[1] == "payment_promise", section
    assert "promised 200,000 CLP on 20" in maria[2], section
    assert 0.0 <= float(maria[3]) <= 1.0


def test_rejected_row_is_reported(demo_run: DemoRun) -> None:
    accepted = REJECTED_ROW - 1
    assert f"{accepted} contacts accepted" in demo_run.stdout
    assert f"row {REJECTED_ROW} rejected" in demo_run.stdout


def test_prints_temporal_ui_links_of_this_stack(demo_run: DemoRun) -> None:
    created = _CREATED.search(demo_run.stdout)
    assert created is not None, demo_run.stdout
    ui = f"{demo_run.ports.temporal_ui_url}/namespaces/default/workflows"

    assert f"{ui}/campaign-{created['id']}" in demo_run.stdout
    assert f"{ui}?query=WorkflowId%20STARTS_WITH%20%22campaign-{created['id']}%22" in (
        demo_run.stdout
    )


def test_no_full_phone_number_in_the_output(demo_run: DemoRun) -> None:
    forms = demo_phone_forms()
    assert len(forms) >= 7 * 3  # the 7 valid numbers (Lucía has two), several forms each
    compact = re.sub(r"[\s-]", "", demo_run.output)

    leaked = sorted(f for f in forms if f in demo_run.output or f.replace(" ", "") in compact)
    assert not leaked, f"full phone numbers printed: {leaked}"


def test_keep_leaves_the_stack_up_until_sigint(tmp_path: Path) -> None:
    home, ports = tmp_path / "home", StackPorts.pick()
    args = ["demo", "--keep", "--timeout", str(DEMO_TIMEOUT_S)]
    with CliProcess(args, stack_env(home, ports), tmp_path / "cli-logs") as cli:
        out = cli.wait_for_stdout("--keep: the stack stays up", timeout_s=DEMO_TIMEOUT_S + 60)
        assert "Summary" in out
        created = _CREATED.search(out)
        assert created is not None, out

        assert cli.alive, cli.describe()
        ready = httpx.get(f"{ports.api_url}/health/ready", timeout=10.0)
        assert ready.status_code == 200, ready.text
        # The demo called the API with the stack's development key; so does this.
        campaign = httpx.get(
            f"{ports.api_url}/campaigns/{created['id']}",
            headers=dev_key_headers(home),
            timeout=10.0,
        )
        assert campaign.status_code == 200, campaign.text
        assert campaign.json()["status"] == "completed"

        code = cli.stop(signal.SIGINT, timeout_s=30)
        assert code == 0, cli.describe()
    held = {r: p for r, p in ports.by_role().items() if not port_is_free(p)}
    assert not held, f"ports still held after --keep was stopped: {held}"
    assert not postgres_processes(home), "the stopped stack left its Postgres running"
