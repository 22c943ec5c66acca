"""The AQL engine: grammar, parser and compiler to SQL."""
