"""Shared by the console's tests: a console app on a test store, users, signing in over httpx, and
drafts written straight into the store (for pages that need no running workflow)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
from sqlalchemy.orm import Session, sessionmaker

from mailorder.agent.config import Settings
from mailorder.agent.console.app import create_app
from mailorder.agent.console.auth import hash_password
from mailorder.domain import Candidate, Customer, Draft, DraftLine, Issue, IssueCode
from mailorder.store import console as console_store
from mailorder.store import repo
from mailorder.store.db import make_engine, make_session_factory
from mailorder.store.models import EmailRecord, EmailStatus

PASSWORD = "correct horse battery"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class MovableClock:
    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def console_settings(tmp_path, **overrides) -> Settings:
    values = dict(
        database_url=f"sqlite:///{tmp_path / 'mailorder.db'}",
        secret="console-test-secret",
        reps=["rep@example.com"],
    )
    values.update(overrides)
    return Settings(**values)


def store(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.database_url))


def add_user(sessions: sessionmaker[Session], email: str, role: str, password: str = PASSWORD) -> None:
    with sessions.begin() as session:
        assert console_store.add_user(session, NOW, email, role, hash_password(password)) is not None


def client(app, base_url: str = "http://console.test") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, follow_redirects=False
    )


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await http.get("/login")
    assert page.status_code == 200
    return await http.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)}
    )


@asynccontextmanager
async def signed_in(
    app, email: str, base_url: str = "http://console.test"
) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app, base_url) as http:
        response = await login(http, email)
        assert response.status_code == 303, response.text
        yield http


def seed_draft(
    sessions: sessionmaker[Session],
    *,
    subject: str = "Bestelling",
    html: str | None = None,
    text: str = "Graag 3x 06-0104-0221",
    status: str | None = None,
    blocking: bool = False,
) -> int:
    """An email and its draft (one line with two alternatives), as the workflow would store them."""
    message = EmailMessage()
    message["From"] = "buyer@customer.example"
    message["To"] = "orders@example.com"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.example")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    raw = message.as_bytes()
    draft = Draft(
        customer=Customer(company_id="COMP-004", company_name="Company <b>4</b>"),
        lines=[
            DraftLine(
                sku="06-0104-0221",
                product_name="ORACAL 751C limegroen",
                qty=3,
                unit="mtr",
                unit_price=9.95,
                line_total=29.85,
                confidence=0.55,
                source_text="3x 06-0104-0221 <img src=x onerror=alert(2)>",
                candidates=[
                    Candidate(sku="06-0104-0221", name="ORACAL 751C limegroen", score=80, base_unit="mtr"),
                    Candidate(sku="06-0104-0222", name="ORACAL 751C geel", score=70, base_unit="mtr"),
                    Candidate(sku="06-0104-0223", name="ORACAL 751C rood", score=60, base_unit="mtr"),
                ],
            )
        ],
        total=29.85,
        issues=[Issue(code=IssueCode.LOW_CONFIDENCE, message="line 1 is a guess", line=1, blocking=blocking)],
    )
    with sessions.begin() as session:
        email = EmailRecord(
            message_id=str(message["Message-ID"]),
            sender="buyer@customer.example",
            subject=subject,
            received_at=NOW.replace(tzinfo=None),
            size=len(raw),
            raw=raw,
            status=EmailStatus.DRAFTED,
            triage_label="order",
        )
        session.add(email)
        session.flush()
        record = repo.create_draft(
            session,
            NOW.replace(tzinfo=None),
            email_id=email.id,
            rep="rep@example.com",
            payload=draft.model_dump(mode="json"),
            customer_id="COMP-004",
            customer_name="Company <b>4</b>",
        )
        if status is not None:
            record.status = status
        repo.audit(
            session, NOW.replace(tzinfo=None), "agent", "drafted", email_id=email.id, draft_id=record.id
        )
        session.flush()
        return record.id


def app_for(settings: Settings, sessions: sessionmaker[Session], clock=None, **kwargs):
    return create_app(settings, sessions=sessions, clock=clock or MovableClock(), **kwargs)
