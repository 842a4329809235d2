"""Real SIP software as test peers on loopback: baresip (a phone) and SIPp (scripted SIP).

Our SIP user agent has to work with SIP stacks it did not write, so the tests place calls
to and from them rather than to a copy of our own parser. Both come from Debian
(`baresip-core`, `sip-tester`), installed by `make setup`.

`Baresip` is one baresip 1.0.0 process in its own config directory: UDP SIP on a free
port of 127.0.0.1, G.711 only (8 kHz) unless `codecs` says otherwise (``("opus",)``: an
Opus-only phone, mono, offering opus/48000/2 first), its microphone a WAV (`aufile`),
both directions recorded by `sndfile`, driven over `ctrl_tcp` (netstring-framed JSON: commands in,
responses and events out). What baresip 1.0.0 really does, checked on this machine:

- `aufile` plays the WAV once, then ends the call ("end of file": an AUDIO_ERROR event,
  CALL_CLOSED, a BYE), so the WAV gets `tail_silence_s` of silence appended. With no
  audio source at all it sends no RTP, so `wav=None` means silence, not nothing.
- In auto-answer it sends 180 then 200 at once and reports no CALL_INCOMING (only
  CALL_ESTABLISHED); in manual answer it sends 180 and reports CALL_INCOMING.
- `sndfile` writes `dump-<local time to the second>-dec.wav` (what it heard, decoded) and
  `-enc.wav` (what it sent) per call: two calls in the same second share a name.
- The WAV header is only right once the call is over (libsndfile fixes it on close).

`Sipp` runs one SIPp scenario (built-in `uac`/`uas`, or an XML file of
tests/support/sipp_scenarios/) and reports its exit code and its call counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np

from realtime.audio.frames import resample_pcm16
from realtime.audio.synth import read_wav_mono

SCENARIOS = Path(__file__).parent / "sipp_scenarios"
RATE = 8_000  # G.711 only: baresip's microphone and recordings run at 8 kHz
MODULES = Path("/usr/lib/baresip/modules")
DTMF_KEYS = frozenset("0123456789*#ABCD")

AnswerMode = Literal["auto", "manual"]
# The codec modules a phone may load, as baresip names them.
CODEC_MODULES = frozenset({"g711", "opus"})


class SipPeerError(RuntimeError):
    """A peer could not start, a command failed, or an awaited event never came."""


class SipPeerInputError(ValueError):
    """A bad argument to a peer (a DTMF key, a WAV, a scenario name)."""


def _require(exe: str, package: str) -> str:
    path = shutil.which(exe)
    if path is None:
        raise SipPeerError(f"{exe} is not installed: run `make setup` (Debian's {package})")
    return path


def free_udp_port(*, tcp_too: int = 0) -> int:
    """A UDP port of 127.0.0.1 free now, with TCP free on it and the `tcp_too` ports above.

    baresip listens on SIP port P over UDP and TCP and on P+1 for TLS.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            if port + tcp_too < 65536 and all(_tcp_free(port + i) for i in range(tcp_too + 1)):
                return port
    raise SipPeerError("no free port found on 127.0.0.1")


def _tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        try:
            tcp.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def write_mic_wav(source: Path | None, target: Path, tail_silence_s: float) -> None:
    """`source` (any rate, 16-bit, mono or stereo) as 8 kHz mono, then silence."""
    if source is None:
        pcm = np.zeros(0, dtype=np.int16)
    else:
        if not source.is_file():
            raise SipPeerInputError(f"microphone WAV {source} does not exist")
        samples, rate = read_wav_mono(source)
        pcm = resample_pcm16(samples, rate, RATE)
    # At least a frame: aufile refuses an empty file.
    tail = np.zeros(max(160, round(tail_silence_s * RATE)), dtype=np.int16)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.concatenate([pcm, tail]).astype("<i2").tobytes())


@dataclass(frozen=True)
class BaresipEvent:
    """One ctrl_tcp event: `kind` is its "type" (CALL_ESTABLISHED, CALL_DTMF_START...)."""

    kind: str
    param: str
    call_id: str | None
    peer_uri: str | None
    raw: dict[str, Any] = field(repr=False)


def _config(
    sip_port: int, ctrl_port: int, mic: Path, rec: Path, codecs: tuple[str, ...] = ("g711",)
) -> str:
    # Only what the tests need: no sound card, no NAT helpers, no console (stdin is
    # /dev/null), G.711 only by default. `statmode_default off` keeps the log free of the
    # status line. Opus in mono: the audio device side stays 8 kHz mono (baresip
    # resamples to Opus's 48 kHz itself).
    modules = "\n".join(f"module {codec}.so" for codec in codecs)
    return f"""poll_method epoll
sip_listen 127.0.0.1:{sip_port}
net_interface 127.0.0.1
call_local_timeout 120
call_max_calls 4
audio_source aufile,{mic}
ausrc_srate {RATE}
auplay_srate {RATE}
ausrc_channels 1
auplay_channels 1
audio_level no
audio_buffer 20-160
rtcp_mux no
jitter_buffer_delay 5-10
module_path {MODULES}
{modules}
opus_stereo no
opus_sprop_stereo no
module aufile.so
module sndfile.so
module_tmp uuid.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl_port}
statmode_default off
snd_path {rec}
"""


class Baresip:
    """One baresip process on 127.0.0.1, driven over ctrl_tcp; `async with` starts it."""

    def __init__(
        self,
        user: str = "far",
        *,
        wav: Path | None = None,
        answer: AnswerMode = "auto",
        answer_delay_s: float = 0.0,
        tail_silence_s: float = 60.0,
        sip_trace: bool = True,
        start_timeout_s: float = 10.0,
        codecs: tuple[str, ...] = ("g711",),
    ) -> None:
        if not codecs or not set(codecs) <= CODEC_MODULES:
            raise SipPeerInputError(f"codecs {codecs!r}: some of {sorted(CODEC_MODULES)}")
        if not user.isalnum():
            raise SipPeerInputError(f"user {user!r}: letters and digits only")
        if answer not in ("auto", "manual"):
            raise SipPeerInputError(f"answer {answer!r}: 'auto' or 'manual'")
        self.user = user
        self.answer = answer
        self.answer_delay_s = answer_delay_s
        self._wav = wav
        self._tail_silence_s = tail_silence_s
        self._sip_trace = sip_trace
        self._start_timeout_s = start_timeout_s
        self.codecs = codecs
        self.sip_port = 0
        self.ctrl_port = 0
        self._dir = Path(tempfile.mkdtemp(prefix="baresip-"))  # short: sndfile's path is 128 B
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._events: list[BaresipEvent] = []
        self._taken: set[int] = set()
        self._changed = asyncio.Event()
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tokens = itertools.count(1)

    @property
    def uri(self) -> str:
        """The SIP URI that reaches this phone."""
        return f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    @property
    def log_path(self) -> Path:
        return self._dir / "baresip.log"

    def log(self) -> str:
        """Everything baresip printed (with the SIP trace unless `sip_trace=False`)."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    async def __aenter__(self) -> Baresip:
        _require("baresip", "baresip-core")
        if not (MODULES / "ctrl_tcp.so").exists():
            raise SipPeerError(f"baresip modules missing in {MODULES}: run `make setup`")
        (self._dir / "rec").mkdir()
        write_mic_wav(self._wav, self._dir / "mic.wav", self._tail_silence_s)
        # The accounts line makes baresip answer; a delayed answer is ours to give.
        mode = "auto" if self.answer == "auto" and self.answer_delay_s <= 0 else "manual"
        try:
            for attempt in range(3):  # a port taken between the pick and the bind: retry
                if await self._start(mode):
                    return self
                if attempt < 2:
                    await self._stop()
            raise SipPeerError(f"baresip did not start:\n{self.log()[-3000:]}")
        except BaseException:
            await self._stop()
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()
        if exc is not None:
            # pytest shows captured output of failed tests only: the log is there for them.
            print(f"--- baresip {self.user} log ---\n{self.log()[-20000:]}", file=sys.stderr)
        shutil.rmtree(self._dir, ignore_errors=True)

    async def _start(self, mode: str) -> bool:
        self.sip_port = free_udp_port(tcp_too=1)
        self.ctrl_port = free_udp_port()
        rec, mic = self._dir / "rec", self._dir / "mic.wav"
        (self._dir / "config").write_text(
            _config(self.sip_port, self.ctrl_port, mic, rec, self.codecs)
        )
        (self._dir / "accounts").write_text(f"<{self.uri}>;regint=0;answermode={mode}\n")
        args = ["-f", str(self._dir)] + (["-s"] if self._sip_trace else [])
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                "baresip",
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = asyncio.get_running_loop().time() + self._start_timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if self._proc.returncode is not None:
                return False
            with contextlib.suppress(OSError):
                reader, self._writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
                if _udp_bound(self.sip_port):
                    self._tasks.append(asyncio.create_task(self._read(reader)))
                    return True
                self._writer.close()
            await asyncio.sleep(0.05)
        return False

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        # SIGTERM: baresip hangs up its calls (BYE) and closes its recordings.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        # Netstrings: "<length>:<json>,".
        while True:
            try:
                head = await reader.readuntil(b":")
                body = await reader.readexactly(int(head[:-1]) + 1)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            message: dict[str, Any] = json.loads(body[:-1])
            if message.get("response"):
                reply = self._replies.pop(str(message.get("token")), None)
                if reply is not None and not reply.done():
                    reply.set_result(message)
            elif message.get("event"):
                self._on_event(message)

    def _on_event(self, message: dict[str, Any]) -> None:
        event = BaresipEvent(
            kind=str(message.get("type", "")),
            param=str(message.get("param", "")),
            call_id=message.get("id"),
            peer_uri=message.get("peeruri"),
            raw=message,
        )
        self._events.append(event)
        self._changed.set()
        if event.kind == "CALL_INCOMING" and self.answer == "auto":
            self._tasks.append(asyncio.create_task(self._answer_later()))

    async def _answer_later(self) -> None:
        await asyncio.sleep(self.answer_delay_s)
        with contextlib.suppress(SipPeerError):  # the caller may have given up meanwhile
            await self.accept()

    async def command(self, name: str, params: str | None = None, timeout_s: float = 5.0) -> str:
        """Run one baresip command (as its menu names it); its reply's `data`.

        Raises:
            SipPeerError: baresip answered not-ok, or not in time.
        """
        if self._writer is None:
            raise SipPeerError(f"baresip {self.user} is not running")
        token = str(next(self._tokens))
        request: dict[str, str] = {"command": name, "token": token}
        if params is not None:
            request["params"] = params
        body = json.dumps(request).encode()
        reply = asyncio.get_running_loop().create_future()
        self._replies[token] = reply
        self._writer.write(b"%d:%s," % (len(body), body))
        try:
            answer = await asyncio.wait_for(reply, timeout_s)
        except TimeoutError:
            raise SipPeerError(f"baresip {self.user}: no reply to {name}") from None
        finally:
            self._replies.pop(token, None)
        if not answer.get("ok"):
            raise SipPeerError(f"baresip {self.user}: {name} {params or ''} failed: {answer}")
        return str(answer.get("data", ""))

    async def dial(self, uri: str) -> None:
        """Place a call (INVITE) to `uri`."""
        await self.command("dial", uri)

    async def hangup(self) -> None:
        """End the current call (BYE, or CANCEL while it rings)."""
        await self.command("hangup")

    async def accept(self) -> None:
        """Answer the ringing call (manual answer)."""
        await self.command("accept")

    async def send_dtmf(self, digits: str) -> None:
        """Send RFC 4733 telephone-events, one per key, about 240 ms apart."""
        if not digits or not set(digits) <= DTMF_KEYS:
            raise SipPeerInputError(f"DTMF {digits!r}: keys are 0-9 * # A-D")
        await self.command("sndcode", digits)

    async def transfer(self, uri: str) -> None:
        """Blind-transfer the current call to `uri` (REFER); baresip's call then closes."""
        await self.command("transfer", uri)

    @property
    def events(self) -> list[BaresipEvent]:
        """Every event so far, oldest first."""
        return list(self._events)

    async def wait_event(self, kind: str, timeout_s: float = 5.0) -> BaresipEvent:
        """The oldest event of `kind` not returned before; waits up to `timeout_s`.

        Raises:
            SipPeerError: none came in time (the message lists what did come).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            for index, event in enumerate(self._events):
                if event.kind == kind and index not in self._taken:
                    self._taken.add(index)
                    return event
            left = deadline - loop.time()
            if left <= 0:
                seen = [f"{e.kind}({e.param})" for e in self._events]
                raise SipPeerError(f"baresip {self.user}: no {kind} in {timeout_s} s; saw {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def dtmf_received(self) -> str:
        """The keys heard so far (CALL_DTMF_START events), in order."""
        return "".join(e.param for e in self._events if e.kind == "CALL_DTMF_START")

    async def recording(self, *, sent: bool = False, timeout_s: float = 3.0) -> Path | None:
        """The newest call's WAV (8 kHz mono) of what it heard (`sent`: what it said).

        None when no call was recorded. Waits for the file to be closed, which happens
        as the call ends.

        Raises:
            SipPeerError: the file was not closed in time (the call is still up).
        """
        files = sorted(
            (self._dir / "rec").glob(f"dump-*-{'enc' if sent else 'dec'}.wav"),
            key=lambda p: p.stat().st_mtime,
        )
        if not files:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not _wav_closed(files[-1]):
            if loop.time() > deadline:
                raise SipPeerError(f"{files[-1]} still open: hang up before reading it")
            await asyncio.sleep(0.05)
        return files[-1]


def _wav_closed(path: Path) -> bool:
    # libsndfile writes the RIFF length when it closes the file.
    with path.open("rb") as f:
        head = f.read(8)
    return len(head) == 8 and int.from_bytes(head[4:8], "little") + 8 == path.stat().st_size


@dataclass(frozen=True)
class SippResult:
    """How a SIPp run ended: its exit code (0: every call passed) and its counts."""

    returncode: int
    successful: int
    failed: int
    output: str = field(repr=False)
    errors: str = field(repr=False)

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and self.successful > 0


class Sipp:
    """One SIPp run on 127.0.0.1: `async with` starts it, `wait()` gives its result.

    `scenario` is a built-in ("uac", "uas") or a file name in tests/support/sipp_scenarios/
    (or a path). A UAC needs `remote` ("127.0.0.1:PORT"); `service` is the user part of
    the Request-URI it calls. A UAS listens on `port` (free one by default): `uri`.
    """

    def __init__(
        self,
        scenario: str | Path,
        *,
        remote: str | None = None,
        service: str = "service",
        calls: int = 1,
        rate: float = 1.0,
        timeout_s: float = 10.0,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if isinstance(scenario, Path) or str(scenario).endswith(".xml"):
            path = Path(scenario) if Path(scenario).is_absolute() else SCENARIOS / scenario
            if not path.is_file():
                raise SipPeerInputError(f"no SIPp scenario {path}")
            self._scenario = ["-sf", str(path)]
        elif scenario in ("uac", "uas"):
            self._scenario = ["-sn", str(scenario)]
        else:
            raise SipPeerInputError(f"SIPp scenario {scenario!r}: 'uac', 'uas' or an XML file")
        self.port = port or free_udp_port()
        self.service = service
        self._remote = [remote] if remote else []
        # -timeout alone waits for calls in progress; with -timeout_error it stops (255).
        timeout = ["-timeout", f"{round(timeout_s * 1000)}ms", "-timeout_error"]
        self._args = ["-m", str(calls), "-r", str(rate), *timeout]
        self._args += list(extra_args)
        self._timeout_s = timeout_s
        self._dir = Path(tempfile.mkdtemp(prefix="sipp-"))
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def uri(self) -> str:
        return f"sip:{self.service}@127.0.0.1:{self.port}"

    async def __aenter__(self) -> Sipp:
        _require("sipp", "sip-tester")
        media = free_udp_port()
        ip = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-mp", str(media), "-p", str(self.port)]
        traces = ["-trace_stat", "-stf", "stat.csv", "-trace_err", "-error_file", "errors.log"]
        traces += ["-trace_msg", "-message_file", "messages.log", "-nostdin"]
        with (self._dir / "output.log").open("wb") as out:
            self._proc = await asyncio.create_subprocess_exec(
                "sipp",
                *self._remote,
                *self._scenario,
                *ip,
                "-s",
                self.service,
                *self._args,
                *traces,
                cwd=self._dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        # Ready once its SIP socket is bound (or it died: wait() then says why).
        for _ in range(100):
            if _udp_bound(self.port) or self._proc.returncode is not None:
                break
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        if exc is not None:
            print(
                f"--- sipp {self._scenario[-1]} ---\n{self._read('messages.log')[-20000:]}",
                file=sys.stderr,
            )
        shutil.rmtree(self._dir, ignore_errors=True)

    async def wait(self) -> SippResult:
        """Its result once it exits (after its calls, or its -timeout)."""
        if self._proc is None:
            raise SipPeerError("sipp is not running: use `async with Sipp(...)`")
        try:
            await asyncio.wait_for(self._proc.wait(), self._timeout_s + 5)
        except TimeoutError:
            raise SipPeerError(
                f"sipp outlived its -timeout:\n{self._read('output.log')[-3000:]}"
            ) from None
        successful, failed = _counts(self._dir / "stat.csv")
        return SippResult(
            returncode=self._proc.returncode or 0,
            successful=successful,
            failed=failed,
            output=self._read("output.log"),
            errors=self._read("errors.log"),
        )

    def _read(self, name: str) -> str:
        path = self._dir / name
        return path.read_text(errors="replace") if path.exists() else ""


def _counts(stat: Path) -> tuple[int, int]:
    # The statistics CSV: a header row, then one cumulative row per dump; the last counts.
    if not stat.exists():
        return 0, 0
    rows = list(csv.reader(stat.read_text().splitlines(), delimiter=";"))
    if len(rows) < 2:
        return 0, 0
    last = dict(zip(rows[0], rows[-1], strict=False))
    return int(last.get("SuccessfulCall(C)", 0)), int(last.get("FailedCall(C)", 0))
