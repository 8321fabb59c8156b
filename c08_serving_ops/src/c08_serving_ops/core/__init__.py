"""The serving core every part uses: settings, errors and request schemas, logs, metrics, tracing,
server-sent events, rate limits and the circuit breaker. It imports no other part of c08.
"""
