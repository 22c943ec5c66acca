"""Operational templates: OPT 1.4 to a constraint model (:mod:`.aom`), web templates and validation."""

from cdr.template.aom import OperationalTemplate
from cdr.template.opt_parser import load_opt, parse_opt

__all__ = ["OperationalTemplate", "load_opt", "parse_opt"]
