"""An example allocator design for framemc: per-CPU free lists that refill from a locked global pool."""
