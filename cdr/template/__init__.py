"""Operational templates: OPT 1.4 to a constraint model (:mod:`.aom`), web templates and validation."""
