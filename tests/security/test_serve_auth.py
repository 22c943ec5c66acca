"""``cdr serve`` checks its authentication settings itself, before it opens the database or listens:
``CDR_AUTH=none`` on an address other machines can reach, and settings the app could not use, are refused
with the usage exit code (the installed ``cdr`` script, as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cdr.cli import main
from tests.test_serve import cdr_command, free_port


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDR_")}
    return {**env, **settings}


def _serve(tmp_path: Path, host: str, **settings: str) -> subprocess.CompletedProcess[str]:
    db = tmp_path / "cdr.db"
    command = [*cdr_command(), "serve", "--host", host, "--port", str(free_port()), "--db", f"sqlite:///{db}"]
    return subprocess.run(
        command, env=_env(**settings), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_auth_none_on_a_reachable_address_is_refused_before_listening(tmp_path: Path, host: str) -> None:
    done = _serve(tmp_path, host, CDR_AUTH="none")
    assert done.returncode == 2, done.stderr
    assert "CDR_AUTH=none" in done.stderr and "loopback" in done.stderr
    assert "serving" not in done.stderr + done.stdout
    assert not (tmp_path / "cdr.db").exists()  # refused before the database was even opened


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"CDR_AUTH": "jwt"}, "CDR_AUTH_ISSUER"),
        ({"CDR_AUTH": "sometimes"}, "expected one of jwt, basic, none"),
        (
            {
                "CDR_AUTH": "jwt",
                "CDR_AUTH_ISSUER": "https://idp",
                "CDR_AUTH_AUDIENCE": "cdr",
                "CDR_AUTH_ALGORITHMS": "none",
            },
            "alg none",
        ),
    ],
)
def test_unusable_settings_are_refused_before_listening(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    done = _serve(tmp_path, "127.0.0.1", **settings)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not (tmp_path / "cdr.db").exists()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls that reached the server (its start is replaced: these cases are about what comes before)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("cdr.server.run", lambda url, **kw: calls.append({"url": url, **kw}))
    for name in [n for n in os.environ if n.startswith("CDR_AUTH")]:
        monkeypatch.delenv(name)
    return calls


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_auth_none_on_loopback_starts(started: list[dict[str, Any]], tmp_path: Path, host: str) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--host", host, "--db", f"sqlite:///{tmp_path}/x.db"], env={"CDR_AUTH": "none"}
    )
    assert result.exit_code == 0, result.output
    assert [c["host"] for c in started] == [host]


def test_without_cdr_auth_a_reachable_address_starts_with_a_warning(
    started: list[dict[str, Any]], tmp_path: Path
) -> None:
    # the app then answers loopback clients only (tests/security/test_api_security.py proves that)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 0, result.output
    assert "only loopback clients are served" in result.output
    assert [c["host"] for c in started] == ["0.0.0.0"]
