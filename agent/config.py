"""Settings of every `mailorder` command: one pydantic-settings model.

`Settings.load()` reads, highest priority first: explicit overrides (CLI options), the environment
(`MAILORDER_*`, plus `OPENAI_API_KEY` / `OPENAI_BASE_URL`), a TOML file (`--config`, keys as the
environment names or the setting names), then the defaults. An unknown TOML key or a bad value
is refused with the variable's name (`ConfigError`; the CLI exits 2 with one line).
Passwords, keys and the HMAC secret are `SecretStr`: never shown in logs or reprs.

`Settings(...)` built directly (tests, demo, benchmarks) takes only the values given: nothing is
read from the environment then.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from mailorder.agent.workhours import WorkingHours, parse_days

ENV_PREFIX = "MAILORDER_"
DEV_SECRET = "dev-secret-change-me"
LANGUAGES = ("en", "nl", "de")  # mail.i18n.LANGUAGES
# settings whose environment name is not MAILORDER_<NAME>
_ENV_NAME_OVERRIDES = {
    "from_address": "MAILORDER_FROM",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
}
# MAILORDER_* variables that are not settings (tests and fault injection read them directly)
_NOT_SETTINGS = ("MAILORDER_CRASH_AT", "MAILORDER_TEST_")


class ConfigError(ValueError):
    """A setting that cannot be used: the message names the variable (one line)."""


def _env(name: str) -> Any:
    """Field options for a setting whose environment name is not the prefixed field name."""
    return {"validation_alias": AliasChoices(name, _ENV_NAME_OVERRIDES_REVERSE[name])}


_ENV_NAME_OVERRIDES_REVERSE = {env: name for name, env in _ENV_NAME_OVERRIDES.items()}


class Settings(BaseSettings):
    """Every setting, its default and meaning (the README's configuration table is checked against
    this model by tests/test_config.py)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="forbid",
        validate_by_name=True,
        validate_default=True,
        env_ignore_empty=True,
    )

    # --- the order inbox (IMAP) ------------------------------------------------------------------
    imap_host: str = Field("127.0.0.1", description="order inbox server")
    imap_port: int = Field(3143, description="order inbox port")
    imap_user: str = Field("orders@example.com", description="inbox login")
    imap_password: SecretStr = Field(SecretStr("dev"), description="inbox password")
    imap_ssl: bool = Field(False, description="IMAP over TLS (use in production)")
    imap_folder: str = Field("INBOX", description="folder to poll")
    # --- outgoing mail (SMTP) --------------------------------------------------------------------
    smtp_host: str = Field("127.0.0.1", description="outgoing mail server")
    smtp_port: int = Field(3025, description="outgoing mail port (465 = implicit TLS)")
    smtp_user: str | None = Field(None, description="SMTP auth user, optional")
    smtp_password: SecretStr | None = Field(None, description="SMTP auth password, optional")
    smtp_tls: bool = Field(False, description="STARTTLS")
    smtp_timeout: float = Field(
        30.0,
        description="seconds per SMTP operation (up to 4 reused connections per worker); a send queued "
        "for a connection fails when nothing got through for this long, and the outbox retries it",
    )
    from_address: str = Field(
        "orders@example.com",
        description="the agent's address; reply tokens ride in its plus-part",
        **_env("MAILORDER_FROM"),
    )
    # --- ERP --------------------------------------------------------------------------------------
    erp_url: str = Field("http://127.0.0.1:8001", description="ERP API")
    erp_timeout: float = Field(10.0, description="seconds per ERP request")
    erp_attempts: int = Field(4, description="tries per ERP call (5xx, timeouts, connection errors)")
    erp_backoff: float = Field(0.5, description="first backoff in seconds (doubling, capped at 8 s)")
    # --- where data lives -------------------------------------------------------------------------
    data_dir: Path = Field(
        Path("var"),
        description="folder of the SQLite store and checkpoints when no URL is given; "
        "made absolute and logged at start",
    )
    database_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['data_dir'] / 'mailorder.db'}",
        description="the store (SQLAlchemy URL); default DATA_DIR/mailorder.db",
    )
    checkpoint_path: str | None = Field(
        None, description="LangGraph checkpoints (SQLite); default beside the SQLite store"
    )
    auto_migrate: bool = Field(True, description="`serve` upgrades the database schema on start")
    # --- review -----------------------------------------------------------------------------------
    reps: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["rep@example.com"],
        description="allowed reviewers, comma-separated, each optionally with its language "
        "(rep@example.com:nl); the first is the default rep",
    )
    language: str = Field(
        "en", description="language of mail to reps without one of their own: en, nl or de (Babel catalogs)"
    )
    _languages: dict[str, str] = PrivateAttr(default_factory=dict)
    secret: SecretStr = Field(
        SecretStr(DEV_SECRET), description="HMAC key for reply tokens: set it, the same on every worker"
    )
    token_max_age_days: float = Field(7.0, description="reply tokens expire")
    # --- earned autonomy (off by default) ---------------------------------------------------------
    autopost: Literal["off", "on"] = Field(
        "off", description="routine drafts post themselves after a veto window (on) or always wait (off)"
    )
    autopost_customers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="company ids allowed to post automatically, comma-separated, or * for all "
        "(also `mailorder autopost enable|disable`)",
    )
    autopost_min_history: int = Field(
        5, description="earlier orders of the customer approved without edits (none corrected or held) first"
    )
    autopost_max_total: float = Field(
        2500.0, description="drafts above this total (EUR) always wait for a rep"
    )
    autopost_window_seconds: float = Field(
        1800.0, description="working seconds a rep has to reply HOLD, edit or reject before it posts"
    )
    # --- processing -------------------------------------------------------------------------------
    poll_seconds: float = Field(5.0, description="poll interval")
    max_message_bytes: int = Field(
        25 * 1024 * 1024, description="larger messages (25 MiB) go to mailorder/failed"
    )
    concurrency: int = Field(
        64, description="emails processed at once per worker (keep it above the model concurrency)"
    )
    # --- order files attached to emails (PDF, Excel, CSV, Word, images) ----------------------------
    attachment_max_bytes: int = Field(
        10 * 1024 * 1024,
        description="an order file (PDF, Excel, CSV, Word, image) larger than this (10 MiB) is named on "
        "the draft, not read",
    )
    attachment_max_total: int = Field(
        20 * 1024 * 1024,
        description="order-file bytes read per email (20 MiB); later files are named, not read",
    )
    attachment_max_count: int = Field(
        10, description="order files read per email; later ones are named, not read"
    )
    attachment_max_pages: int = Field(
        30, description="pages read per PDF or scan; a longer file is read in part and its draft cannot post"
    )
    attachment_max_rows: int = Field(
        2000, description="table rows and text lines read per order file; beyond that the draft cannot post"
    )
    summary_attachment_bytes: int = Field(
        5 * 1024 * 1024,
        description="the customer's order files a rep's summary carries, in total (5 MiB; the outbox "
        "keeps every summary); larger ones are named, not attached",
    )
    # --- the model path ---------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None,
        description="enables the model path (without it: the deterministic extractor)",
        **_env("OPENAI_API_KEY"),
    )
    openai_base_url: str | None = Field(
        None, description="any OpenAI-compatible server (default: OpenAI)", **_env("OPENAI_BASE_URL")
    )
    model: str = Field("gpt-4o-mini", description="model name")
    llm_timeout: float = Field(30.0, description="seconds per model call")
    llm_max_tokens: int = Field(
        1024, ge=1, description="most tokens per model answer; the response body is capped to match"
    )
    llm_concurrency: int = Field(32, description="model requests in flight at once")
    llm_rpm: int = Field(500, description="model requests per minute")
    llm_tpm: int = Field(2_000_000, description="model tokens per minute")
    # --- prompts ----------------------------------------------------------------------------------
    prompt_version: str | None = Field(
        None, description="extraction prompt version live in `serve` (e.g. extract-v1); default newest"
    )
    edit_prompt_version: str | None = Field(
        None, description="free-text edit prompt version (e.g. edit-v1); default newest"
    )
    prompts_dir: Path | None = Field(None, description="an admin's own prompts folder instead of prompts/")
    # --- follow-ups -------------------------------------------------------------------------------
    reminder_hours: float = Field(4.0, description="working hours before one reminder about a draft")
    timezone: str = Field(
        "Europe/Amsterdam",
        description="time zone of the working hours (reminders, the digest, the autopost window)",
    )
    work_days: str = Field(
        "mon-fri", description="working days: a range or list of mon..sun (mon-fri, mon-sat, mon,wed,fri)"
    )
    work_start_hour: int = Field(8, ge=0, le=23, description="working hours start (local hour, 0..23)")
    work_end_hour: int = Field(17, ge=1, le=24, description="working hours end (local hour, up to 24)")
    digest_hour: int = Field(8, description="local hour of the morning digest")
    # --- running as a service ---------------------------------------------------------------------
    drain_seconds: float = Field(30.0, description="on SIGTERM/SIGINT, how long emails in flight may finish")
    http_port: int | None = Field(
        None, description="serve /healthz, /readyz and /metrics on this port (`serve --http-port`)"
    )
    http_host: str = Field(
        "127.0.0.1", description="address of the HTTP endpoints: loopback unless widened (e.g. 0.0.0.0)"
    )
    ready_interval: float = Field(
        5.0, description="/readyz checks IMAP, database and ERP at most this often (seconds)"
    )
    # --- the web console (`mailorder console`) and /api/classify -------------------------------------
    console_host: str = Field(
        "127.0.0.1", description="address of the console: loopback unless widened (put TLS in front of it)"
    )
    console_port: int = Field(8080, description="port of the console and /api/classify (`console --port`)")
    console_session_seconds: float = Field(
        28800.0, description="a console sign-in expires after this many seconds (8 h)"
    )
    console_label_sets: Path | None = Field(
        None,
        description="TOML file of per-mailbox contact reasons for /api/classify (keyword rules, "
        "labelled examples); other mailboxes get the triage labels",
    )
    console_results_dir: Path = Field(
        Path("results"), description="folder of the `mailorder eval` results the console shows on /eval"
    )

    @field_validator("reps", mode="before")
    @classmethod
    def _split_reps(cls, value: object) -> object:
        if isinstance(value, str):
            return [r.strip().lower() for r in value.split(",") if r.strip()]
        if isinstance(value, list):
            return [str(r).strip().lower() for r in value if str(r).strip()]
        return value

    @field_validator("reps")
    @classmethod
    def _some_rep(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one rep address is needed")
        for entry in value:
            _, _, lang = entry.partition(":")
            if lang and lang not in LANGUAGES:
                raise ValueError(f"{entry}: the language after ':' is one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("autopost_customers", mode="before")
    @classmethod
    def _split_customers(cls, value: object) -> object:
        if isinstance(value, str):
            return [c.strip().upper() for c in value.split(",") if c.strip()]
        if isinstance(value, list):
            return [str(c).strip().upper() for c in value if str(c).strip()]
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in LANGUAGES:
            raise ValueError(f"one of {', '.join(LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _rep_languages(self) -> Settings:
        """rep@example.com:nl -> the address in `reps`, its language kept aside."""
        languages: dict[str, str] = {}
        addresses: list[str] = []
        for entry in self.reps:
            address, _, lang = entry.partition(":")
            addresses.append(address)
            if lang:
                languages[address] = lang
        self.reps = addresses
        self._languages = languages
        return self

    def rep_language(self, rep: str) -> str:
        """The language a rep reads (their own, else MAILORDER_LANGUAGE)."""
        return self._languages.get(rep.strip().lower(), self.language)

    @field_validator("work_days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value.strip().lower()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (e.g. Europe/Amsterdam)") from None
        return value

    @model_validator(mode="after")
    def _hours_in_order(self) -> Settings:
        if self.work_end_hour <= self.work_start_hour:
            raise ValueError("MAILORDER_WORK_END_HOUR must be after MAILORDER_WORK_START_HOUR")
        return self

    @property
    def working_hours(self) -> WorkingHours:
        return WorkingHours(
            ZoneInfo(self.timezone), self.work_start_hour, self.work_end_hour, parse_days(self.work_days)
        )

    @field_validator("from_address", "imap_user")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return Path(value).expanduser().resolve()

    @field_validator("prompts_dir")
    @classmethod
    def _existing_folder(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        folder = Path(value).expanduser().resolve()
        if not folder.is_dir():
            raise ValueError(f"no such folder: {folder}")
        return folder

    @field_validator("http_port", "imap_port", "smtp_port", "console_port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 65535:
            raise ValueError("a port is 0..65535")
        return value

    @field_validator(
        "attachment_max_bytes",
        "attachment_max_total",
        "attachment_max_count",
        "attachment_max_pages",
        "attachment_max_rows",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("drain_seconds", "ready_interval", "poll_seconds")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @property
    def default_rep(self) -> str:
        return self.reps[0]

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite store's file (None for PostgreSQL or an in-memory database)."""
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix("sqlite:///").split("?", 1)[0])
        return None

    @property
    def resolved_checkpoint_path(self) -> Path:
        if self.checkpoint_path:
            return Path(self.checkpoint_path)
        db = self.sqlite_path
        if db is not None:
            return db.with_name(db.stem + "-checkpoints.sqlite")
        return self.data_dir / "mailorder-checkpoints.sqlite"

    # --- loading ----------------------------------------------------------------------------------
    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, config_file: Path | None = None, **overrides: object
    ) -> Settings:
        """Overrides (None = not given), then the environment, then the TOML file, then defaults.
        Raises ConfigError naming the variable when a key is unknown or a value is bad."""
        environ = os.environ if environ is None else environ
        given = {k: v for k, v in overrides.items() if v is not None}
        with _loading(_Sources(environ, config_file)):
            try:
                return cls(**given)  # type: ignore[arg-type]  # values are validated
            except ValidationError as exc:
                raise ConfigError(_describe(exc, environ, config_file, given)) from None
            except SettingsError as exc:
                raise ConfigError(str(exc)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = _LOADING.get()
        if sources is None:  # Settings(...) built directly: only the values given
            return (init_settings,)
        return (
            init_settings,
            _MappingEnvSource(settings_cls, sources.environ),
            _TomlSource(settings_cls, sources.config_file),
        )


def env_name(field: str) -> str:
    """The environment variable of a setting."""
    return _ENV_NAME_OVERRIDES.get(field, ENV_PREFIX + field.upper())


ENV_KEYS = {name: env_name(name) for name in Settings.model_fields}  # setting name -> environment variable


def unknown_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """MAILORDER_* variables that are no setting (a typo is ignored otherwise: serve warns)."""
    environ = os.environ if environ is None else environ
    known = set(ENV_KEYS.values())
    return sorted(
        k
        for k in environ
        if k.upper().startswith(ENV_PREFIX)
        and k.upper() not in known
        and not k.upper().startswith(_NOT_SETTINGS)
    )


def describe_field(name: str) -> tuple[str, str]:
    """(default as text, meaning) of a setting, for the README table and `--help`."""
    info: FieldInfo = Settings.model_fields[name]
    if info.default_factory is not None:
        default = {"reps": "rep@example.com", "database_url": "sqlite:///DATA_DIR/mailorder.db"}.get(name, "")
    else:
        value = info.default
        if isinstance(value, SecretStr):
            value = "dev value (warns)" if name == "secret" else value.get_secret_value()
        default = "unset" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return default, info.description or ""


# --- sources ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Sources:
    environ: Mapping[str, str]
    config_file: Path | None


_LOADING: ContextVar[_Sources | None] = ContextVar("mailorder_settings_sources", default=None)


@contextmanager
def _loading(sources: _Sources) -> Iterator[None]:
    token = _LOADING.set(sources)
    try:
        yield
    finally:
        _LOADING.reset(token)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ, or a test's dict)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items() if v != ""}


class _TomlSource(PydanticBaseSettingsSource):
    """A TOML file whose keys are environment names (MAILORDER_IMAP_HOST) or setting names
    (imap_host), case-insensitive. Unknown keys are refused."""

    def __init__(self, settings_cls: type[BaseSettings], config_file: Path | None) -> None:
        super().__init__(settings_cls)
        self.values = _read_toml(config_file) if config_file is not None else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _read_toml(config_file: Path) -> dict[str, Any]:
    path = Path(config_file)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    by_name = {n.lower(): n for n in Settings.model_fields} | {e.lower(): n for n, e in ENV_KEYS.items()}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = by_name.get(key.lower())
        if name is None:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
        values[name] = value
    return values


def _describe(
    exc: ValidationError, environ: Mapping[str, str], config_file: Path | None, given: Mapping[str, object]
) -> str:
    """One line naming the variable, where its value came from and what is wrong with it."""
    error = exc.errors()[0]
    loc = str(error["loc"][0]) if error["loc"] else ""
    name = _ENV_NAME_OVERRIDES_REVERSE.get(loc.upper(), loc.lower())
    if (
        name.upper().startswith(ENV_PREFIX)
        and name.lower().removeprefix("mailorder_") in Settings.model_fields
    ):
        name = name.lower().removeprefix("mailorder_")
    variable = env_name(name) if name in Settings.model_fields else loc
    if name in given:
        origin = "option"
    elif any(k.upper() == variable for k in environ):
        origin = "environment"
    elif config_file is not None:
        origin = f"config file {config_file}"
    else:
        origin = "default"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown setting {loc!r} ({origin})"
    shown = "" if "password" in name or name in ("secret", "openai_api_key") else f" (got {error['input']!r})"
    return f"invalid setting {variable} from {origin}: {message}{shown}"


# --- the README's configuration table --------------------------------------------------------------
README_START = "<!-- settings table: generated by `python -m mailorder.agent.config README.md` -->"
README_END = "<!-- end of settings table -->"


def settings_table() -> str:
    """The README's configuration table, one row per setting, from this model."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name in Settings.model_fields:
        default, meaning = describe_field(name)
        rows.append(f"| `{env_name(name)}` | `{default}` | {meaning} |")
    return "\n".join(rows)


def write_readme_table(readme: Path) -> bool:
    """Replace the table between the markers in `readme`; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    updated = text[:start] + "\n" + settings_table() + "\n" + text[end:]
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":  # python -m mailorder.agent.config README.md
    import sys

    for target in sys.argv[1:]:
        print(f"{target}: {'updated' if write_readme_table(Path(target)) else 'up to date'}")
