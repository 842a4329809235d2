"""HTTP tools, MCP servers and tool invocations: what is asked for, stored and answered,
and what a call is given to run them. Pure; no I/O.

Secrets (an HTTP tool's signing `secret`, an MCP server's `token` and `headers`) are
taken unconstrained here and checked by `secret_problems`/`header_problems`, so that no
validation error can echo one back (Pydantic's errors carry their input). Answers show a
token's last four characters and the names of the headers, never their values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from centralita.actions.schemas import schema_problems

MCP_PREFIX: Final = "mcp_"
MAX_TOOL_NAME: Final = 64  # what OpenAI-compatible APIs accept as a function name
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_PRINTABLE: Final = re.compile(r"^[\x20-\x7e]+$")
# Headers the HTTP client owns: a tenant's value would break or smuggle the request.
_RESERVED_HEADERS: Final = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "mcp-session-id"}
)

ToolName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{1,63}$",
        description="What the agent calls it: lower case, digits and '_', 2 to 64.",
    ),
]
ServerName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9]{1,23}$",
        description="Lower case and digits, 2 to 24; its tools reach agents as "
        "`mcp_<server>_<tool>`.",
    ),
]
AgentName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
TimeoutMs = Annotated[
    int, Field(ge=100, le=30_000, description="The most the agent waits for an answer.")
]
McpToolName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-/]{1,128}$")]


class _ToolSettings(BaseModel):
    """What HTTP tools and MCP servers share: timing, lines and the agents they serve."""

    model_config = ConfigDict(extra="forbid")

    timeout_ms: TimeoutMs = 5000
    waiting_line: Line | None = Field(
        default=None,
        description="Said once when the tool takes longer than ~300 ms (default: the "
        "language's 'one moment').",
    )
    failure_line: Line | None = Field(
        default=None,
        description="Said when it fails or times out; the conversation goes on.",
    )
    agents: list[AgentName] | None = Field(
        default=None, max_length=100, description="The agents that get it; null: all."
    )


class HttpToolCreate(_ToolSettings):
    """A tool that POSTs its arguments, signed, to the tenant's URL."""

    name: ToolName
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        max_length=1000, description="What the model is told the tool does."
    )
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="The arguments' JSON Schema (an object schema).",
    )
    url: Url
    method: Literal["POST"] = "POST"
    secret: str | None = Field(
        default=None,
        description="Unset: generated. Else whsec_ + base64 of 24 to 64 bytes. Shown once.",
    )

    @field_validator("name")
    @classmethod
    def _not_mcp(cls, name: str) -> str:
        if name.startswith(MCP_PREFIX):
            raise ValueError(f"names starting with {MCP_PREFIX!r} are MCP servers' tools")
        return name

    @field_validator("parameters")
    @classmethod
    def _schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        problems = schema_problems(schema)
        if problems:
            raise ValueError("; ".join(problems))
        return schema


class HttpTool(BaseModel):
    """A stored HTTP tool (its secret is never answered but at creation)."""

    id: str
    name: str
    description: str
    parameters: dict[str, Any]
    url: str
    method: str
    timeout_ms: int
    waiting_line: str | None
    failure_line: str | None
    agents: list[str] | None
    created_at: datetime
    updated_at: datetime


class HttpToolCreated(HttpTool):
    """The tool with its signing secret: the only answer that shows it."""

    secret: str


class HttpToolPage(BaseModel):
    total: int
    items: list[HttpTool]


class McpServerCreate(_ToolSettings):
    """An MCP server (streamable HTTP) whose allow-listed tools agents may call."""

    name: ServerName
    url: Url
    allowed_tools: list[McpToolName] = Field(
        min_length=1, max_length=100, description="The server's tools agents may call."
    )
    token: str | None = Field(
        default=None, description="Sent as `Authorization: Bearer`; never answered."
    )
    headers: dict[str, str] | None = Field(
        default=None, description="Other headers to send (values never answered)."
    )


class McpServer(BaseModel):
    """A stored MCP server, its credentials shown as hints."""

    id: str
    name: str
    url: str
    allowed_tools: list[str]
    timeout_ms: int
    waiting_line: str | None
    failure_line: str | None
    agents: list[str] | None
    token_hint: str | None
    header_names: list[str]
    created_at: datetime


class McpServerPage(BaseModel):
    total: int
    items: list[McpServer]


class ToolInvocation(BaseModel):
    """One call of a tenant tool during a call, as logged."""

    id: int
    call_key: str
    agent: str | None
    tool: str
    kind: Literal["http", "mcp"]
    arguments: dict[str, Any]
    result: dict[str, Any]
    latency_ms: float
    success: bool
    error: str | None
    created_at: datetime


class ToolInvocationPage(BaseModel):
    total: int
    items: list[ToolInvocation]


@dataclass(frozen=True)
class HttpToolConfig:
    """An HTTP tool as a call runs it (secret opened)."""

    name: str
    description: str
    parameters: dict[str, Any]
    url: str
    timeout_ms: int
    waiting_line: str | None
    failure_line: str | None
    secret: str = field(repr=False)


@dataclass(frozen=True)
class McpServerConfig:
    """An MCP server as a call uses it (credentials opened)."""

    name: str
    url: str
    allowed_tools: tuple[str, ...]
    timeout_ms: int
    waiting_line: str | None
    failure_line: str | None
    token: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def request_headers(self) -> dict[str, str]:
        """The headers every request to the server carries."""
        sent = dict(self.headers)
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        return sent


@dataclass(frozen=True)
class Invocation:
    """One tool call to log (arguments already masked)."""

    call_key: str
    agent: str | None
    tool: str
    kind: Literal["http", "mcp"]
    arguments: dict[str, Any]
    result: dict[str, Any]
    latency_ms: float
    success: bool
    error: str | None


def mcp_tool_name(server: str, tool: str) -> str:
    """The name agents call an MCP server's tool by: `mcp_<server>_<tool>`, lower case,
    anything but letters, digits and '_' as '_', at most 64 characters."""
    clean = re.sub(r"[^a-z0-9_]", "_", tool.lower())
    return f"{MCP_PREFIX}{server}_{clean}"[:MAX_TOOL_NAME]


def token_problems(token: str) -> list[str]:
    """Why `token` cannot be a bearer token (never quoting it)."""
    if not 8 <= len(token) <= 4096:
        return ["token: must be 8 to 4096 characters"]
    if not _PRINTABLE.match(token) or " " in token:
        return ["token: must be printable ASCII without spaces"]
    return []


def header_problems(headers: dict[str, str]) -> list[str]:
    """Why `headers` cannot be sent (naming the header, never quoting its value)."""
    problems: list[str] = []
    if len(headers) > 20:
        return ["headers: at most 20"]
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            problems.append(f"headers: {name[:100]!r} is not a header name")
        elif name.lower() in _RESERVED_HEADERS or name.lower() == "authorization":
            problems.append(f"headers.{name}: set by Centralita (use `token` for a bearer)")
        elif not value or len(value) > 4096 or not _PRINTABLE.match(value):
            problems.append(f"headers.{name}: must be 1 to 4096 printable ASCII characters")
    return problems
