"""The settings of the REST server, declared once: name, environment variable, default and help.

:func:`load` merges, lowest first: the defaults, ``CDR_*`` environment variables, and the mapping passed to
``create_app(config)`` (tests and ``cdr serve`` use the latter). Values from the environment are strings and
are converted to the default's type.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdr.services.value_sets import ExternalTerminology
from cdr.storage import DEFAULT_URL
from cdr.storage.store import DEFAULT_SYSTEM_ID
from cdr.template.validation.profile import DEFAULT
from cdr.terminology.fhir import FhirTerminologyServer


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"CDR_{self.name}"


SETTINGS = (
    Setting(
        "DATABASE_URL", DEFAULT_URL, "SQLAlchemy URL of the database (sqlite:///... or postgresql://...)"
    ),
    Setting("SYSTEM_ID", DEFAULT_SYSTEM_ID, "the system id in version uids and audits"),
    Setting("MIGRATE", True, "apply the database migrations when the app starts"),
    Setting("BASE_PATH", "/openehr/v1", "URL prefix of the openEHR REST API"),
    Setting("ADMIN_API_KEY", None, "API key (header X-API-Key or Bearer token) that grants the admin role"),
    Setting("ADMIN_USER", None, "Basic auth user name that grants the admin role (with ADMIN_PASSWORD)"),
    Setting("ADMIN_PASSWORD", None, "Basic auth password of ADMIN_USER"),
    Setting(
        "ADMIN_LOOPBACK",
        True,
        "without admin credentials configured, grant the admin role to loopback clients (127.0.0.1, ::1)",
    ),
    Setting("PROXY_FIX", False, "trust X-Forwarded-For/-Proto/-Host/-Port/-Prefix (only behind a proxy)"),
    Setting("STRICT_JSON", False, "reject unknown canonical JSON attributes (default: skip and report them)"),
    Setting(
        "VALIDATION_PROFILE",
        DEFAULT.name,
        "validation profile of committed data: ehrbase (EHRbase's documented departures from the AOM) or "
        "strict (the AOM)",
    ),
    Setting(
        "CORS_ORIGINS",
        "",
        "browser origins allowed to call the API cross-origin, comma-separated ('*': any); empty: none",
    ),
    Setting(
        "AQL_TIMEOUT_MS",
        120_000,
        "milliseconds an AQL query may run before the database stops it (then a 400); 0: no limit",
    ),
    Setting(
        "FHIR_TERMINOLOGY_URL",
        "",
        "base URL of a FHIR R4 terminology server; codes a template binds to a FHIR value set are checked "
        "there on every write (empty: not checked)",
    ),
    Setting(
        "FHIR_TERMINOLOGY_FAIL_ON_ERROR",
        False,
        "refuse a write (503) when the terminology server cannot check one of its codes; off: commit it "
        "unchecked and log a warning",
    ),
    Setting("FHIR_TERMINOLOGY_TIMEOUT_MS", 5_000, "milliseconds to wait for the terminology server's answer"),
    Setting(
        "FHIR_TERMINOLOGY_PAUSE_S",
        30,
        "seconds the terminology server is not asked after it failed (unreachable, timing out, 5xx)",
    ),
    Setting(
        "FHIR_TERMINOLOGY_CACHE_S",
        600,
        "seconds an answer of the terminology server is reused for the same code and value set "
        "(0: ask each time)",
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        32 * 1024 * 1024,
        "largest request body in bytes (413 beyond it); bounds the memory one request can take",
    ),
)


def _convert(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    return raw


def load(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every setting's value: default < ``CDR_<NAME>`` environment variable < ``overrides``."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        raw = os.environ.get(setting.env)
        if raw is not None:
            value = _convert(raw, setting.default)
        values[setting.name] = value
    for key, value in (overrides or {}).items():
        values[key] = value
    return values


def external_terminology(settings: Mapping[str, Any]) -> ExternalTerminology | None:
    """The terminology server the ``FHIR_TERMINOLOGY_*`` settings configure, or ``None``."""
    url = str(settings.get("FHIR_TERMINOLOGY_URL") or "").strip()
    if not url:
        return None
    server = FhirTerminologyServer(
        url,
        timeout=int(settings["FHIR_TERMINOLOGY_TIMEOUT_MS"]) / 1000,
        ttl=float(settings["FHIR_TERMINOLOGY_CACHE_S"]),
        pause=float(settings["FHIR_TERMINOLOGY_PAUSE_S"]),
    )
    return ExternalTerminology(server, fail_on_error=bool(settings["FHIR_TERMINOLOGY_FAIL_ON_ERROR"]))
