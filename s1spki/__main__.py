"""`python -m s1spki` runs the CLI."""

from s1spki.cli.launch import main

main()
