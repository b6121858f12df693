"""Backtests: the operator's engine replayed over what Prometheus recorded.

Beside runtime in the layers: it reads history through prometheus.ranges and decides
nothing itself, only feeds the engine what the live operator would have fed it."""
