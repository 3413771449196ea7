"""`python -m reviewer.cli`: the `reviewer` command."""

from reviewer.cli import main

main()
