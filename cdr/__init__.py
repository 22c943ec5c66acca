"""cdr: an openEHR Clinical Data Repository."""

__version__ = "0.1.0"
