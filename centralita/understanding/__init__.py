"""Rule-based understanding of what a caller said: intents, slots, sentiment, context."""
