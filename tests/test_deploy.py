"""deploy/: the systemd unit passes `systemd-analyze verify` (where the tool exists), and the
environment-file example holds only real settings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mailorder.agent.config import ENV_KEYS, Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_unit_verifies(tmp_path):
    unit = (DEPLOY / "mailorder.service").read_text()
    assert "ExecStart=/opt/mailorder/venv/bin/mailorder serve" in unit
    # verify checks that the binary exists: point it at this checkout's
    mailorder = Path(sys.executable).with_name("mailorder")
    (tmp_path / "mailorder.service").write_text(
        unit.replace("/opt/mailorder/venv/bin/mailorder", str(mailorder))
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "mailorder.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "mailorder.service" in line
    ]
    assert complaints == [], complaints  # unknown keys and bad values are only warnings: none allowed
    assert "TimeoutStopSec=60" in unit  # longer than the default drain (30 s)


def test_the_environment_example_holds_only_settings():
    values = {}
    for line in (DEPLOY / "mailorder.env.example").read_text().splitlines():
        line = line.strip().lstrip("#")
        if "=" in line and line.split("=", 1)[0].isupper():
            key, value = line.split("=", 1)
            values[key] = value
    unknown = set(values) - set(ENV_KEYS.values())
    assert not unknown, unknown
    settings = Settings.load(values)  # every value in it is valid
    assert settings.imap_ssl and settings.smtp_port == 465 and settings.http_port == 9464
    assert settings.http_host == "127.0.0.1"
