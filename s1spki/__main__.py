"""`python -m s1spki` runs the CLI."""

from s1spki.cli.main import main

main()
