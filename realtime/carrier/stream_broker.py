"""Which carrier media streams the media worker expects, and who is waiting for each.

Before a phone call is placed (or an inbound call answered) its dialer asks the broker
to expect a stream: it gets a one-time token, which travels in the stream parameters
(`<Parameter name="token">` in Twilio's TwiML, Telnyx's stream parameters) together with
the attempt's key. When the carrier opens the WebSocket, the media stream route claims
the token: the right dialect, the right call key, never used before. Anything else is
refused with a logged reason, so nobody who learns the WebSocket's address can inject
audio into a call or listen to one.

The claim hands the stream's leg to the waiting dialer; the dialer tells the broker
when it is done with the leg, and the route then closes the socket.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from realtime.legs.media_stream import MediaStreamLeg
from realtime.legs.stream_messages import Dialect, StreamStart

# The stream parameters that carry the token and the attempt's key.
TOKEN_PARAMETER = "token"  # noqa: S105 (a parameter's name, not a secret)
CALL_KEY_PARAMETER = "call_key"


class StreamRefusedError(LookupError):
    """A stream the media worker does not expect (the reason is safe to log)."""


@dataclass
class ExpectedStream:
    """A stream a dialer waits for: its leg once it opens, and when it may close."""

    call_key: str
    dialect: Dialect
    token: str
    leg: asyncio.Future[MediaStreamLeg] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def parameters(self) -> dict[str, str]:
        """What the carrier must send back in the stream's `start`."""
        return {TOKEN_PARAMETER: self.token, CALL_KEY_PARAMETER: self.call_key}


class StreamBroker:
    """The streams expected now, by token; each token is good for one stream."""

    def __init__(self) -> None:
        self._expected: dict[str, ExpectedStream] = {}

    def expect(self, call_key: str, dialect: Dialect) -> ExpectedStream:
        """Expect one stream for `call_key`; pass `parameters` to the carrier."""
        expected = ExpectedStream(call_key, dialect, secrets.token_urlsafe(24))
        self._expected[expected.token] = expected
        return expected

    def claim(self, start: StreamStart, dialect: Dialect) -> ExpectedStream:
        """The expectation `start` answers, used up.

        Raises:
            StreamRefusedError: no token, an unknown or used one, or one given for
                another call or another carrier.
        """
        token = start.parameters.get(TOKEN_PARAMETER)
        if not token:
            raise StreamRefusedError("the stream carries no token")
        expected = self._expected.get(token)
        if expected is None:
            raise StreamRefusedError("unknown or already used token")
        if expected.dialect is not dialect:
            raise StreamRefusedError(f"token given for {expected.dialect}, not {dialect}")
        if start.parameters.get(CALL_KEY_PARAMETER) != expected.call_key:
            raise StreamRefusedError("token given for another call")
        if expected.leg.done():
            raise StreamRefusedError("the call no longer waits for its stream")
        del self._expected[token]
        return expected

    def forget(self, expected: ExpectedStream) -> None:
        """The dialer gave up (the call was not answered): the token is void."""
        self._expected.pop(expected.token, None)
        expected.finished.set()

    def __len__(self) -> int:
        return len(self._expected)
