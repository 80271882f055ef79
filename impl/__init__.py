"""Reference implementation of the seed frame allocators, written against the atomics layer."""
