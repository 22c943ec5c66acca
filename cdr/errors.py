"""The exception hierarchy: one root, structured fields, HTTP meaning attached later by the API layer."""

from __future__ import annotations


class CdrError(Exception):
    """Root of every error cdr raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CdrError):
    """Input that cannot be read as what it claims to be (malformed JSON/XML, unknown type, bad value)."""


class FormatError(InvalidInput):
    """A wire-format document that does not map onto the RM; ``path`` locates the offending node.

    ``path`` is written like a JSON pointer into the input (``/content/0/data/events/1/time``) so that the
    author can find the spot in the document they sent.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '/'}: {message}")
        self.path = path or "/"
        self.reason = message


class TemplateError(InvalidInput):
    """An operational template that cannot be loaded; ``reasons`` lists every problem found."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or [message]


class NotFound(CdrError):
    """The addressed resource does not exist."""


class Conflict(CdrError):
    """The request conflicts with the current state (duplicate id, version exists)."""


class PreconditionFailed(CdrError):
    """An If-Match precondition did not hold."""


class Unavailable(CdrError):
    """A service the request needs (a terminology server) did not answer; nothing was changed, and the same
    request may succeed later."""


class SettingsError(CdrError):
    """Settings that cannot be used as given (a missing companion, an unreadable key file, credentials over
    plain HTTP); raised at start-up, before anything is served."""
