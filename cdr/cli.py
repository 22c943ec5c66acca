"""The ``cdr`` command line.

Exit codes follow one contract across commands: 0 success (or valid), 1 the input was read but is invalid,
2 usage errors and input that cannot be read at all (missing file, not JSON/XML, broken template).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from cdr import __version__
from cdr.errors import FormatError, TemplateError

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _fail(message: str) -> NoReturn:
    """Report an unusable input on stderr and exit with the usage code."""
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _load_template(path: Path) -> Any:
    from cdr.template import load_opt

    try:
        return load_opt(path)
    except TemplateError as exc:
        details = "".join(f"\n  - {r}" for r in exc.reasons if r != exc.message)
        _fail(f"cannot load template {path}: {exc.message}{details}")
    except OSError as exc:
        _fail(f"cannot read template {path}: {exc.strerror or exc}")


def _sniff_format(path: Path, raw: bytes) -> str:
    """Pick json or xml from the extension, else from the first non-blank byte."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return "xml"
    if suffix == ".json":
        return "json"
    return "xml" if raw.lstrip()[:1] == b"<" else "json"


def _read_composition(raw: bytes, fmt: str) -> Any:
    """Parse the composition; syntax errors exit 2, RM mapping errors are raised as FormatError.

    Unknown JSON attributes are skipped as EHRbase skips them, but named on stderr, never dropped silently.
    """
    if fmt == "json":
        from cdr.formats.canonical_json import parse_json

        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            _fail(f"not JSON: {exc}")
        ignored: list[str] = []
        obj = parse_json(data, "COMPOSITION", strict=False, ignored=ignored)
        for pointer in ignored:
            click.echo(f"warning: {pointer}: unknown attribute ignored", err=True)
        return obj
    from lxml import etree

    from cdr.formats.canonical_xml import parse_xml

    try:
        etree.fromstring(raw)
    except etree.XMLSyntaxError as exc:
        _fail(f"not XML: {exc}")
    return parse_xml(raw, "COMPOSITION")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cdr")
def main() -> None:
    """cdr: an openEHR Clinical Data Repository."""


@main.command("webtemplate")
@click.argument("template", type=click.Path(path_type=Path, dir_okay=False))
def webtemplate_cmd(template: Path) -> None:
    """Print the web template JSON of an operational template (OPT 1.4)."""
    from cdr.template.web_template import web_template_json

    opt = _load_template(template)
    click.echo(web_template_json(opt))


@main.command("validate")
@click.option("--template", "template", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Operational template (OPT 1.4 XML) to validate against.")
@click.option("--format", "fmt", type=click.Choice(["json", "xml", "flat"]), default=None,
              help="Input format; guessed from the extension or content when omitted.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {valid, issues} on stdout.")
@click.argument("composition", type=click.Path(path_type=Path, dir_okay=False))
def validate_cmd(template: Path, fmt: str | None, as_json: bool, composition: Path) -> None:
    """Validate a COMPOSITION against a template: exit 0 valid, 1 invalid, 2 unusable input."""
    from cdr.template.validation import validate

    if fmt == "flat":
        _fail("--format flat is not available yet: the FLAT format arrives with issue 3")
    try:
        raw = composition.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {composition}: {exc.strerror or exc}")
    opt = _load_template(template)
    fmt = fmt or _sniff_format(composition, raw)
    issues: list[dict[str, str]]
    try:
        obj = _read_composition(raw, fmt)
    except FormatError as exc:
        issues = [{"path": exc.path, "code": "INVALID_FORMAT", "message": exc.reason, "constraint_path": ""}]
    else:
        issues = [issue.model_dump(mode="json") for issue in validate(obj, opt)]
    valid = not issues
    if as_json:
        click.echo(json.dumps({"valid": valid, "issues": issues}, ensure_ascii=False))
    else:
        for issue in issues:
            click.echo(f"{issue['code']}\t{issue['path']}\t{issue['message']}")
        click.echo("valid" if valid else f"invalid: {len(issues)} issue(s)", err=not valid)
    sys.exit(EXIT_VALID if valid else EXIT_INVALID)
