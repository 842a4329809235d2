"""How to reach an OpenAI-compatible model (OpenAI, vLLM, Ollama, a llama.cpp server).

Shared by the media worker's LLM agents and the post-call summary.
"""

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
