"""Python's cyclic garbage collector while a command's modules load.

While modules load, the collector would scan the growing heap again and again (60 ms of a 0.5 s `cert show`),
for objects that live as long as the process. So it is off while they load; then what they made is frozen out of
later collections and the collector is on again for the command itself. The CLI's modules load so in
cli/launch.py, the store's when the command opens its runtime (cli/context.py).
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
