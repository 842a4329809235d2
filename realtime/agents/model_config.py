"""How an LLM agent reaches its model: endpoint, model, sampling, deadlines, fallback."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from centralita.kernel.llm import LlmEndpoint


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


class LlmModelSpec(BaseModel):
    """Where the model is and which environment variable holds its key."""

    model_config = ConfigDict(extra="forbid")

    base_url: HttpUrl
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(
        default=None, description="Environment variable with the key (none for local servers)"
    )

    def endpoint(self, environ: Mapping[str, str]) -> LlmEndpoint:
        """The endpoint with its key read from ``environ``.

        Raises:
            ValueError: the named variable is not set.
        """
        key = "not-needed"
        if self.api_key_env is not None:
            if not environ.get(self.api_key_env):
                raise ValueError(f"{self.api_key_env} is not set: the LLM agent has no key")
            key = environ[self.api_key_env]
        return LlmEndpoint(base_url=self.base_url, model=self.model, api_key=key)
