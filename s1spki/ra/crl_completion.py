"""The CRL that a revocation cut short left undone, issued at the end of the next change that succeeds: the step
each front door (a command of the CLI, an EST request) registers on its command's runtime (Runtime.when_changed)."""

from __future__ import annotations

from s1spki.command import Command


def complete_unlisted_at_end(cmd: Command) -> Command:
    """`cmd`, its runtime told to issue those CRLs if the change it makes succeeds (s1spki.ra.crl)."""

    def step() -> list[str]:
        from s1spki.ra.crl import complete_unlisted  # loaded only when a revocation is on no CRL: start-up time

        return complete_unlisted(cmd)

    cmd.runtime.when_changed("unlisted revocations", step)
    return cmd
