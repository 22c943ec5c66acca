"""Listings of uids honour the patient's composition and template restrictions, through REST, on SQLite and
PostgreSQL: a CONTRIBUTION leaves out the versions of restricted compositions (and is refused when nothing
else is in it), the DIRECTORY leaves out items pointing at them at every folder level (and refuses a change
that would drop them), exactly as a GET of the composition itself would be refused; the patient, a consent
and emergency access see them again."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import assert_error, etag
from tests.security import test_api_security as world
from tests.security.test_api_security import (
    EMERGENCY,
    NURSE,
    NURSE_HPR,
    SELF,
    STRANGER,
    UNIT,
    Client,
    Record,
    _contribution,
)
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

api, app, record, storage = world.api, world.app, world.record, world.storage  # the API world's fixtures


def _ref(uid: str) -> dict[str, Any]:
    id_type = "OBJECT_VERSION_ID" if "::" in uid else "HIER_OBJECT_ID"
    return {
        "_type": "OBJECT_REF",
        "id": {"_type": id_type, "value": uid},
        "namespace": "local",
        "type": "VERSIONED_COMPOSITION",
    }


def _folder(name: str, items: list[str], folders: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    folder: dict[str, Any] = {
        "_type": "FOLDER",
        "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
        "name": {"_type": "DV_TEXT", "value": name},
        "items": [_ref(uid) for uid in items],
    }
    if folders:
        folder["folders"] = folders
    return folder


class Listings:
    """The record's composition A and three more, B (alone), C and D (one contribution), a directory
    listing A and B at the root and A (by version uid) and C in a sub-folder; A and C restricted."""

    def __init__(self, api: Client, record: Record) -> None:
        self.api, self.ehr = api, record.ehr_id
        self.a = record.object_id
        self.contribution_a = self._contribution_of(record.version_uid)
        posted = api.call(
            "POST", f"/ehr/{self.ehr}/composition", NURSE, data=record.body, content_type="application/json"
        )
        assert posted.status_code == 201, posted.json
        self.b = etag(posted).split("::")[0]
        body = _contribution(record.body)
        body["versions"].append(body["versions"][0])
        both = api.call(
            "POST",
            f"/ehr/{self.ehr}/contribution",
            NURSE,
            json=body,
            headers={"Prefer": "return=representation"},
        )
        assert both.status_code == 201, both.json
        self.contribution_cd = both.json["uid"]["value"]
        self.c, self.d = (v["id"]["value"].split("::")[0] for v in both.json["versions"])
        sub = _folder("episode", [record.version_uid, self.c])
        created = api.call(
            "POST", f"/ehr/{self.ehr}/directory", NURSE, json=_folder("root", [self.a, self.b], [sub])
        )
        assert created.status_code == 201, created.json
        self.directory_uid = etag(created)
        self.restrictions = {
            uid: self._restrict({"target_kind": "composition", "target": uid}) for uid in (self.a, self.c)
        }

    def _contribution_of(self, version_uid: str) -> str:
        object_id = version_uid.split("::")[0]
        path = f"/ehr/{self.ehr}/versioned_composition/{object_id}/version/{version_uid}"
        version = self.api.call("GET", path, NURSE)
        assert version.status_code == 200, version.json
        return str(version.json["contribution"]["id"]["value"])

    def _restrict(self, body: dict[str, Any]) -> str:
        made = self.api.call("POST", f"/security/ehr/{self.ehr}/restriction", SELF, json=body)
        assert made.status_code == 201, made.json
        return str(made.json["control_id"])

    def versions(self, contribution: str, who: dict[str, str], **kw: Any) -> list[str]:
        answer = self.api.call("GET", f"/ehr/{self.ehr}/contribution/{contribution}", who, **kw)
        assert answer.status_code == 200, answer.json
        return [v["id"]["value"].split("::")[0] for v in answer.json["versions"]]

    def directory(self, who: dict[str, str], path: str = "/directory", **kw: Any) -> dict[str, set[str]]:
        """Folder name -> the object ids its items point at."""
        answer = self.api.call("GET", f"/ehr/{self.ehr}{path}", who, **kw)
        assert answer.status_code == 200, answer.json
        found: dict[str, set[str]] = {}

        def walk(folder: dict[str, Any]) -> None:
            found[folder["name"]["value"]] = {
                i["id"]["value"].split("::")[0] for i in folder.get("items", [])
            }
            for child in folder.get("folders", []):
                walk(child)

        walk(answer.json)
        return found


def test_restricted_compositions_are_left_out_of_listings(api: Client, record: Record) -> None:
    w = Listings(api, record)
    for uid in (w.a, w.c):  # the premise: the composition itself is refused
        assert_error(api.call("GET", f"/ehr/{w.ehr}/composition/{uid}", NURSE), 403)
    assert w.versions(w.contribution_cd, NURSE) == [w.d]
    assert w.directory(NURSE) == {"root": {w.b}, "episode": set()}
    assert w.directory(NURSE, f"/directory/{w.directory_uid}") == {"root": {w.b}, "episode": set()}
    assert w.directory(NURSE, "/directory", query_string={"path": "episode"}) == {"episode": set()}
    answers = [
        api.call("GET", f"/ehr/{w.ehr}{p}", NURSE)
        for p in ("/directory", f"/contribution/{w.contribution_cd}")
    ]
    for answer in answers:  # not even as a version uid somewhere in the body
        assert w.a not in answer.get_data(as_text=True) and w.c not in answer.get_data(as_text=True)
    # a contribution of nothing but a restricted composition is refused like the composition, and audited so
    body = assert_error(api.call("GET", f"/ehr/{w.ehr}/contribution/{w.contribution_a}", NURSE), 403)
    assert "restricted" in body["message"]
    refused = api.audit(actor_hpr=NURSE_HPR)[-1]
    assert refused["outcome"] == "denied" and refused["basis"] == "restricted"
    # the patient sees their whole record
    assert set(w.versions(w.contribution_cd, SELF)) == {w.c, w.d}
    assert w.directory(SELF) == {"root": {w.a, w.b}, "episode": {w.a, w.c}}


def test_a_change_of_a_directory_with_hidden_items_is_refused(api: Client, record: Record) -> None:
    w = Listings(api, record)
    changed = api.call(
        "PUT",
        f"/ehr/{w.ehr}/directory",
        NURSE,
        json=_folder("root", [w.b]),
        headers={"If-Match": w.directory_uid},
    )
    assert "restricted" in assert_error(changed, 403)["message"]
    deleted = api.call("DELETE", f"/ehr/{w.ehr}/directory", NURSE, headers={"If-Match": w.directory_uid})
    assert_error(deleted, 403)
    assert etag(api.call("GET", f"/ehr/{w.ehr}/directory", SELF)) == w.directory_uid  # unchanged
    assert [r["outcome"] for r in api.audit(actor_hpr=NURSE_HPR)[-2:]] == ["denied", "denied"]


def test_consent_and_emergency_show_them_again(api: Client, record: Record) -> None:
    w = Listings(api, record)
    consent = {"party_kind": "hpr", "party": NURSE_HPR, "overrides": w.restrictions[w.a]}
    assert api.call("POST", f"/security/ehr/{w.ehr}/consent", SELF, json=consent).status_code == 201
    assert w.directory(NURSE) == {"root": {w.a, w.b}, "episode": {w.a}}  # C's restriction still holds
    assert w.versions(w.contribution_cd, NURSE) == [w.d]
    assert w.versions(w.contribution_a, NURSE) == [w.a]
    assert api.audit(actor_hpr=NURSE_HPR)[-1]["consent_override"] is True  # recorded as consent's doing
    assert set(w.versions(w.contribution_cd, NURSE, headers=EMERGENCY)) == {w.c, w.d}
    flagged = api.audit(actor_hpr=NURSE_HPR)[-1]
    assert (
        flagged["emergency"] is True and flagged["emergency_code"] == EMERGENCY["X-Cdr-Emergency-Reason-Code"]
    )


def test_a_template_restriction_hides_every_composition_of_the_template(api: Client, record: Record) -> None:
    w = Listings(api, record)
    template = json.loads(record.body)["archetype_details"]["template_id"]["value"]
    w._restrict({"target_kind": "template", "target": template, "party_kind": "unit", "party": UNIT})
    assert w.directory(NURSE) == {"root": set(), "episode": set()}
    assert_error(api.call("GET", f"/ehr/{w.ehr}/contribution/{w.contribution_cd}", NURSE), 403)
    assert w.directory(SELF)["root"] == {w.a, w.b}


def test_tags_of_restricted_compositions_are_refused_and_left_out(api: Client, record: Record) -> None:
    """ITEM_TAGs are read and written as their composition is: refused for a restricted one, and the EHR's
    tag listing leaves its tags out; the patient, and emergency access, see them."""
    w = Listings(api, record)
    tag_b = api.call("PUT", f"/ehr/{w.ehr}/composition/{w.b}/tags", NURSE, json=[{"key": "seen"}])
    assert tag_b.status_code == 204, tag_b.json
    path_a = f"/ehr/{w.ehr}/composition/{w.a}/tags"
    assert_error(api.call("PUT", path_a, NURSE, json=[{"key": "hidden"}]), 403)
    # another health worker breaks the glass to tag it (an emergency grant lasts: the nurse must not use one)
    tag_a = api.call("PUT", path_a, STRANGER, json=[{"key": "hidden"}], headers=EMERGENCY)
    assert tag_a.status_code == 204, tag_a.json
    assert_error(api.call("GET", path_a, NURSE), 403)
    listed = api.call("GET", f"/ehr/{w.ehr}/tags", NURSE)
    assert listed.status_code == 200, listed.json
    assert [(t["key"], t["target"]["id"]["value"]) for t in listed.json] == [("seen", w.b)]
    assert w.a not in listed.get_data(as_text=True)
    assert {t["key"] for t in api.call("GET", f"/ehr/{w.ehr}/tags", SELF).json} == {"seen", "hidden"}
    assert {t["key"] for t in api.call("GET", f"/ehr/{w.ehr}/tags", NURSE, headers=EMERGENCY).json} == {
        "seen",
        "hidden",
    }


def test_ehrbase_item_tags_of_a_restricted_composition_are_refused(api: Client, record: Record) -> None:
    """EHRbase's /item_tag routes are the composition's, as ITS-REST's /tags: refused for a restricted one
    (read, write and delete), allowed for another and in an emergency; the patient sees them."""
    w = Listings(api, record)
    assert (
        api.call("PUT", f"/ehr/{w.ehr}/composition/{w.b}/item_tag", NURSE, json=[{"key": "k"}]).status_code
        == 200
    )
    path_a = f"/ehr/{w.ehr}/composition/{w.a}/item_tag"
    assert_error(api.call("PUT", path_a, NURSE, json=[{"key": "hidden"}]), 403)
    # another health worker breaks the glass to tag it
    [tag_id] = api.call("PUT", path_a, STRANGER, json=[{"key": "hidden"}], headers=EMERGENCY).json
    assert_error(api.call("GET", path_a, NURSE), 403)
    assert_error(api.call("DELETE", path_a, NURSE, json=[tag_id]), 403)
    assert [t["id"] for t in api.call("GET", path_a, SELF).json] == [tag_id]
