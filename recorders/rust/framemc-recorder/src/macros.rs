//! One macro per event kind of the log format v1: `record_<ev>!(recorder, cpu, args...)`.
//!
//! Each takes the next global sequence number and pushes the record on `cpu`'s ring, and evaluates to
//! the sequence number. Call it inside the critical section of the step it logs (the frame's log lock
//! for a MetaSlot atomic, the pool lock for a buddy step): see the crate documentation.

/// Record `rc_cas`: `ref_count.compare_exchange(UNUSED, 0, Acquire, Relaxed)`: `old` is the value read, `ok` whether it succeeded (a `bool`).
///
/// `record_rc_cas!(recorder, cpu, frame, old, new, ok)`
#[macro_export]
macro_rules! record_rc_cas {
    ($rec:expr, $cpu:expr, $frame:expr, $old:expr, $new:expr, $ok:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::RcCas,
            [($frame) as u64, ($old) as u64, ($new) as u64, ($ok) as u64],
        )
    };
}

/// Record `gen_bump`: the generation bump completing a successful claim: `new` is the generation after it.
///
/// `record_gen_bump!(recorder, cpu, frame, new)`
#[macro_export]
macro_rules! record_gen_bump {
    ($rec:expr, $cpu:expr, $frame:expr, $new:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::GenBump,
            [($frame) as u64, ($new) as u64, 0, 0],
        )
    };
}

/// Record `zero`: the payload of a claimed frame is zeroed.
///
/// `record_zero!(recorder, cpu, frame)`
#[macro_export]
macro_rules! record_zero {
    ($rec:expr, $cpu:expr, $frame:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::Zero,
            [($frame) as u64, 0, 0, 0],
        )
    };
}

/// Record `set_purpose`: the purpose is written (0 none, 1 general, 2 page table, 3 DMA).
///
/// `record_set_purpose!(recorder, cpu, frame, purpose)`
#[macro_export]
macro_rules! record_set_purpose {
    ($rec:expr, $cpu:expr, $frame:expr, $purpose:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::SetPurpose,
            [($frame) as u64, ($purpose) as u64, 0, 0],
        )
    };
}

/// Record `publish`: `ref_count.store(1, Release)`; `zeroed` (a `bool`) says whether zeroing was asked for.
///
/// `record_publish!(recorder, cpu, frame, zeroed)`
#[macro_export]
macro_rules! record_publish {
    ($rec:expr, $cpu:expr, $frame:expr, $zeroed:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::Publish,
            [($frame) as u64, ($zeroed) as u64, 0, 0],
        )
    };
}

/// Record `rc_add`: `ref_count.fetch_add(1)` (a clone): `old` is the value read.
///
/// `record_rc_add!(recorder, cpu, frame, old)`
#[macro_export]
macro_rules! record_rc_add {
    ($rec:expr, $cpu:expr, $frame:expr, $old:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::RcAdd,
            [($frame) as u64, ($old) as u64, 0, 0],
        )
    };
}

/// Record `rc_sub`: `ref_count.fetch_sub(1, Release)` (a drop): `old` is the value read.
///
/// `record_rc_sub!(recorder, cpu, frame, old)`
#[macro_export]
macro_rules! record_rc_sub {
    ($rec:expr, $cpu:expr, $frame:expr, $old:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::RcSub,
            [($frame) as u64, ($old) as u64, 0, 0],
        )
    };
}

/// Record `rc_store`: `ref_count.store(value)` at teardown (`value` is `UNUSED`).
///
/// `record_rc_store!(recorder, cpu, frame, value)`
#[macro_export]
macro_rules! record_rc_store {
    ($rec:expr, $cpu:expr, $frame:expr, $value:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::RcStore,
            [($frame) as u64, ($value) as u64, 0, 0],
        )
    };
}

/// Record `poison`: `mark_poisoned`.
///
/// `record_poison!(recorder, cpu, frame)`
#[macro_export]
macro_rules! record_poison {
    ($rec:expr, $cpu:expr, $frame:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::Poison,
            [($frame) as u64, 0, 0, 0],
        )
    };
}

/// Record `payload_write`: the holder writes the payload; `data` is a 32-bit digest of the page (crc32, as `zlib.crc32`).
///
/// `record_payload_write!(recorder, cpu, frame, data)`
#[macro_export]
macro_rules! record_payload_write {
    ($rec:expr, $cpu:expr, $frame:expr, $data:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::PayloadWrite,
            [($frame) as u64, ($data) as u64, 0, 0],
        )
    };
}

/// Record `add_block`: `add_free_memory` inserts a block, pending its merges (pool lock held).
///
/// `record_add_block!(recorder, cpu, pool, head, order)`
#[macro_export]
macro_rules! record_add_block {
    ($rec:expr, $cpu:expr, $pool:expr, $head:expr, $order:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::AddBlock,
            [($pool) as u64, ($head) as u64, ($order) as u64, 0],
        )
    };
}

/// Record `alloc_block`: the buddy hands out the free block at `head` of `order` (pool lock held).
///
/// `record_alloc_block!(recorder, cpu, head, order)`
#[macro_export]
macro_rules! record_alloc_block {
    ($rec:expr, $cpu:expr, $head:expr, $order:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::AllocBlock,
            [($head) as u64, ($order) as u64, 0, 0],
        )
    };
}

/// Record `split`: the buddy splits the free block at `head`; the lower half stays pending (pool lock held).
///
/// `record_split!(recorder, cpu, head)`
#[macro_export]
macro_rules! record_split {
    ($rec:expr, $cpu:expr, $head:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::Split,
            [($head) as u64, 0, 0, 0],
        )
    };
}

/// Record `free_block`: the buddy inserts a freed block, pending its merges (pool lock held).
///
/// `record_free_block!(recorder, cpu, head, order)`
#[macro_export]
macro_rules! record_free_block {
    ($rec:expr, $cpu:expr, $head:expr, $order:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::FreeBlock,
            [($head) as u64, ($order) as u64, 0, 0],
        )
    };
}

/// Record `merge`: the pending block at `head` merges with its free buddy (pool lock held).
///
/// `record_merge!(recorder, cpu, head)`
#[macro_export]
macro_rules! record_merge {
    ($rec:expr, $cpu:expr, $head:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::Merge,
            [($head) as u64, 0, 0, 0],
        )
    };
}

/// Record `merge_stop`: the merge cascade of the pending block at `head` stops (pool lock held, released after).
///
/// `record_merge_stop!(recorder, cpu, head)`
#[macro_export]
macro_rules! record_merge_stop {
    ($rec:expr, $cpu:expr, $head:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::MergeStop,
            [($head) as u64, 0, 0, 0],
        )
    };
}

/// Record `cache_refill`: a free order-0 block moves into this CPU's cache.
///
/// `record_cache_refill!(recorder, cpu, frame)`
#[macro_export]
macro_rules! record_cache_refill {
    ($rec:expr, $cpu:expr, $frame:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::CacheRefill,
            [($frame) as u64, 0, 0, 0],
        )
    };
}

/// Record `cache_flush`: a cached frame goes back to the pool, pending its merges.
///
/// `record_cache_flush!(recorder, cpu, frame)`
#[macro_export]
macro_rules! record_cache_flush {
    ($rec:expr, $cpu:expr, $frame:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::CacheFlush,
            [($frame) as u64, 0, 0, 0],
        )
    };
}

/// Record `cache_alloc`: an order-0 alloc pops the frame from this CPU's cache.
///
/// `record_cache_alloc!(recorder, cpu, frame)`
#[macro_export]
macro_rules! record_cache_alloc {
    ($rec:expr, $cpu:expr, $frame:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::CacheAlloc,
            [($frame) as u64, 0, 0, 0],
        )
    };
}

/// Record `cache_free`: an order-0 dealloc pushes the frame on this CPU's cache.
///
/// `record_cache_free!(recorder, cpu, frame)`
#[macro_export]
macro_rules! record_cache_free {
    ($rec:expr, $cpu:expr, $frame:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::CacheFree,
            [($frame) as u64, 0, 0, 0],
        )
    };
}

/// Record `alloc`: `GlobalFrameAllocator::alloc` returned `addr` (`None`: no memory) for `size` bytes.
/// Log it as the call returns, after the buddy's steps.
///
/// `record_alloc!(recorder, cpu, addr: Option<usize>, size)`
#[macro_export]
macro_rules! record_alloc {
    ($rec:expr, $cpu:expr, $addr:expr, $size:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::Alloc,
            [
                match $addr {
                    Some(a) => a as u64,
                    None => u64::MAX,
                },
                ($size) as u64,
                0,
                0,
            ],
        )
    };
}

/// Record `dealloc`: `GlobalFrameAllocator::dealloc(addr, size)` returned (log it after the buddy's steps).
///
/// `record_dealloc!(recorder, cpu, addr, size)`
#[macro_export]
macro_rules! record_dealloc {
    ($rec:expr, $cpu:expr, $addr:expr, $size:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::Dealloc,
            [($addr) as u64, ($size) as u64, 0, 0],
        )
    };
}

/// Record `add_free_memory`: `GlobalFrameAllocator::add_free_memory(addr, size)` returned.
///
/// `record_add_free_memory!(recorder, cpu, addr, size)`
#[macro_export]
macro_rules! record_add_free_memory {
    ($rec:expr, $cpu:expr, $addr:expr, $size:expr $(,)?) => {
        $rec.record(
            ($cpu) as usize,
            $crate::EventKind::AddFreeMemory,
            [($addr) as u64, ($size) as u64, 0, 0],
        )
    };
}
