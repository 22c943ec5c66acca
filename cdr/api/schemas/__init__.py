"""Request parameter schemas (marshmallow) and response documents, one module per resource.

:func:`parse_args` loads the query string with a schema and turns marshmallow's errors into a 400 naming
every offending parameter.
"""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from cdr.api.current import current_request
from cdr.api.errors import ApiError
from cdr.services.errors import Issue
from cdr.storage.schema import ID


class Instant(fields.Field):
    """An ISO 8601 date-time in extended format (``2015-01-20T19:30:22.765+01:00``); without a zone it is UTC.

    The ``T`` is required: ``2024-01-01 10:00:00.000`` is refused (EHRbase's suites expect a 400).
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str) or "T" not in value:
            raise ValidationError("expected an ISO 8601 date-time such as 2015-01-20T19:30:22.765+01:00")
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
        except ValueError:
            raise ValidationError(f"{value!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:  # 0001-01-01T00:00:00+14:00: before year 1 in UTC, which no instant here holds
            raise ValidationError(f"{value!r} falls outside the years 0001-9999 in UTC") from None


class VersionAtTime(Schema):
    class Meta:
        unknown = EXCLUDE

    version_at_time = Instant(load_default=None)


class SubjectQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    # no EHR's subject is longer (cdr.storage.schema.ID): a longer one is a 400, not a look-up
    subject_id = fields.String(required=True, validate=validate.Length(max=ID))
    subject_namespace = fields.String(required=True, validate=validate.Length(max=ID))


class DirectoryQuery(VersionAtTime):
    path = fields.String(load_default=None)


class FormatQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    format = fields.String(load_default=None)
    templateId = fields.String(load_default=None)


class CompositionQuery(FormatQuery):
    version_at_time = Instant(load_default=None)


_DEFAULTS: weakref.WeakKeyDictionary[Schema, dict[str, Any]] = weakref.WeakKeyDictionary()


def parse_args(schema: Schema) -> dict[str, Any]:
    """The query string loaded by ``schema``; 400 listing every bad parameter. Most requests have no query
    string: the schema's defaults are then loaded once per schema."""
    req = current_request()
    if not req.args:
        defaults = _DEFAULTS.get(schema)
        if defaults is None:
            defaults = _DEFAULTS[schema] = schema.load({})
        return dict(defaults)
    try:
        loaded: dict[str, Any] = schema.load(req.args.to_dict())
    except ValidationError as exc:
        messages = exc.normalized_messages()
        details = [Issue(f"?{name}", "PARAMETER", "; ".join(map(str, m))) for name, m in messages.items()]
        text = "; ".join(f"{d.path}: {d.message}" for d in details)
        raise ApiError(f"invalid query parameters: {text}", details=details) from None
    return loaded
