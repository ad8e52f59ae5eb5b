"""The workflow and the runtime around it, in rooms along an email's path:

inbox/      IMAP ingest, dedupe, claims and heartbeat, the processing pool, crash recovery
workflow/   the LangGraph order workflow: state, context, graph, one module per node
extract/    triage, the deterministic extractor, order files in attachments, the model path, learning
            from corrections
review/     a rep's reply: matching, authorisation, decisions, the wire formats, edits
outgoing/   everything the agent sends: outbox, mailing, bounces, reminders and digests
evaluation/ `mailorder eval`: datasets, the production pipeline over them, scoring
monitoring/ watching `serve`: /healthz, /readyz, /metrics (HTTP server, readiness, Prometheus metrics)
console/    the web console beside `serve` (`mailorder console`): queue, drafts, stats, eval runs; decisions
            through review/console_actions.py; triage as an API (/api/classify)
cli/        the `mailorder` command line; demo.py, service.py (wiring for `serve`), shutdown.py
            (draining on SIGTERM/SIGINT) and config.py (settings of every command) beside them
"""
