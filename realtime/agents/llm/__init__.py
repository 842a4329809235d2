"""LLM agents: any OpenAI-compatible chat model as the agent's brain, streaming into TTS."""
