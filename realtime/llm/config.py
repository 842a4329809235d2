"""How an LLM agent reaches its model: endpoint, model, sampling, deadlines, fallback."""

from __future__ import annotations

from pydantic import BaseModel, Field, HttpUrl


class LlmEndpoint(BaseModel):
    """One OpenAI-compatible server (OpenAI, vLLM, Ollama, a llama.cpp server)."""

    base_url: HttpUrl = Field(
        description="e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1"
    )
    model: str = Field(min_length=1)
    api_key: str = Field(
        default="not-needed", repr=False, description="From settings, never logged"
    )


class LlmConfig(BaseModel):
    """An agent's model and how the brain treats it.

    The deadlines keep the line alive: with no token after `filler_after_s` the agent
    says a short filler ("Un momento, por favor") so the caller never waits in silence
    much longer; a server error or a request past `request_timeout_s` is retried once,
    on `fallback` when one is configured.
    """

    endpoint: LlmEndpoint
    fallback: LlmEndpoint | None = None
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    max_tokens: int = Field(default=300, ge=16, le=4096)
    filler_after_s: float = Field(default=1.0, gt=0, le=2.0)
    request_timeout_s: float = Field(
        default=4.0, gt=0, description="Silence from the model before another attempt"
    )
    max_tool_rounds: int = Field(default=3, ge=1, le=8)
