"""Async PromQL client: timeouts, typed errors, dedupe of identical in-flight queries."""
