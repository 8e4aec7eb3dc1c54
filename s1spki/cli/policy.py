"""The policy/ and rapp/ in force: adopting a reviewed change under dual control."""

from __future__ import annotations

import typer

from s1spki.cli.context import get
from s1spki.cli.params import as_option

app = typer.Typer(help="The policy and RAPP in force: adopt a reviewed change (dual control).", no_args_is_help=True)


@app.command("adopt", epilog="Example: s1spki policy adopt --as alice --as bob")
def adopt(ctx: typer.Context,
          as_: list[str] = as_option("the participants rapp/ (as adopted before) names for policy.adopt")) -> None:
    """Adopt the home's policy/ and rapp/ as they now are: until then, a changed file refuses every command that
    reads it. Needs the people rapp/ (as adopted before) names for policy.adopt."""
    from s1spki.ra.policy_adoption import adopt as adopt_files

    cli = get(ctx)
    adopted = adopt_files(cli.command(as_))
    cli.emit(adopted, f"adopted policy/ {adopted['policy'][:16]}... and rapp/ {adopted['rapp'][:16]}...: "
                      f"{', '.join(adopted['changed'])}")
