"""Settings come from the environment or a TOML file with the same keys (pydantic-settings)."""

import pytest
from typer.testing import CliRunner

from mailorder.agent.cli import app
from mailorder.agent.config import (
    ENV_KEYS,
    README_END,
    README_START,
    ConfigError,
    Settings,
    settings_table,
    unknown_environment,
)
from tests.conftest import ROOT


def test_environment_overrides_defaults():
    s = Settings.load(
        {
            "MAILORDER_IMAP_PORT": "1143",
            "MAILORDER_REPS": "Anna@x.nl, bob@x.nl",
            "MAILORDER_IMAP_SSL": "true",
            "OPENAI_API_KEY": "k",
        }
    )
    assert s.imap_port == 1143 and s.imap_ssl is True
    assert s.reps == ["anna@x.nl", "bob@x.nl"] and s.default_rep == "anna@x.nl"
    assert s.llm_enabled


def test_toml_file_uses_the_environment_names_and_env_wins(tmp_path):
    config = tmp_path / "mailorder.toml"
    config.write_text('MAILORDER_SMTP_PORT = 2525\nMAILORDER_FROM = "Orders@Shop.nl"\nreps = ["a@x"]\n')
    s = Settings.load({"MAILORDER_SMTP_PORT": "587"}, config_file=config)
    assert s.smtp_port == 587
    assert s.from_address == "orders@shop.nl"
    assert s.reps == ["a@x"]
    assert not s.llm_enabled


def test_checkpoints_live_beside_the_sqlite_database():
    s = Settings.load({"MAILORDER_DATABASE_URL": "sqlite:///var/x/mo.db"})
    assert str(s.resolved_checkpoint_path) == "var/x/mo-checkpoints.sqlite"


# --- pydantic-settings: secrets, refusals, data dir, the README table ------------------------------


def test_secrets_are_never_shown():
    s = Settings.load(
        {
            "MAILORDER_IMAP_PASSWORD": "imap-pw-123",
            "MAILORDER_SMTP_PASSWORD": "smtp-pw-456",
            "MAILORDER_SECRET": "hmac-789",
            "OPENAI_API_KEY": "sk-abc",
        }
    )
    shown = repr(s) + str(s) + s.model_dump_json()
    for secret in ("imap-pw-123", "smtp-pw-456", "hmac-789", "sk-abc"):
        assert secret not in shown
    assert s.imap_password.get_secret_value() == "imap-pw-123"
    assert s.secret.get_secret_value() == "hmac-789"


def test_a_bad_value_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"MAILORDER_IMAP_PORT.*environment"):
        Settings.load({"MAILORDER_IMAP_PORT": "not-a-port"})
    config = tmp_path / "bad.toml"
    config.write_text("MAILORDER_POLL_SECONDS = -1\n")
    with pytest.raises(ConfigError, match=f"MAILORDER_POLL_SECONDS from config file {config}"):
        Settings.load({}, config_file=config)
    with pytest.raises(ConfigError, match="MAILORDER_SECRET") as refused:
        Settings.load({"MAILORDER_SECRET": "x" * 3}, secret=12)
    assert "xxx" not in str(refused.value)  # a secret's value is not repeated in the message


def test_an_unknown_toml_key_is_refused(tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text('MAILORDER_IMAP_HOST = "mail.example.com"\nimap_pasword = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting 'imap_pasword'"):
        Settings.load({}, config_file=config)
    config.write_text("this is = not toml = at all\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load({}, config_file=config)


def test_every_command_refuses_a_bad_config_with_exit_2_and_one_line(tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text('imap_pasword = "x"\n')
    runner = CliRunner()
    for args in (
        ["serve"],
        ["stats"],
        ["orders", "list"],
        ["aliases", "list"],
        ["db", "current"],
        ["prompts", "list"],
    ):
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == 2, (args, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines == [f"mailorder: config file {config}: unknown setting 'imap_pasword'"], args


def test_settings_built_in_code_read_no_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "from-the-environment")
    monkeypatch.setenv("MAILORDER_IMAP_PORT", "9999")
    s = Settings(imap_port=1143)
    assert s.imap_port == 1143 and not s.llm_enabled
    assert Settings.load().llm_enabled and Settings.load().imap_port == 9999


def test_data_dir_is_absolute_and_holds_the_default_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.load({})
    assert s.data_dir == tmp_path / "var"
    assert s.database_url == f"sqlite:///{tmp_path / 'var' / 'mailorder.db'}"
    assert s.resolved_checkpoint_path == tmp_path / "var" / "mailorder-checkpoints.sqlite"
    elsewhere = Settings.load({"MAILORDER_DATA_DIR": "data-here"})
    assert elsewhere.database_url == f"sqlite:///{tmp_path / 'data-here' / 'mailorder.db'}"
    explicit = Settings.load({"MAILORDER_DATA_DIR": "d", "MAILORDER_DATABASE_URL": "sqlite:///x.db"})
    assert explicit.database_url == "sqlite:///x.db"


def test_unknown_mailorder_variables_are_reported():
    environ = {"MAILORDER_IMAP_PASWORD": "x", "MAILORDER_CRASH_AT": "after_draft", "MAILORDER_FROM": "a@b"}
    assert unknown_environment(environ) == ["MAILORDER_IMAP_PASWORD"]


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert README_START in readme and README_END in readme
    table = readme[readme.index(README_START) + len(README_START) : readme.index(README_END)].strip()
    missing = [env for env in ENV_KEYS.values() if f"`{env}`" not in table]
    assert not missing, f"settings missing from README.md: {missing}"
    assert table == settings_table(), "README's table is stale: python -m mailorder.agent.config README.md"
