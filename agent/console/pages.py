"""The console's pages (GET, any signed-in role): the queue, one draft, stats, eval runs,
aliases and prompts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from mailorder.agent.console import charts, evalresults, views
from mailorder.agent.console.auth import CurrentUser
from mailorder.agent.console.deps import now, redirect, render, require_user, state
from mailorder.agent.evaluation.scoring import METRIC_ROWS
from mailorder.agent.extract.prompts import PromptNotFound, list_prompts, load_prompt, use_prompts_dir
from mailorder.store import console as console_store
from mailorder.store.aliases import list_aliases
from mailorder.store.console import utc
from mailorder.store.stats import compute_stats

router = APIRouter(dependencies=[Depends(require_user)], default_response_class=HTMLResponse)
STATS_PERIODS = (1, 7, 14, 30)


@router.get("/")
def home() -> Response:
    return redirect("/drafts")


@router.get("/drafts")
def queue(
    request: Request,
    state_filter: str = Query("open", alias="state"),
    customer: str = "",
    rep: str = "",
    q: str = "",
) -> Response:
    """Drafts, oldest waiting first; filters by state, customer, rep and subject/sender text."""
    states = views.STATE_FILTERS.get(state_filter, views.STATE_FILTERS["open"])
    moment = utc(now(request))
    with state(request).sessions() as session:
        rows = console_store.queue(
            session, states=states, customer=customer[:100], rep=rep[:320], text=q[:200]
        )
        reps = console_store.reps_with_drafts(session)
    table = [
        {
            "row": row,
            "age": views.age(row.draft.created_at, moment),
            "issues": views.issue_summary(row.issues),
        }
        for row in rows
    ]
    template = "queue_table.html" if request.headers.get("hx-request") else "queue.html"
    return render(
        request,
        template,
        title="Queue",
        rows=table,
        reps=reps,
        states=list(views.STATE_FILTERS),
        filters={"state_filter": state_filter, "customer": customer, "rep": rep, "q": q},
    )


@router.get("/drafts/{ref}")
def draft(request: Request, ref: str, user: CurrentUser = Depends(require_user)) -> Response:
    draft_id = views.draft_ref(ref)
    with state(request).sessions() as session:
        page = views.draft_page(session, draft_id) if draft_id is not None else None
    if page is None:
        return render(request, "error.html", 404, title="Not found", message=f"there is no draft {ref}")
    return render(request, "draft.html", title=f"MO-{page.record.id}", page=page, can_act=user.can_act)


@router.get("/stats")
def stats(request: Request, days: int = 7) -> Response:
    """Figures of `mailorder stats` (store.stats) over a period, and per day as charts."""
    days = days if days in STATS_PERIODS else 7
    end = utc(now(request))
    first_day = (end - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with state(request).sessions() as session:
        total = compute_stats(session, since=first_day)
        per_day = []
        day = first_day
        while day <= end:
            per_day.append((day, compute_stats(session, since=day, until=day + timedelta(days=1))))
            day += timedelta(days=1)
        times = {
            span: compute_stats(session, since=end - timedelta(days=span))
            for span in sorted({1, 7, 30, days})
        }
    labels = [d.strftime("%d %b") for d, _ in per_day]
    classes = sorted({c for _, s in per_day for c in s["emails_by_class"]})
    errors = sorted({k for _, s in per_day for k in [*s["erp_errors"], *s["mail_delivery_problems"]]})
    emails_chart = charts.stacked_bars(
        labels,
        {c: [s["emails_by_class"].get(c, 0) for _, s in per_day] for c in classes},
        title="Emails per class per day",
    )
    errors_chart = charts.stacked_bars(
        labels,
        {
            k: [s["erp_errors"].get(k, 0) + s["mail_delivery_problems"].get(k, 0) for _, s in per_day]
            for k in errors
        },
        title="ERP errors and mail delivery problems per day",
    )
    time_rows = {
        f"{label}, last {span} d": value
        for span, figures in times.items()
        for label, key in (
            ("email → summary", "median_seconds_email_to_summary"),
            ("summary → decision", "median_seconds_summary_to_decision"),
        )
        if (value := figures.get(key)) is not None
    }
    return render(
        request,
        "stats.html",
        title="Stats",
        days=days,
        periods=STATS_PERIODS,
        total=total,
        automation=charts.gauge(total["automation_rate"], title=f"Automation rate, last {days} d"),
        states_chart=charts.horizontal_bars(total["drafts_by_state"], title="Drafts by state"),
        times_chart=charts.horizontal_bars(time_rows, title="Median times (seconds)", unit=" s"),
        emails_chart=emails_chart,
        errors_chart=errors_chart,
    )


@router.get("/eval")
def eval_runs(request: Request) -> Response:
    """`mailorder eval` results: per dataset, each prompt version's newest run side by side."""
    folder = state(request).settings.console_results_dir
    runs = evalresults.read_runs(folder)
    return render(
        request,
        "eval.html",
        title="Eval",
        folder=str(folder),
        datasets=evalresults.by_dataset(runs),
        runs=runs[:50],
        rows=METRIC_ROWS,
    )


@router.get("/aliases")
def aliases(request: Request, customer: str = "") -> Response:
    with state(request).sessions() as session:
        rows = list_aliases(session, customer.strip().upper() or None)
    return render(request, "aliases.html", title="Aliases", aliases=rows, customer=customer)


@router.get("/prompts")
def prompts(request: Request) -> Response:
    """Prompt versions and which one `serve` runs (read-only)."""
    settings = state(request).settings
    use_prompts_dir(settings.prompts_dir)
    files = list_prompts()
    pinned = {"extract": settings.prompt_version, "edit": settings.edit_prompt_version}
    live: dict[str, str] = {}
    problems = []
    for name in sorted({f.name for f in files}):
        try:
            live[name] = load_prompt(name, pinned.get(name)).version
        except PromptNotFound as exc:
            problems.append(str(exc))
    return render(
        request,
        "prompts.html",
        title="Prompts",
        files=files,
        live=live,
        pinned=pinned,
        problems=problems,
        folder=str(settings.prompts_dir or "the bundled prompts"),
    )
