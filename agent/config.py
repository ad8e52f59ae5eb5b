"""Settings for `mailorder serve`: environment variables, or the same keys from a TOML file."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

# setting name -> environment variable
ENV_KEYS = {
    "imap_host": "MAILORDER_IMAP_HOST",
    "imap_port": "MAILORDER_IMAP_PORT",
    "imap_user": "MAILORDER_IMAP_USER",
    "imap_password": "MAILORDER_IMAP_PASSWORD",
    "imap_ssl": "MAILORDER_IMAP_SSL",
    "imap_folder": "MAILORDER_IMAP_FOLDER",
    "smtp_host": "MAILORDER_SMTP_HOST",
    "smtp_port": "MAILORDER_SMTP_PORT",
    "smtp_user": "MAILORDER_SMTP_USER",
    "smtp_password": "MAILORDER_SMTP_PASSWORD",
    "smtp_tls": "MAILORDER_SMTP_TLS",
    "from_address": "MAILORDER_FROM",
    "erp_url": "MAILORDER_ERP_URL",
    "erp_timeout": "MAILORDER_ERP_TIMEOUT",
    "erp_attempts": "MAILORDER_ERP_ATTEMPTS",
    "erp_backoff": "MAILORDER_ERP_BACKOFF",
    "smtp_timeout": "MAILORDER_SMTP_TIMEOUT",
    "database_url": "MAILORDER_DATABASE_URL",
    "checkpoint_path": "MAILORDER_CHECKPOINT_PATH",
    "reps": "MAILORDER_REPS",
    "poll_seconds": "MAILORDER_POLL_SECONDS",
    "secret": "MAILORDER_SECRET",
    "max_message_bytes": "MAILORDER_MAX_MESSAGE_BYTES",
    "token_max_age_days": "MAILORDER_TOKEN_MAX_AGE_DAYS",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "model": "MAILORDER_MODEL",
    "llm_timeout": "MAILORDER_LLM_TIMEOUT",
    "concurrency": "MAILORDER_CONCURRENCY",
    "reminder_hours": "MAILORDER_REMINDER_HOURS",
    "timezone": "MAILORDER_TIMEZONE",
    "digest_hour": "MAILORDER_DIGEST_HOUR",
    "work_start_hour": "MAILORDER_WORK_START_HOUR",
    "work_end_hour": "MAILORDER_WORK_END_HOUR",
    "llm_concurrency": "MAILORDER_LLM_CONCURRENCY",
    "llm_rpm": "MAILORDER_LLM_RPM",
    "llm_tpm": "MAILORDER_LLM_TPM",
}

DEV_SECRET = "dev-secret-change-me"


class Settings(BaseModel):
    imap_host: str = "127.0.0.1"
    imap_port: int = 3143
    imap_user: str = "orders@example.com"
    imap_password: str = "dev"
    imap_ssl: bool = False
    imap_folder: str = "INBOX"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 3025
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    from_address: str = "orders@example.com"
    erp_url: str = "http://127.0.0.1:8001"
    erp_timeout: float = 10.0  # seconds per ERP request
    erp_attempts: int = 4  # per ERP call, 5xx/timeouts/connection errors retried with backoff
    erp_backoff: float = 0.5  # first backoff in seconds (doubling, capped at 8 s)
    smtp_timeout: float = 30.0  # seconds per SMTP send
    database_url: str = "sqlite:///var/mailorder.db"
    checkpoint_path: str | None = None  # default: beside the SQLite database
    reps: list[str] = Field(default_factory=lambda: ["rep@example.com"])
    poll_seconds: float = 5.0
    secret: str = DEV_SECRET
    max_message_bytes: int = 25 * 1024 * 1024
    token_max_age_days: float = 7.0
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    model: str = "gpt-4o-mini"
    llm_timeout: float = 30.0
    concurrency: int = 64  # email threads in flight; above llm_concurrency, so model slots never idle
    reminder_hours: float = 4.0  # working hours before one reminder about an unanswered draft
    timezone: str = "Europe/Amsterdam"  # for working hours and the digest
    work_start_hour: int = 8
    work_end_hour: int = 17
    digest_hour: int = 8  # local hour of the morning digest (Mon–Fri)
    llm_concurrency: int = 32  # model requests in flight at once
    llm_rpm: int = 500  # model requests per minute
    llm_tpm: int = 2_000_000  # model tokens per minute

    @field_validator("reps", mode="before")
    @classmethod
    def _split_reps(cls, value: object) -> object:
        if isinstance(value, str):
            return [r.strip().lower() for r in value.split(",") if r.strip()]
        if isinstance(value, list):
            return [str(r).strip().lower() for r in value if str(r).strip()]
        return value

    @field_validator("from_address", "imap_user")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @property
    def default_rep(self) -> str:
        return self.reps[0]

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key)

    @property
    def resolved_checkpoint_path(self) -> Path:
        if self.checkpoint_path:
            return Path(self.checkpoint_path)
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            db = Path(self.database_url.removeprefix("sqlite:///"))
            return db.with_name(db.stem + "-checkpoints.sqlite")
        return Path("var/mailorder-checkpoints.sqlite")

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, config_file: Path | None = None, **overrides: object
    ) -> Settings:
        """TOML file values (keys as setting names or env names), then environment, then overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if config_file is not None:
            raw = tomllib.loads(Path(config_file).read_text())
            by_env = {v: k for k, v in ENV_KEYS.items()}
            for key, value in raw.items():
                name = by_env.get(key, key.lower())
                if name in ENV_KEYS:
                    values[name] = value
        for name, env in ENV_KEYS.items():
            if environ.get(env) not in (None, ""):
                values[name] = environ[env]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
