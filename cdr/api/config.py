"""The settings of the REST server, declared once: name, environment variable, default and help.

:func:`load` merges, lowest first: the defaults, ``CDR_*`` environment variables, and the mapping passed to
``create_app(config)`` (tests and ``cdr serve`` use the latter). Values from the environment are strings and
are converted to the default's type.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdr.errors import SettingsError
from cdr.security.config import is_loopback
from cdr.services.value_sets import ExternalTerminology
from cdr.storage import DEFAULT_URL
from cdr.storage.store import DEFAULT_SYSTEM_ID
from cdr.template.validation.profile import DEFAULT
from cdr.terminology.dpop import DpopKey
from cdr.terminology.fhir import FhirTerminologyServer
from cdr.terminology.oauth import ClientCredentials, TokenSource, load_signing_key


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
        "FHIR_TERMINOLOGY_TOKEN_URL",
        "",
        "OAuth 2.0 token endpoint for the terminology server (client credentials grant; HelseID: "
        "https://helseid-sts.nhn.no/connect/token); empty: requests carry no token",
    ),
    Setting("FHIR_TERMINOLOGY_CLIENT_ID", "", "client_id at the token endpoint"),
    Setting(
        "FHIR_TERMINOLOGY_CLIENT_SECRET",
        "",
        "client secret (client_secret_basic); give this or FHIR_TERMINOLOGY_CLIENT_KEY",
    ),
    Setting(
        "FHIR_TERMINOLOGY_CLIENT_KEY",
        "",
        "file with the client's private key, PEM or JWK, for private_key_jwt (what HelseID requires)",
    ),
    Setting("FHIR_TERMINOLOGY_SCOPE", "", "scopes asked for, space-separated (empty: the client's default)"),
    Setting(
        "FHIR_TERMINOLOGY_ASSERTION_AUDIENCE",
        "",
        "aud of the private_key_jwt client assertion (HelseID: https://helseid-sts.nhn.no); empty: the "
        "token endpoint",
    ),
    Setting(
        "FHIR_TERMINOLOGY_DPOP",
        False,
        "ask for DPoP-bound tokens (RFC 9449, as HelseID issues them for Norsk Helsenett's APIs) and "
        "prove the key on every terminology request",
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
    """The terminology server the ``FHIR_TERMINOLOGY_*`` settings configure, or ``None``;
    :class:`~cdr.errors.SettingsError` when they cannot be used."""
    url = _text(settings, "FHIR_TERMINOLOGY_URL")
    timeout = int(settings["FHIR_TERMINOLOGY_TIMEOUT_MS"]) / 1000
    tokens = _token_source(settings, url, timeout)
    if not url:
        return None
    server = FhirTerminologyServer(
        url,
        timeout=timeout,
        ttl=float(settings["FHIR_TERMINOLOGY_CACHE_S"]),
        pause=float(settings["FHIR_TERMINOLOGY_PAUSE_S"]),
        tokens=tokens,
    )
    return ExternalTerminology(server, fail_on_error=bool(settings["FHIR_TERMINOLOGY_FAIL_ON_ERROR"]))


_CLIENT_SETTINGS = (
    "FHIR_TERMINOLOGY_CLIENT_ID",
    "FHIR_TERMINOLOGY_CLIENT_SECRET",
    "FHIR_TERMINOLOGY_CLIENT_KEY",
    "FHIR_TERMINOLOGY_SCOPE",
    "FHIR_TERMINOLOGY_ASSERTION_AUDIENCE",
    "FHIR_TERMINOLOGY_DPOP",
)


def _text(settings: Mapping[str, Any], name: str) -> str:
    return str(settings.get(name) or "").strip()


def _token_source(settings: Mapping[str, Any], url: str, timeout: float) -> TokenSource | None:
    """The OAuth 2.0 client the settings describe, checked whole: a half-configured client is refused at
    start-up rather than discovered as 401s on the first commit."""
    token_url = _text(settings, "FHIR_TERMINOLOGY_TOKEN_URL")
    if not token_url:
        stray = [name for name in _CLIENT_SETTINGS if _text(settings, name)]
        if stray:
            raise SettingsError(f"CDR_{stray[0]} is set but CDR_FHIR_TERMINOLOGY_TOKEN_URL is not")
        return None
    if not url:
        raise SettingsError("CDR_FHIR_TERMINOLOGY_TOKEN_URL is set but CDR_FHIR_TERMINOLOGY_URL is not")
    client_id = _text(settings, "FHIR_TERMINOLOGY_CLIENT_ID")
    if not client_id:
        raise SettingsError("CDR_FHIR_TERMINOLOGY_TOKEN_URL needs CDR_FHIR_TERMINOLOGY_CLIENT_ID")
    secret = _text(settings, "FHIR_TERMINOLOGY_CLIENT_SECRET")
    key_file = _text(settings, "FHIR_TERMINOLOGY_CLIENT_KEY")
    if bool(secret) == bool(key_file):
        raise SettingsError(
            "the terminology server's client needs exactly one of CDR_FHIR_TERMINOLOGY_CLIENT_SECRET "
            "and CDR_FHIR_TERMINOLOGY_CLIENT_KEY"
        )
    for name, address in (("TOKEN_URL", token_url), ("URL", url)):
        if not _private_channel(address):
            raise SettingsError(
                f"CDR_FHIR_TERMINOLOGY_{name} {address} is not https: client credentials and access "
                "tokens would cross the network in clear (plain http is allowed on loopback only)"
            )
    signing_key = None
    if key_file:
        try:
            signing_key = load_signing_key(Path(key_file))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"CDR_FHIR_TERMINOLOGY_CLIENT_KEY: {exc}") from None
    credentials = ClientCredentials(
        token_url,
        client_id,
        secret=secret or None,
        signing_key=signing_key,
        scope=_text(settings, "FHIR_TERMINOLOGY_SCOPE"),
        audience=_text(settings, "FHIR_TERMINOLOGY_ASSERTION_AUDIENCE"),
    )
    dpop = DpopKey() if settings.get("FHIR_TERMINOLOGY_DPOP") else None
    return TokenSource(credentials, timeout, dpop=dpop)


def _private_channel(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))
