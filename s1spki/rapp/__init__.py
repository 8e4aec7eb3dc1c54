"""The RAPP (rapp/) as data: operator roles, what each may do, how many people each operation needs."""

from .load import load_rapp, parse_duration
from .model import CHECKS, ApprovalRule, Operation, OperatorRole, Rapp

__all__ = ["CHECKS", "ApprovalRule", "Operation", "OperatorRole", "Rapp", "load_rapp", "parse_duration"]
