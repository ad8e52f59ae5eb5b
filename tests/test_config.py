"""Settings come from the environment or a TOML file with the same keys."""

from mailorder.agent.config import Settings


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
