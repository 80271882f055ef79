"""Divergences planted in the impl only (never in the model), as test-only patches.

Each is a context manager that swaps one method of the reference allocator
for a subtly wrong one and restores it on exit; the model is untouched, so
conformance must notice the impl no longer does what the model says.  They
are the regression cases of issue 13: an earlier conformance driver (8
frames, single-frame frees only, no raw dealloc, no cache refill/flush, no
add_free_memory) caught only the second.  The fourth takes a frame from
another CPU's cache, which the cache-ownership step invariant names.  The
last two break only the buddy's top-order corners (a cascade into the top
order, a split of a top-order block down to one frame): the random driver
alone passed both at the default seed, the corner tours catch them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from framemc.sync import Ordering
from framemc.impl.buddy import BuddyFrameAllocator
from framemc.impl.meta import MetaSlot
from framemc.snapshot import PAGE_SIZE


@contextlib.contextmanager
def _patched(owner: type, name: str, make: Callable[[Callable], Callable]) -> Iterator[None]:
    original = owner.__dict__[name]
    setattr(owner, name, make(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def stale_order_tag() -> contextlib.AbstractContextManager[None]:
    """A block unlinked from a free list keeps its order tag, so it still looks like a free head."""
    def make(unlink):
        def _unlink(self, frame):
            order = self._slots[frame].link.order
            unlink(self, frame)
            self._slots[frame].link.order = order
        return _unlink
    return _patched(BuddyFrameAllocator, "_unlink", make)


def generation_bumped_twice() -> contextlib.AbstractContextManager[None]:
    """A successful claim bumps the generation twice."""
    def make(_note):
        def note_new_allocation_epoch(self):
            self.generation.fetch_add(1, Ordering.RELAXED)
            return self.generation.fetch_add(1, Ordering.RELAXED) + 1
        return note_new_allocation_epoch
    return _patched(MetaSlot, "note_new_allocation_epoch", make)


def order_one_merges_with_next() -> contextlib.AbstractContextManager[None]:
    """An order-1 block merges with the next block (first + 2), not with its buddy (first ^ 2)."""
    def make(merge_partner):
        def _merge_partner(self, block, order):
            if order != 1:
                return merge_partner(self, block, order)
            following = block + 2
            if self._is_free_head(following, 1) and self._region[following] == self._region[block]:
                return following
            return None
        return _merge_partner
    return _patched(BuddyFrameAllocator, "_merge_partner", make)


def cache_of_another_cpu() -> contextlib.AbstractContextManager[None]:
    """An order-0 alloc pops a frame from another CPU's cache when that one has any."""
    def make(alloc_from_cache):
        def _alloc_from_cache(self, cpu):
            other = (cpu + 1) % len(self._caches)
            if self._caches[other]:
                top = self._caches[other].pop()
                self._mark_allocated(top, 1)
                return top * PAGE_SIZE
            return alloc_from_cache(self, cpu)
        return _alloc_from_cache
    return _patched(BuddyFrameAllocator, "_alloc_from_cache", make)


def top_merge_stops_short() -> contextlib.AbstractContextManager[None]:
    """A merge cascade never makes a block of the top order: two free top-order halves stay apart.

    Only a pool with a whole top-order block free again shows it, which random steps rarely make.
    """
    def make(merge_partner):
        def _merge_partner(self, block, order):
            return None if order == self.max_order - 1 else merge_partner(self, block, order)
        return _merge_partner
    return _patched(BuddyFrameAllocator, "_merge_partner", make)


def split_from_top_drops_a_half() -> contextlib.AbstractContextManager[None]:
    """Splitting a top-order block down to one frame loses the upper half of the first split.

    Only an order-0 request with no free block below the top order shows it.
    """
    def make(take_block):
        def _take_block(self, order, then="alloc_block"):
            found = self._lowest_block(order)
            first = take_block(self, order, then)
            if found is not None and found[1] == self.max_order and order == 0:
                self._unlink(found[0] + (1 << (self.max_order - 1)))  # never reaches a free list
            return first
        return _take_block
    return _patched(BuddyFrameAllocator, "_take_block", make)


#: every planted divergence by name
DIVERGENCES: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "stale-order-tag": stale_order_tag,
    "generation-bumped-twice": generation_bumped_twice,
    "order-one-merges-with-next": order_one_merges_with_next,
    "cache-of-another-cpu": cache_of_another_cpu,
    "top-merge-stops-short": top_merge_stops_short,
    "split-from-top-drops-a-half": split_from_top_drops_a_half,
}
