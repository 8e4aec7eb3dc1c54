"""The checkpoints as the checkpointer looks for its starting point: newest first, every one of them once, over as
many pages as there are (it reads a few at a time)."""

from __future__ import annotations

import random

import pytest

from s1spki.store import Store
from s1spki.store.reader import CHECKPOINT_BATCH
from s1spki.values.clock import Clock

pytestmark = pytest.mark.both_engines


@pytest.mark.parametrize("count", [0, CHECKPOINT_BATCH, 2 * CHECKPOINT_BATCH + 3])
def test_checkpoints_come_newest_first_each_once_across_pages(store_url: str, count: int) -> None:
    store = Store.create(store_url, Clock(), "home")
    made = [(i // 2 + 1, f"signer-{i % 2}") for i in range(count)]  # two signers checkpoint each seq
    random.Random(7).shuffle(made)  # stored in no particular order
    for seq, signer in made:
        assert store.add_checkpoint({"v": 1, "seq": seq, "hash": f"{seq:064x}", "at": "2026-12-04T00:00:00.000000Z",
                                     "home_id": "home", "signer": signer, "signature": "c2ln"})
    found = [(row["seq"], row["signer"]) for row in store.checkpoint_rows_newest_first()]
    store.dispose()

    assert sorted(found) == sorted(made)  # every one, once
    assert [seq for seq, _ in found] == sorted((seq for seq, _ in made), reverse=True)  # newest first
