"""``cdr.api.current``: the request, ``g`` and the app themselves, the objects the flask proxies reach."""

from __future__ import annotations

import flask
import pytest

from cdr.api.current import current_request, request_globals, the_app


def test_the_objects_behind_the_proxies() -> None:
    app = flask.Flask("current")
    with app.test_request_context("/openehr/v1/ehr?subject_id=1", headers={"Prefer": "return=minimal"}):
        request = current_request()
        assert request.args["subject_id"] == "1"
        assert request.headers["Prefer"] == "return=minimal"
        assert not isinstance(request, type(flask.request))  # the object, not another proxy
        request_globals().seen = "here"
        assert flask.g.seen == "here"
        assert the_app() is app


def test_outside_a_request_as_the_proxies_fail() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        current_request()
    with pytest.raises(RuntimeError, match="application context"):
        request_globals()
    with pytest.raises(RuntimeError, match="application context"):
        the_app()
