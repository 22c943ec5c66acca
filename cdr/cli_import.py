"""``cdr import``: bulk-load a directory of compositions in any of the four formats.

Why a command and not a script over the REST API: initial loads (a municipality moving from another system,
test data for a new app) are large, and going through :mod:`cdr.services` in process keeps every rule the API
applies (RM checks, template validation, EHR modifiability, audit) without HTTP in between.

The order is: every ``*.opt`` of the template directory is uploaded (one already stored with the same id is
kept, with a warning when it differs), then every ``*.json``, ``*.xml``, ``*.jsonl``/``*.ndjson`` (one
document per line, the output of ``cdr example --count N``) under the directory is read, sorted by path. Each
document's format is recognised from its content (:mod:`cdr.cli_documents`); its template is the one it names
(``archetype_details/template_id``, ``ctx/template_id``) or, for FLAT and STRUCTURED, the template whose web
template root id keys it. A document that cannot be read, converted or validated is reported with its first
issues and skipped; every other one is committed in its own transaction.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cdr.cli_documents import Document, Unreadable, read_document, root_id_of, template_id_of
from cdr.errors import CdrError, Conflict, FormatError, TemplateError
from cdr.security.principal import AuthMethod
from cdr.services import Principal, RequestContext, Services
from cdr.template.aom import OperationalTemplate
from cdr.template.validation.profile import DEFAULT, profile_named

DOCUMENT_SUFFIXES = (".json", ".xml")
LINE_SUFFIXES = (".jsonl", ".ndjson")
SHOWN_ISSUES = 3
IMPORTER = Principal(
    subject="cdr import", auth_method=AuthMethod.NONE, name="cdr import", roles=frozenset({"admin"})
)


class Skip(Exception):
    """One document is not imported: ``issues`` says why (at most a few are shown)."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__(issues[0] if issues else "skipped")
        self.issues = issues


@dataclass(frozen=True, slots=True)
class Source:
    """One document to import: a whole file, or one line of a JSON lines file."""

    path: Path
    raw: bytes
    line: int | None = None

    @property
    def label(self) -> str:
        return str(self.path) if self.line is None else f"{self.path}:{self.line}"


def files_under(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The files under ``root`` with one of ``suffixes`` (any case), sorted; hidden files and directories
    are left out."""
    found = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in suffixes
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(found)


def document_files(root: Path) -> list[Path]:
    """The files to import under ``root``, sorted; hidden files and directories are left out."""
    return files_under(root, DOCUMENT_SUFFIXES + LINE_SUFFIXES)


def sources(path: Path) -> Iterator[Source]:
    """The documents in ``path``: one, or one per non-blank line of a JSON lines file."""
    raw = path.read_bytes()
    if path.suffix.lower() not in LINE_SUFFIXES:
        yield Source(path, raw)
        return
    for number, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            yield Source(path, line, number)


def count_documents(files: list[Path]) -> int:
    """How many documents the files hold (for the progress bar)."""
    total = 0
    for path in files:
        if path.suffix.lower() in LINE_SUFFIXES:
            total += sum(1 for line in path.read_bytes().splitlines() if line.strip())
        else:
            total += 1
    return total


@dataclass
class TemplateCatalog:
    """The stored templates by web template root id, which is how FLAT and STRUCTURED documents are keyed."""

    ids: set[str] = field(default_factory=set)
    by_root: dict[str, str] = field(default_factory=dict)

    def add(self, opt: OperationalTemplate) -> None:
        from cdr.template.web_template import build_web_template

        self.ids.add(opt.template_id)
        self.by_root.setdefault(str(build_web_template(opt)["tree"]["id"]), opt.template_id)

    def for_document(self, doc: Document) -> str | None:
        """The id of the template ``doc`` belongs to, ``None`` when it names none; :class:`Skip` when a
        FLAT/STRUCTURED document is keyed by a root id no template has. A named but unknown template is left
        to the service, which refuses it in the API's words."""
        named = template_id_of(doc)
        if named is not None:
            return named
        root = root_id_of(doc)
        if root is None:
            return None
        if root not in self.by_root:
            known = ", ".join(sorted(self.by_root)) or "none"
            raise Skip([f"no template has the web template root id {root!r} (known: {known})"])
        return self.by_root[root]


def upload_templates(
    svc: Services, ctx: RequestContext, template_dir: Path
) -> tuple[TemplateCatalog, list[str]]:
    """Upload every ``*.opt`` under ``template_dir`` (subdirectories too, as a modeller's or a suite's
    template tree is laid out; hidden ones left out); the catalog of what is stored now, and warnings."""
    from cdr.services.definition import upload_template
    from cdr.template import parse_opt

    catalog, warnings = TemplateCatalog(), []
    for path in files_under(template_dir, (".opt",)):
        data = path.read_bytes()
        try:
            template_id = parse_opt(data).template_id
            upload_template(svc, ctx, data)
        except TemplateError as exc:
            warnings.append(f"{path}: not a usable template, left out: {exc.message}")
            continue
        except Conflict:
            stored = svc.storage.templates.opt(template_id)
            if stored.encode("utf-8") != data and stored != data.decode("utf-8", "replace"):
                warnings.append(
                    f"{path}: template {template_id!r} is already stored with other content; "
                    "compositions are validated against the stored one"
                )
        catalog.add(svc.templates.get(template_id))
    for record in svc.storage.templates.list():  # templates stored earlier serve canonical documents too
        if record.template_id not in catalog.ids:
            catalog.add(svc.templates.get(record.template_id))
    return catalog, warnings


def issues_of(exc: Exception) -> list[str]:
    """Readable issues of a refused document: every issue the service listed, else its message."""
    listed = getattr(exc, "issues", None)
    if listed:
        return [f"{i.code} {i.path}: {i.message}" for i in listed]
    if isinstance(exc, FormatError):
        return [f"INVALID_FORMAT {exc.path}: {exc.reason}"]
    return [getattr(exc, "message", None) or str(exc)]


class Importer:
    """Commits documents one by one into the EHR chosen per file (``--ehr-per-file``) or the one EHR given."""

    def __init__(self, svc: Services, ctx: RequestContext, catalog: TemplateCatalog, ehr: uuid.UUID | None):
        self.svc, self.ctx, self.catalog = svc, ctx, catalog
        self.fixed_ehr = ehr
        self.file_ehrs: dict[Path, uuid.UUID] = {}

    def ehr_for(self, path: Path) -> uuid.UUID:
        """The EHR of ``path``: the fixed one, or a new one per file, made for its first valid document."""
        from cdr.services.ehr import create_ehr

        if self.fixed_ehr is not None:
            return self.fixed_ehr
        if path not in self.file_ehrs:
            self.file_ehrs[path] = create_ehr(self.svc, self.ctx).ehr.ehr_id
        return self.file_ehrs[path]

    def load(self, source: Source) -> str:
        """Commit one document; its version uid, or :class:`Skip` with the reasons."""
        from cdr.services.composition import check_composition, create_composition
        from cdr.services.composition_io import Format, read_composition

        try:
            doc = read_document(source.raw, "xml" if source.path.suffix.lower() == ".xml" else None)
        except Unreadable as exc:
            raise Skip([exc.message]) from None
        template_id = self.catalog.for_document(doc)
        try:
            incoming = read_composition(self.svc, source.raw, Format(doc.fmt.upper()), template_id)
            if self.fixed_ehr is None and source.path not in self.file_ehrs:
                check_composition(self.svc, incoming.composition)  # no EHR left empty by a refused first
            ehr_id = self.ehr_for(source.path)
            version = create_composition(self.svc, self.ctx, ehr_id, incoming.composition)
        except CdrError as exc:
            raise Skip(issues_of(exc)) from None
        return str(version.uid)


def open_services(url: str) -> Services:
    """The service container over the migrated database at ``url``, validating as the server would: by its
    profile (``CDR_VALIDATION_PROFILE``, else the default) and against its terminology server
    (``CDR_FHIR_TERMINOLOGY_*``); exit 2 when either cannot be had."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from cdr.cli_common import configured_terminology, fail
    from cdr.server import shown_url
    from cdr.storage import Storage

    try:
        profile = profile_named(os.environ.get("CDR_VALIDATION_PROFILE") or DEFAULT.name)
    except ValueError as exc:
        fail(f"CDR_VALIDATION_PROFILE: {exc}")
    try:
        return Services(Storage.open(url), profile, external_terminology=configured_terminology())
    except (SQLAlchemyError, ArgumentError, ImportError) as exc:
        fail(
            f"cannot open the database {shown_url(url)}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        )


def _ensure_ehr(svc: Services, ctx: RequestContext, ehr_id: uuid.UUID, say: Callable[[str], None]) -> None:
    from cdr.services.ehr import create_ehr

    if not svc.storage.ehrs.exists(ehr_id):
        create_ehr(svc, ctx, ehr_id=ehr_id)
        say(f"created EHR {ehr_id}")


def run_import(directory: Path, template_dir: Path, ehr_id: uuid.UUID | None, url: str) -> int:
    """The whole import with a progress bar on stderr; the exit code (0 all imported, 1 some skipped)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy.exc import SQLAlchemyError

    from cdr.cli_common import EXIT_INVALID, EXIT_VALID, fail

    console = Console(stderr=True, highlight=False, soft_wrap=True)

    def say(text: str) -> None:
        console.print(text, markup=False)

    files = document_files(directory)
    if not files:
        fail(f"no compositions (*.json, *.xml, *.jsonl, *.ndjson) under {directory}")
    svc = open_services(url)
    ctx = RequestContext(principal=IMPORTER, description="cdr import")
    imported, skipped = 0, 0
    try:
        catalog, warnings = upload_templates(svc, ctx, template_dir)
        for warning in warnings:
            say(f"warning: {warning}")
        if not catalog.ids:
            fail(f"no usable template (*.opt) in {template_dir} or the database")
        if ehr_id is not None:
            _ensure_ehr(svc, ctx, ehr_id, say)
        importer = Importer(svc, ctx, catalog, ehr_id)
        columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("import", total=count_documents(files))
            for path in files:
                for source in sources(path):
                    try:
                        importer.load(source)
                        imported += 1
                    except Skip as exc:
                        skipped += 1
                        shown = exc.issues[:SHOWN_ISSUES]
                        more = len(exc.issues) - len(shown)
                        lines = [f"skipped {source.label}:", *(f"  {i}" for i in shown)]
                        if more:
                            lines.append(f"  ... and {more} more issue(s)")
                        progress.console.print("\n".join(lines), markup=False)
                    progress.advance(task)
    except SQLAlchemyError as exc:
        fail(
            f"database error after {imported} imported: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        )
    finally:
        svc.storage.close()
    ehrs = 1 if ehr_id is not None else len(importer.file_ehrs)
    say(f"imported {imported} composition(s) into {ehrs} EHR(s); skipped {skipped}")
    return EXIT_INVALID if skipped else EXIT_VALID
