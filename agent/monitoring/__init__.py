"""Watching a running `serve`: /healthz, /readyz and /metrics over a tiny HTTP server (opt-in with
MAILORDER_HTTP_PORT or `serve --http-port`), the Prometheus metrics and the hooks that feed them.

http.py       the HTTP server (asyncio, on the serve loop)
endpoints.py  the three routes and the liveness state of the loops
readiness.py  IMAP login, database query, ERP request: cached for a few seconds
metrics.py    process counters and the store collector (figures from the shared database)
instrument.py hooks counting ERP requests and model calls without editing the code observed
"""
