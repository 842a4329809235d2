"""SQL that reads stored calls (`details`) and their turn latencies (`latency`)."""
