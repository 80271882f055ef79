"""Small, valid concrete allocator states: guard witnesses for the proofs and fixtures for tests.

Design: the states are written as :class:`~framemc.snapshot.AllocatorSnapshot`
values, the same plain form the impl produces, so a witness is checked by the
very same :func:`~framemc.model.concrete.check_snapshot` that checks the impl.
"""

from __future__ import annotations

from framemc.model.macros import greedy_blocks
from framemc.model.state import ModelConfig
from framemc.snapshot import (
    FILL_DIGEST,
    FLAG_POISONED,
    GUARD_POISONED,
    PURPOSE_GENERAL,
    REFCOUNT_UNIQUE,
    REFCOUNT_UNUSED,
    ZERO_DIGEST,
    AllocatorSnapshot,
    FrameSnapshot,
)



def frame_snapshot(rc: int = REFCOUNT_UNUSED, *, purpose: int = 0, poisoned: bool = False, gen: int = 0,
                   zeroed: bool = False) -> FrameSnapshot:
    """One MetaSlot and payload digest, with readable defaults (unused, stale payload)."""
    bits = FLAG_POISONED if poisoned else 0
    return FrameSnapshot(refcount=rc, purpose=purpose, flags=bits, guard=GUARD_POISONED if poisoned else 0,
                         generation=gen, payload_zero=zeroed, payload_crc=ZERO_DIGEST if zeroed else FILL_DIGEST)


def rich_snapshot(cfg: ModelConfig) -> AllocatorSnapshot:
    """16 frames in one pool, showing every refcount state, both caches, a poisoned frame and free blocks."""
    frames = [
        frame_snapshot(gen=1),                                        # 0: handed out, not yet claimed
        frame_snapshot(0, gen=1, zeroed=True),                        # 1: claimed and zeroed, busy
        frame_snapshot(1, purpose=PURPOSE_GENERAL, gen=1, zeroed=True),  # 2: one handle
        frame_snapshot(2, purpose=PURPOSE_GENERAL, gen=1),            # 3: two handles
        frame_snapshot(),                                             # 4: in CPU 0's cache
        frame_snapshot(poisoned=True, gen=1),                         # 5: poisoned, torn down
        frame_snapshot(REFCOUNT_UNIQUE, gen=1),                       # 6: unique handle
        frame_snapshot(),                                             # 7: in CPU 1's cache
    ] + [frame_snapshot() for _ in range(8)]                          # 8..15: free
    return AllocatorSnapshot(
        nframes=16,
        max_order=cfg.max_order,
        frames=tuple(frames),
        free_blocks=tuple(greedy_blocks(8, 8, cfg.max_order)),
        cached=((4,), (7,)),
        allocated=((0, 4), (5, 2)),
        added=((0, 16),),
    )


def empty_snapshot(cfg: ModelConfig, nframes: int = 16) -> AllocatorSnapshot:
    """Boot-time memory: nothing added, every MetaSlot unused."""
    return AllocatorSnapshot(nframes=nframes, max_order=cfg.max_order,
                             frames=tuple(frame_snapshot() for _ in range(nframes)),
                             free_blocks=(), cached=((), ()), allocated=(), added=())
