"""`python -m s1spki` runs the CLI."""

from .cli.main import main

main()
