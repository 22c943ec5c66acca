"""The ``cdr`` command line: documents (validate, convert, example, webtemplate) and operations (db, serve,
import, in :mod:`cdr.cli_ops`).

Exit codes follow one contract across commands (:mod:`cdr.cli_common`): 0 success (or valid), 1 the input was
read but is invalid, 2 usage errors and input that cannot be read at all (missing file, not JSON/XML, broken
template).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cdr import __version__
from cdr.cli_common import (
    EXIT_INVALID,
    EXIT_USAGE,
    EXIT_VALID,
    configured_terminology,
    fail,
    load_template,
    read_input,
)
from cdr.cli_documents import (
    FORMATS,
    TEMPLATE_FORMATS,
    Document,
    Unreadable,
    read_document,
    render,
    to_composition,
)
from cdr.errors import CdrError, FormatError
from cdr.template.aom import OperationalTemplate
from cdr.template.validation.profile import PROFILES, STRICT, profile_named

__all__ = ["EXIT_INVALID", "EXIT_USAGE", "EXIT_VALID", "main"]

_TEMPLATE = click.Path(path_type=Path, dir_okay=False)
_INPUT = click.Path(path_type=Path, dir_okay=False, allow_dash=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="cdr")
@click.pass_context
def main(ctx: click.Context) -> None:
    """cdr: an openEHR Clinical Data Repository."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def _document(raw: bytes, fmt: str | None, source: Path) -> Document:
    """The input parsed as far as its syntax (exit 2 if it is not JSON/XML); an ``.xml`` name means XML."""
    if fmt is None and source.suffix.lower() == ".xml":
        fmt = "xml"
    try:
        return read_document(raw, fmt)
    except Unreadable as exc:
        fail(exc.message)


def _warn_ignored(doc: Document) -> None:
    """Name the unknown attributes the lenient JSON reader skipped: skipped, never silently dropped."""
    for pointer in doc.ignored:
        click.echo(f"warning: {pointer}: unknown attribute ignored", err=True)


@main.command("webtemplate")
@click.argument("template", type=_TEMPLATE)
def webtemplate_cmd(template: Path) -> None:
    """Print the web template JSON of an operational template (OPT 1.4)."""
    from cdr.template.web_template import web_template_json

    opt = load_template(template)
    click.echo(web_template_json(opt))


@main.command("validate")
@click.option(
    "--template",
    "template",
    required=True,
    type=_TEMPLATE,
    help="Operational template (OPT 1.4 XML) to validate against.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Input format; recognised from the content when omitted.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {valid, issues} on stdout.")
@click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default=STRICT.name,
    show_default=True,
    help="Validation profile: strict (the AOM) or ehrbase (EHRbase's documented departures, which the server "
    "accepts by default; docs/conformance.md).",
)
@click.argument("composition", type=_INPUT)
def validate_cmd(template: Path, fmt: str | None, as_json: bool, profile: str, composition: Path) -> None:
    """Validate a COMPOSITION (canonical JSON or XML, FLAT or STRUCTURED) against a template.

    Codes the template binds to FHIR value sets are asked of the terminology server CDR_FHIR_TERMINOLOGY_URL
    names, as the server asks it. Exit 0 valid, 1 invalid (a FLAT key or JSON path that does not fit counts
    as invalid), 2 unusable input.
    """
    from cdr.services.errors import TerminologyUnavailable
    from cdr.services.value_sets import check_external_codes
    from cdr.template.validation import ExternalCode, validate

    doc = _document(read_input(composition), fmt, composition)
    opt = load_template(template)
    issues: list[dict[str, str]]
    try:
        obj = to_composition(doc, opt)
    except FormatError as exc:
        issues = [{"path": exc.path, "code": "INVALID_FORMAT", "message": exc.reason, "constraint_path": ""}]
    else:
        terminology = configured_terminology()
        external: list[ExternalCode] | None = [] if terminology is not None else None
        found = validate(obj, opt, profile_named(profile), external)
        issues = [issue.model_dump(mode="json") for issue in found]
        if terminology is not None and external:
            try:
                checked = check_external_codes(terminology, external)
            except TerminologyUnavailable as exc:
                fail(exc.message)
            issues += [{**i.to_json(), "constraint_path": i.constraint_path or ""} for i in checked]
    _warn_ignored(doc)
    valid = not issues
    if as_json:
        click.echo(json.dumps({"valid": valid, "issues": issues}, ensure_ascii=False))
    else:
        for issue in issues:
            click.echo(f"{issue['code']}\t{issue['path']}\t{issue['message']}")
        click.echo("valid" if valid else f"invalid: {len(issues)} issue(s)", err=not valid)
    sys.exit(EXIT_VALID if valid else EXIT_INVALID)


def _template_if_needed(template: Path | None, *formats: str | None) -> OperationalTemplate | None:
    """The template when given; exit 2 when a FLAT/STRUCTURED side needs it and it is missing."""
    needing = [f for f in formats if f in TEMPLATE_FORMATS]
    if template is None:
        if needing:
            fail(f"{needing[0].upper()} is keyed by web template ids: give --template")
        return None
    return load_template(template)


@main.command("convert")
@click.option(
    "--template",
    "template",
    type=_TEMPLATE,
    default=None,
    help="Operational template; required when either side is FLAT or STRUCTURED.",
)
@click.option(
    "--from",
    "source_fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Input format; recognised from the content when omitted.",
)
@click.option("--to", "target_fmt", type=click.Choice(FORMATS), required=True, help="Output format.")
@click.option("--compact", is_flag=True, help="One line of output instead of indented JSON/XML.")
@click.argument("composition", type=_INPUT)
def convert_cmd(
    template: Path | None, source_fmt: str | None, target_fmt: str, compact: bool, composition: Path
) -> None:
    """Convert a COMPOSITION (a file, or - for stdin) between canonical JSON/XML, FLAT and STRUCTURED.

    The result goes to stdout. Exit 1 when the document does not fit the RM or the template (the message
    names the key or path), 2 for unusable input.
    """
    doc = _document(read_input(composition), source_fmt, composition)
    opt = _template_if_needed(template, doc.fmt, target_fmt)
    try:
        text = render(to_composition(doc, opt), target_fmt, opt, compact=compact)
    except FormatError as exc:
        fail(f"{doc.fmt} -> {target_fmt}: {exc.message}", EXIT_INVALID)
    except CdrError as exc:
        fail(exc.message, EXIT_INVALID)
    _warn_ignored(doc)
    click.echo(text)


@main.command("example")
@click.argument("template", type=_TEMPLATE)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many compositions; more than one are written as JSON lines (or files with --out).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random series.")
@click.option(
    "--random",
    "mode",
    flag_value="random",
    default=True,
    help="Values drawn inside the constraints, optional nodes by chance (the default).",
)
@click.option("--minimal", "mode", flag_value="minimal", help="Only what the template and the RM require.")
@click.option("--maximal", "mode", flag_value="maximal", help="Every optional node of the template.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write one file per composition into this directory instead of stdout.",
)
def example_cmd(template: Path, fmt: str, count: int, seed: int, mode: str, out_dir: Path | None) -> None:
    """Print example compositions of TEMPLATE.

    One composition is printed as an indented document. With --count N > 1 stdout gets JSON lines: one
    compact document per line, so that series of any length stream; XML has no line form, so --format xml
    with --count > 1 needs --out DIR, which writes example-0001.xml ... (or .json) for any format.
    --minimal and --maximal are deterministic (N copies); the random series is reproducible by --seed.
    """
    from cdr.template.example import ExampleGenerator, Mode

    if fmt == "xml" and count > 1 and out_dir is None:
        fail("XML has no one-document-per-line form: use --out DIR for more than one XML composition")
    opt = load_template(template)
    try:
        generator = ExampleGenerator(opt)
        if mode == "random":
            series = generator.generate(count, seed)
        else:
            chosen = generator.make(Mode(mode))
            series = iter([chosen] * count)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            suffix = "xml" if fmt == "xml" else "json" if fmt == "json" else f"{fmt}.json"
            for n, comp in enumerate(series, 1):
                (out_dir / f"example-{n:04d}.{suffix}").write_text(render(comp, fmt, opt) + "\n", "utf-8")
            click.echo(f"wrote {count} composition(s) to {out_dir}", err=True)
            return
        for comp in series:
            click.echo(render(comp, fmt, opt, compact=count > 1))
    except CdrError as exc:
        fail(f"cannot make an example of {opt.template_id}: {exc.message}", EXIT_INVALID)


def _register_operations() -> None:
    """Attach the operations commands (db, serve, import), kept in their own module by concept."""
    from cdr.cli_audit import audit_group
    from cdr.cli_auth import auth_group
    from cdr.cli_ops import OPERATIONS
    from cdr.cli_terminology import terminology_group

    for command in OPERATIONS:
        main.add_command(command)
    main.add_command(audit_group)
    main.add_command(auth_group)
    main.add_command(terminology_group)


_register_operations()


def _register_query() -> None:
    """Attach ``cdr query`` (AQL from the shell), kept in :mod:`cdr.cli_query`."""
    from cdr.cli_query import query_cmd

    main.add_command(query_cmd)


_register_query()
