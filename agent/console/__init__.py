"""The web console beside `serve` (`mailorder console`): the people behind the inbox see the
queue, a draft with its original email, versions and audit trail, stats, eval runs, aliases and
prompts, and reps act when their mailbox cannot (the same decisions as a reply by email,
agent.review.console_actions). On the same port, triage as an API (/api/classify).

app.py (the ASGI app, signing in and out), auth.py (passwords, signed cookies, CSRF, tokens),
deps.py (request plumbing, security headers), pages.py, actions.py, api.py (routes), views.py
(what pages show), mailview.py (the original email, rendered inert), charts.py (SVG),
evalresults.py (results/ of `mailorder eval`), classification.py (label sets), state.py,
templates/ and static/ (htmx, vendored; one stylesheet)."""
