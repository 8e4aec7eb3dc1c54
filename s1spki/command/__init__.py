"""The command context of the use cases: who acts (a principal), authorised under rapp/ before anything
changes, the audit events they are named in, and the record of a refusal."""

from s1spki.command.authorise import Authorisation
from s1spki.command.context import Command, Component, Operators

__all__ = ["Authorisation", "Command", "Component", "Operators"]
