"""Python's cyclic garbage collector while what lives as long as the process is made.

While modules load, the collector would scan the growing heap again and again (60 ms of a 0.5 s `cert show`),
for objects that live as long as the process. So it is off while they load; then what they made is frozen out of
later collections and the collector is on again for the work itself. The CLI's modules load so in cli/launch.py,
the store's when a command opens its runtime (cli/context.py), pkilint and its validators at the first lint of a
process (lint/runner.py): left in the heap, those validators alone made every later collection of an issuing
process scan them (0.6 ms a certificate over 200 issuances, 0.19 ms with them frozen, counted with `gc.callbacks`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside; after, what was made inside is frozen and the collector is on if it was before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
