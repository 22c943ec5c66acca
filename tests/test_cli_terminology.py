"""``cdr terminology check``: the configured FHIR terminology server (and its OAuth client) asked once, as an
operator would at set-up; exit 0 when both answer, 2 with the reason otherwise."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cdr.cli import main
from tests.terminology.fhir_mock import FhirMock, running
from tests.terminology.oauth_mock import TokenEndpoint


def _check() -> tuple[int, str]:
    result = CliRunner().invoke(main, ["terminology", "check"])
    return result.exit_code, result.output


def test_without_a_server_there_is_nothing_to_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDR_FHIR_TERMINOLOGY_URL", raising=False)
    code, output = _check()
    assert code == 2 and "set CDR_FHIR_TERMINOLOGY_URL" in output


def test_a_server_behind_oauth_answers_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = TokenEndpoint("cdr-kommune", secret="s3cret")
    with running(FhirMock(oauth=endpoint)) as fhir:
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", fhir.base_url)
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_TOKEN_URL", endpoint.url)
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_CLIENT_ID", "cdr-kommune")
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_CLIENT_SECRET", "s3cret")
        code, output = _check()
        assert code == 0, output
        assert "token: Bearer, issued to cdr-kommune (client_secret_basic)" in output
        assert "answers as cdr test terminology 1, FHIR 4.0.1" in output
        assert fhir.requests == ["/fhir/metadata?"]

        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_CLIENT_SECRET", "wrong")
        code, output = _check()
        assert code == 2 and "invalid_client" in output
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_CLIENT_SECRET", "s3cret")
        fhir.failing = True
        code, output = _check()
        assert code == 2 and "answered 500" in output


def test_settings_that_cannot_work_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", "https://terminologi.example.no/fhir")
    monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_CLIENT_ID", "cdr")
    code, output = _check()
    assert code == 2
    assert "CDR_FHIR_TERMINOLOGY_CLIENT_ID is set but CDR_FHIR_TERMINOLOGY_TOKEN_URL is not" in output


def test_a_dpop_client_is_checked_with_its_proofs(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = TokenEndpoint("cdr-kommune", secret="s3cret", dpop=True, resource_nonce="n1")
    with running(FhirMock(oauth=endpoint)) as fhir:
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", fhir.base_url)
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_TOKEN_URL", endpoint.url)
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_CLIENT_ID", "cdr-kommune")
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_CLIENT_SECRET", "s3cret")
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_DPOP", "true")
        code, output = _check()
        assert code == 0, output
        assert "token: DPoP, issued to cdr-kommune" in output and "FHIR 4.0.1" in output
