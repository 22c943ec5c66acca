"""``python -m cdr`` runs the command-line interface."""

from cdr.cli import main

main()
