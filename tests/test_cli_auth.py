"""``cdr auth user``: the users-file entry it prints authenticates that user in Basic mode, nobody else."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdr.cli import main
from cdr.security import authenticate
from cdr.security.config import AuthConfig
from cdr.security.errors import Unauthenticated


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_printed_entry_authenticates_the_user_with_its_scopes(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "auth",
            "user",
            "kari",
            "--scope",
            "cdr/ehr.read",
            "--scope",
            "cdr/query",
            "--display-name",
            "Kari Nordmann",
            "--password-stdin",
        ],
        input="s3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    assert "s3cret-pass" not in result.stdout
    users = tmp_path / "users.json"
    users.write_text(json.dumps(entry))
    config = AuthConfig.from_env({"CDR_AUTH": "basic", "CDR_AUTH_BASIC_USERS_FILE": str(users)})

    principal = authenticate(_basic("kari", "s3cret-pass"), config)
    assert principal.subject == "kari"
    assert set(principal.scopes) >= {"cdr/ehr.read", "cdr/query"}
    with pytest.raises(Unauthenticated):
        authenticate(_basic("kari", "wrong"), config)
    with pytest.raises(Unauthenticated):
        authenticate(_basic("ola", "s3cret-pass"), config)


def test_scope_is_required_and_empty_password_refused() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["auth", "user", "kari", "--password-stdin"], input="x\n").exit_code == 2
    args = ["auth", "user", "kari", "--scope", "cdr/query", "--password-stdin"]
    empty = runner.invoke(main, args, input="\n")
    assert empty.exit_code == 2


def test_identity_options_reach_the_principal(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "auth",
            "user",
            "kari",
            "--scope",
            "cdr/ehr.write",
            "--hpr-number",
            "565501872",
            "--orgnr-parent",
            "974633574",
            "--orgnr-child",
            "984588839",
            "--password-stdin",
        ],
        input="s3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    users = tmp_path / "users.json"
    users.write_text(result.stdout)
    config = AuthConfig.from_env({"CDR_AUTH": "basic", "CDR_AUTH_BASIC_USERS_FILE": str(users)})

    principal = authenticate(_basic("kari", "s3cret-pass"), config)
    assert (principal.hpr_number, principal.orgnr_parent, principal.orgnr_child) == (
        "565501872",
        "974633574",
        "984588839",
    )
    assert principal.pid is None


def test_malformed_identity_is_a_usage_error_naming_the_field() -> None:
    args = ["auth", "user", "kari", "--scope", "cdr/query", "--pid", "1234", "--password-stdin"]
    result = CliRunner().invoke(main, args, input="s3cret-pass\n")
    assert result.exit_code == 2
    assert "pid" in result.output
