"""Parsing the openEHR commit headers in both spellings the specifications used."""

from __future__ import annotations

from flask import Flask

from cdr.api.headers import audit_details, if_match


def _parse(headers: dict[str, str]) -> dict[str, object]:
    with Flask("t").test_request_context(headers=headers):
        return audit_details()


def test_release_103_spelling() -> None:
    found = _parse(
        {
            "openEHR-VERSION.lifecycle_state": 'code_string="532"',
            "openEHR-AUDIT_DETAILS.change_type": 'code_string="251"',
            "openEHR-AUDIT_DETAILS.description": 'value="An updated composition, with a comma"',
            "openEHR-AUDIT_DETAILS.committer": 'name="John Doe", external_ref.id="BC81", '
            'external_ref.namespace="demographic", external_ref.type="PERSON"',
        }
    )
    assert found["lifecycle_state"] == "532" and found["change_type"] == "251"
    assert found["description"] == "An updated composition, with a comma"
    committer = found["committer"]
    assert isinstance(committer, dict)
    assert committer["name"] == "John Doe"
    assert committer["external_ref"]["namespace"] == "demographic"


def test_later_single_header_spelling() -> None:
    found = _parse(
        {
            "openehr-version": 'lifecycle_state.code_string="553"',
            "openehr-audit-details": 'change_type.code_string="250",committer.name="Jane"',
        }
    )
    assert found["lifecycle_state"] == "553" and found["change_type"] == "250"
    assert isinstance(found["committer"], dict) and found["committer"]["name"] == "Jane"


def test_no_headers_no_values() -> None:
    assert _parse({}) == {
        "committer": None,
        "description": None,
        "change_type": None,
        "lifecycle_state": None,
    }


def test_if_match_strips_quotes_and_weakness() -> None:
    uid = "8849182c-82ad-4088-a07f-48ead4180515::sys::2"
    with Flask("t").test_request_context(headers={"If-Match": f'W/"{uid}"'}):
        assert if_match() == uid
