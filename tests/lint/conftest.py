from __future__ import annotations

import pytest

from .factory import Pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    """One good hierarchy for the session: every test derives its own broken copy."""
    return Pki.create()
