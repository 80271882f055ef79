"""Reference implementation of the seed frame allocators, written against ``framemc.sync`` like any user code."""
