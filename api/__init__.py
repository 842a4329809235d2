"""The FastAPI application: campaigns, calls, health (more with each issue)."""
