//! Record what a kernel frame allocator does, for `framemc validate`.
//!
//! A kernel (or a simulation of one) calls one `record_*!` macro per step of its frame allocator: the
//! MetaSlot atomics of the frame protocol (`rc_cas`, `gen_bump`, `publish`, `rc_add`, `rc_sub`, ...) and
//! the buddy's small steps (`add_block`, `split`, `alloc_block`, `free_block`, `merge`, `merge_stop`). Each
//! macro takes a number from one global sequence counter ([`SEQ`]) and pushes a fixed-size binary
//! [`Record`] onto the calling CPU's ring ([`Ring`]). A consumer drains each ring ([`Recorder::drain`])
//! and, with the `std` feature, writes the records as a log in the JSON Lines format v1 of
//! `docs/validate.md` ([`jsonl::JsonlWriter`]), one file per CPU; `framemc validate` merges the files by
//! sequence number and checks every step against the model.
//!
//! # Ordering: the one rule a caller must follow
//!
//! The validator replays the events in sequence order and checks each refcount step's observed value
//! (`old`) against the model. So the sequence order must agree with the real order of the atomic
//! operations on each frame: **take the sequence number in the same critical section as the step it
//! logs**. For the MetaSlot atomics, hold a per-frame log lock around (atomic operation + macro); for
//! the buddy, call the macros while holding the pool lock. The claim CAS and its generation bump must be
//! logged inside one hold of the frame's log lock. See `recorders/rust/README.md`.
//!
//! # The ring
//!
//! Each CPU has a bounded single-producer single-consumer ring of [`Record`]s, lock-free and without
//! `unsafe` (every slot word is an atomic). A push never blocks and never allocates: when the ring is
//! full the record is dropped and counted ([`Ring::dropped`], with the first and last dropped sequence
//! numbers). A second producer that enters a ring while a push is in progress (an interrupt on the same
//! CPU, or a caller using the wrong CPU id) does not corrupt it: its record is dropped and counted too.
//! Records for a CPU id past the recorder's CPUs are counted in [`Recorder::misrouted`]. Nothing is lost
//! silently: a log of a run whose [`Recorder::total_dropped`] is not zero is incomplete, and the `std`
//! writer marks it so (see [`jsonl::JsonlWriter::finish`]).
//!
//! ```
//! use framemc_recorder::{record_rc_cas, record_gen_bump, EventKind, Recorder, UNUSED};
//! static REC: Recorder<2, 64> = Recorder::new();
//! record_rc_cas!(REC, 1, 5, UNUSED, 0, true);
//! record_gen_bump!(REC, 1, 5, 1);
//! let got: Vec<_> = REC.drain(1).unwrap().collect();
//! assert_eq!(got.len(), 2);
//! assert_eq!(got[0].kind, EventKind::RcCas);
//! assert!(got[0].seq < got[1].seq);
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(feature = "std", test))]
extern crate std;

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

mod macros;

#[cfg(feature = "std")]
pub mod jsonl;

/// The log format version the records are written in (`"framemc_log": 1`).
pub const LOG_FORMAT: u64 = 1;
/// The refcount of an unused frame (`u64::MAX`).
pub const UNUSED: u64 = u64::MAX;

/// The global sequence counter: every recorded event takes the next number.
///
/// `Relaxed` is enough: the caller takes the number inside the critical section (frame log lock or
/// pool lock) of the step it logs, and two sections ordered by that lock see the counter in that order
/// (read-read and write-read coherence of one atomic location).
pub static SEQ: AtomicU64 = AtomicU64::new(0);

/// The next sequence number.
#[inline]
pub fn next_seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// How an argument of an event is written in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    /// an unsigned integer
    Int,
    /// `true` or `false` (stored as 1 or 0)
    Bool,
    /// an address, or `null` (stored as `u64::MAX`): an alloc that found no memory
    Addr,
}

use ArgType::{Addr, Bool, Int};

/// The kinds of event of the log format v1 (`docs/validate.md`), in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EventKind {
    /// `ref_count.compare_exchange(UNUSED, 0, Acquire, Relaxed)`: `frame`, `old`, `new`, `ok`
    RcCas = 1,
    /// the generation bump after a successful claim: `frame`, `new`
    GenBump,
    /// zeroing the payload: `frame`
    Zero,
    /// writing the purpose: `frame`, `purpose`
    SetPurpose,
    /// `ref_count.store(1, Release)`: `frame`, `zeroed`
    Publish,
    /// `ref_count.fetch_add(1)`: `frame`, `old`
    RcAdd,
    /// `ref_count.fetch_sub(1, Release)`: `frame`, `old`
    RcSub,
    /// `ref_count.store(UNUSED)` at teardown: `frame`, `value`
    RcStore,
    /// `mark_poisoned`: `frame`
    Poison,
    /// the holder writes the payload: `frame`, `data` (a 32-bit digest)
    PayloadWrite,
    /// `add_free_memory` inserts a block: `pool`, `head`, `order`
    AddBlock,
    /// the buddy hands out a free block: `head`, `order`
    AllocBlock,
    /// the buddy splits a free block, the lower half stays pending: `head`
    Split,
    /// the buddy inserts a freed block, pending its merges: `head`, `order`
    FreeBlock,
    /// the pending block merges with its free buddy: `head`
    Merge,
    /// the merge cascade stops, the pool lock is released: `head`
    MergeStop,
    /// a frame moves from the pool to this CPU's cache: `frame`
    CacheRefill,
    /// a frame moves from this CPU's cache to the pool: `frame`
    CacheFlush,
    /// an order-0 alloc from this CPU's cache: `frame`
    CacheAlloc,
    /// an order-0 dealloc into this CPU's cache: `frame`
    CacheFree,
    /// `GlobalFrameAllocator::alloc` returned: `addr` (`null`: no memory), `size` in bytes
    Alloc,
    /// `GlobalFrameAllocator::dealloc` returned: `addr`, `size` in bytes
    Dealloc,
    /// `GlobalFrameAllocator::add_free_memory` returned: `addr`, `size` in bytes
    AddFreeMemory,
}

impl EventKind {
    /// Every kind, in the order of the format.
    pub const ALL: [EventKind; 23] = [
        EventKind::RcCas,
        EventKind::GenBump,
        EventKind::Zero,
        EventKind::SetPurpose,
        EventKind::Publish,
        EventKind::RcAdd,
        EventKind::RcSub,
        EventKind::RcStore,
        EventKind::Poison,
        EventKind::PayloadWrite,
        EventKind::AddBlock,
        EventKind::AllocBlock,
        EventKind::Split,
        EventKind::FreeBlock,
        EventKind::Merge,
        EventKind::MergeStop,
        EventKind::CacheRefill,
        EventKind::CacheFlush,
        EventKind::CacheAlloc,
        EventKind::CacheFree,
        EventKind::Alloc,
        EventKind::Dealloc,
        EventKind::AddFreeMemory,
    ];

    /// The kind stored as `v`, if any.
    pub const fn from_u8(v: u8) -> Option<EventKind> {
        if v >= 1 && v as usize <= Self::ALL.len() {
            Some(Self::ALL[v as usize - 1])
        } else {
            None
        }
    }

    /// The `ev` name in the log.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::RcCas => "rc_cas",
            EventKind::GenBump => "gen_bump",
            EventKind::Zero => "zero",
            EventKind::SetPurpose => "set_purpose",
            EventKind::Publish => "publish",
            EventKind::RcAdd => "rc_add",
            EventKind::RcSub => "rc_sub",
            EventKind::RcStore => "rc_store",
            EventKind::Poison => "poison",
            EventKind::PayloadWrite => "payload_write",
            EventKind::AddBlock => "add_block",
            EventKind::AllocBlock => "alloc_block",
            EventKind::Split => "split",
            EventKind::FreeBlock => "free_block",
            EventKind::Merge => "merge",
            EventKind::MergeStop => "merge_stop",
            EventKind::CacheRefill => "cache_refill",
            EventKind::CacheFlush => "cache_flush",
            EventKind::CacheAlloc => "cache_alloc",
            EventKind::CacheFree => "cache_free",
            EventKind::Alloc => "alloc",
            EventKind::Dealloc => "dealloc",
            EventKind::AddFreeMemory => "add_free_memory",
        }
    }

    /// The arguments, in the order they are stored in [`Record::args`], with their log names and types.
    pub const fn args(self) -> &'static [(&'static str, ArgType)] {
        match self {
            EventKind::RcCas => &[("frame", Int), ("old", Int), ("new", Int), ("ok", Bool)],
            EventKind::GenBump => &[("frame", Int), ("new", Int)],
            EventKind::SetPurpose => &[("frame", Int), ("purpose", Int)],
            EventKind::Publish => &[("frame", Int), ("zeroed", Bool)],
            EventKind::RcAdd | EventKind::RcSub => &[("frame", Int), ("old", Int)],
            EventKind::RcStore => &[("frame", Int), ("value", Int)],
            EventKind::PayloadWrite => &[("frame", Int), ("data", Int)],
            EventKind::AddBlock => &[("pool", Int), ("head", Int), ("order", Int)],
            EventKind::AllocBlock | EventKind::FreeBlock => &[("head", Int), ("order", Int)],
            EventKind::Split | EventKind::Merge | EventKind::MergeStop => &[("head", Int)],
            EventKind::Zero
            | EventKind::Poison
            | EventKind::CacheRefill
            | EventKind::CacheFlush
            | EventKind::CacheAlloc
            | EventKind::CacheFree => &[("frame", Int)],
            EventKind::Alloc | EventKind::Dealloc | EventKind::AddFreeMemory => {
                &[("addr", Addr), ("size", Int)]
            }
        }
    }
}

/// One recorded event: fixed size, no pointers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// the global sequence number
    pub seq: u64,
    /// the CPU that did the step
    pub cpu: u32,
    /// what the step was
    pub kind: EventKind,
    /// its arguments, in the order of [`EventKind::args`]; unused ones are 0
    pub args: [u64; 4],
}

impl fmt::Display for Record {
    /// The record as one JSON object of the log format v1 (no newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{\"seq\": {}, \"cpu\": {}, \"ev\": \"{}\"",
            self.seq,
            self.cpu,
            self.kind.name()
        )?;
        for (&(name, ty), &v) in self.kind.args().iter().zip(self.args.iter()) {
            match ty {
                Int => write!(f, ", \"{name}\": {v}")?,
                Bool => write!(f, ", \"{name}\": {}", v != 0)?,
                Addr if v == u64::MAX => write!(f, ", \"{name}\": null")?,
                Addr => write!(f, ", \"{name}\": {v}")?,
            }
        }
        f.write_str("}")
    }
}

/// The header line of a log (no newline): `{"framemc_log": 1, "nframes": .., "ncpus": .., "max_order": ..}`.
pub fn write_header(
    out: &mut impl fmt::Write,
    nframes: u64,
    ncpus: u64,
    max_order: u64,
    caches: bool,
) -> fmt::Result {
    write!(
        out,
        "{{\"framemc_log\": {LOG_FORMAT}, \"nframes\": {nframes}, \"ncpus\": {ncpus}, \"max_order\": {max_order}"
    )?;
    if !caches {
        // the allocator has no per-CPU caches: a partial log's bridges never use them
        out.write_str(", \"caches\": false")?;
    }
    out.write_str("}")
}

/// Words in a ring slot: seq, kind | cpu << 32, four arguments.
const WORDS: usize = 6;

struct Slot {
    words: [AtomicU64; WORDS],
}

// array repeat operands that are not `Copy` must be constant items (inline `const { }` needs Rust 1.79)
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_WORD: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot {
    words: [ZERO_WORD; WORDS],
};

/// Why a push did not store its record (it was counted as dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// the ring holds `CAP` records the consumer has not drained yet
    Full,
    /// another push on this ring was in progress (a second producer on one CPU's ring)
    Reentered,
    /// the CPU id is past the recorder's CPUs
    NoSuchCpu,
}

/// A bounded lock-free single-producer single-consumer ring of `CAP` records (one per CPU).
///
/// The producer is the CPU the ring belongs to; the consumer is whoever drains it. Each slot is a few
/// atomic words: the producer fills them and publishes the slot with a `Release` store of the head, the
/// consumer reads slots below the head (`Acquire`) and frees them with a `Release` store of the tail.
pub struct Ring<const CAP: usize> {
    slots: [Slot; CAP],
    /// records pushed so far (the next write position is `head % CAP`)
    head: AtomicU64,
    /// records drained so far
    tail: AtomicU64,
    /// a push is in progress
    writing: AtomicBool,
    /// a drain is in progress
    reading: AtomicBool,
    /// records that did not fit, or whose push met another push in progress
    dropped: AtomicU64,
    /// sequence numbers of the first and last dropped records (`u64::MAX` / 0 when none)
    first_dropped: AtomicU64,
    last_dropped: AtomicU64,
}

impl<const CAP: usize> Default for Ring<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAP: usize> Ring<CAP> {
    const CAP_OK: () = assert!(CAP > 0, "a ring holds at least one record");
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Self = Self::new();

    /// An empty ring (usable in a `static`).
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAP_OK;
        Ring {
            slots: [EMPTY_SLOT; CAP],
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            writing: AtomicBool::new(false),
            reading: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            first_dropped: AtomicU64::new(u64::MAX),
            last_dropped: AtomicU64::new(0),
        }
    }

    /// Records the ring can hold.
    pub const fn capacity(&self) -> usize {
        CAP
    }

    /// Records pushed and not yet drained.
    pub fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        head.saturating_sub(tail) as usize
    }

    /// No record waits to be drained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records pushed so far (stored, not dropped).
    pub fn pushed(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Records dropped so far (the ring was full, or a push met another push).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }

    /// The sequence numbers of the first and last dropped records, if any was dropped.
    pub fn dropped_range(&self) -> Option<(u64, u64)> {
        if self.dropped() == 0 {
            return None;
        }
        Some((
            self.first_dropped.load(Ordering::Acquire),
            self.last_dropped.load(Ordering::Acquire),
        ))
    }

    fn count_drop(&self, seq: u64) {
        self.first_dropped.fetch_min(seq, Ordering::AcqRel);
        self.last_dropped.fetch_max(seq, Ordering::AcqRel);
        self.dropped.fetch_add(1, Ordering::AcqRel);
    }

    /// Push one record; never blocks. When it cannot be stored it is counted as dropped.
    pub fn push(&self, rec: &Record) -> Result<(), PushError> {
        if self.writing.swap(true, Ordering::Acquire) {
            self.count_drop(rec.seq);
            return Err(PushError::Reentered);
        }
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        let result = if head - tail >= CAP as u64 {
            self.count_drop(rec.seq);
            Err(PushError::Full)
        } else {
            let slot = &self.slots[(head % CAP as u64) as usize];
            let w = &slot.words;
            w[0].store(rec.seq, Ordering::Relaxed);
            w[1].store(rec.kind as u64 | (rec.cpu as u64) << 32, Ordering::Relaxed);
            for (word, &arg) in w[2..].iter().zip(rec.args.iter()) {
                word.store(arg, Ordering::Relaxed);
            }
            self.head.store(head + 1, Ordering::Release);
            Ok(())
        };
        self.writing.store(false, Ordering::Release);
        result
    }

    /// Take the records pushed so far, oldest first; `None` while another drain of this ring is in
    /// progress. Records pushed while the iterator runs are taken too.
    pub fn drain(&self) -> Option<Drain<'_, CAP>> {
        if self.reading.swap(true, Ordering::Acquire) {
            return None;
        }
        Some(Drain { ring: self })
    }
}

/// An iterator that pops records from a ring (see [`Ring::drain`]); dropping it ends the drain.
pub struct Drain<'a, const CAP: usize> {
    ring: &'a Ring<CAP>,
}

impl<const CAP: usize> Iterator for Drain<'_, CAP> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let ring = self.ring;
        let tail = ring.tail.load(Ordering::Relaxed);
        if tail >= ring.head.load(Ordering::Acquire) {
            return None;
        }
        let w = &ring.slots[(tail % CAP as u64) as usize].words;
        let packed = w[1].load(Ordering::Relaxed);
        let rec = Record {
            seq: w[0].load(Ordering::Relaxed),
            cpu: (packed >> 32) as u32,
            // a slot below the head always holds a kind a push stored
            kind: EventKind::from_u8(packed as u8).expect("a ring slot holds a valid event kind"),
            args: [
                w[2].load(Ordering::Relaxed),
                w[3].load(Ordering::Relaxed),
                w[4].load(Ordering::Relaxed),
                w[5].load(Ordering::Relaxed),
            ],
        };
        ring.tail.store(tail + 1, Ordering::Release);
        Some(rec)
    }
}

impl<const CAP: usize> Drop for Drain<'_, CAP> {
    fn drop(&mut self) {
        self.ring.reading.store(false, Ordering::Release);
    }
}

/// One ring per CPU for `CPUS` CPUs, `CAP` records each. Usable in a `static`.
pub struct Recorder<const CPUS: usize, const CAP: usize> {
    rings: [Ring<CAP>; CPUS],
    misrouted: AtomicU64,
}

impl<const CPUS: usize, const CAP: usize> Default for Recorder<CPUS, CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CPUS: usize, const CAP: usize> Recorder<CPUS, CAP> {
    /// A recorder with empty rings.
    pub const fn new() -> Self {
        Recorder {
            rings: [Ring::<CAP>::EMPTY; CPUS],
            misrouted: AtomicU64::new(0),
        }
    }

    /// The number of CPU rings.
    pub const fn cpus(&self) -> usize {
        CPUS
    }

    /// Record one event of `cpu`: take the next sequence number and push. Returns the sequence number
    /// (also when the record was dropped: the drop is counted). Call it inside the critical section of
    /// the step it logs; the `record_*!` macros call it.
    #[inline]
    pub fn record(&self, cpu: usize, kind: EventKind, args: [u64; 4]) -> u64 {
        let seq = next_seq();
        let _ = self.push(Record {
            seq,
            cpu: cpu as u32,
            kind,
            args,
        });
        seq
    }

    /// Push a record made elsewhere onto its CPU's ring.
    pub fn push(&self, rec: Record) -> Result<(), PushError> {
        match self.rings.get(rec.cpu as usize) {
            Some(ring) => ring.push(&rec),
            None => {
                self.misrouted.fetch_add(1, Ordering::AcqRel);
                Err(PushError::NoSuchCpu)
            }
        }
    }

    /// The ring of `cpu`.
    pub fn ring(&self, cpu: usize) -> Option<&Ring<CAP>> {
        self.rings.get(cpu)
    }

    /// Drain the ring of `cpu` (`None` for an unknown CPU or while another drain of it runs).
    pub fn drain(&self, cpu: usize) -> Option<Drain<'_, CAP>> {
        self.rings.get(cpu)?.drain()
    }

    /// Records dropped from the ring of `cpu`.
    pub fn dropped(&self, cpu: usize) -> u64 {
        self.rings.get(cpu).map_or(0, Ring::dropped)
    }

    /// Records for a CPU id past `CPUS` (never stored).
    pub fn misrouted(&self) -> u64 {
        self.misrouted.load(Ordering::Acquire)
    }

    /// Every record not stored: dropped from any ring, or misrouted. A log is complete only when this
    /// is 0.
    pub fn total_dropped(&self) -> u64 {
        self.rings.iter().map(Ring::dropped).sum::<u64>() + self.misrouted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    #[test]
    fn kinds_round_trip() {
        for (i, k) in EventKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i + 1);
            assert_eq!(EventKind::from_u8(*k as u8), Some(*k));
        }
        assert_eq!(EventKind::from_u8(0), None);
        assert_eq!(EventKind::from_u8(EventKind::ALL.len() as u8 + 1), None);
    }

    #[test]
    fn a_failed_alloc_writes_a_null_address() {
        let r = Record {
            seq: 3,
            cpu: 1,
            kind: EventKind::Alloc,
            args: [u64::MAX, 8192, 0, 0],
        };
        let mut s = String::new();
        fmt::write(&mut s, format_args!("{r}")).unwrap();
        assert_eq!(
            s,
            "{\"seq\": 3, \"cpu\": 1, \"ev\": \"alloc\", \"addr\": null, \"size\": 8192}"
        );
    }

    #[test]
    fn records_are_json_objects_of_the_format() {
        let r = Record {
            seq: 17,
            cpu: 2,
            kind: EventKind::RcCas,
            args: [5, UNUSED, 0, 1],
        };
        let mut s = String::new();
        fmt::write(&mut s, format_args!("{r}")).unwrap();
        assert_eq!(
            s,
            "{\"seq\": 17, \"cpu\": 2, \"ev\": \"rc_cas\", \"frame\": 5, \"old\": 18446744073709551615, \
             \"new\": 0, \"ok\": true}"
        );
        let r = Record {
            seq: 1,
            cpu: 0,
            kind: EventKind::Publish,
            args: [3, 0, 0, 0],
        };
        assert_eq!(
            std::format!("{r}"),
            "{\"seq\": 1, \"cpu\": 0, \"ev\": \"publish\", \"frame\": 3, \"zeroed\": false}"
        );
        let mut h = String::new();
        write_header(&mut h, 64, 4, 6, true).unwrap();
        assert_eq!(
            h,
            "{\"framemc_log\": 1, \"nframes\": 64, \"ncpus\": 4, \"max_order\": 6}"
        );
        let mut h = String::new();
        write_header(&mut h, 8, 1, 3, false).unwrap();
        assert_eq!(
            h,
            "{\"framemc_log\": 1, \"nframes\": 8, \"ncpus\": 1, \"max_order\": 3, \"caches\": false}"
        );
    }

    #[test]
    fn a_full_ring_counts_what_it_drops() {
        let ring: Ring<4> = Ring::new();
        for seq in 0..6 {
            let r = Record {
                seq,
                cpu: 0,
                kind: EventKind::Zero,
                args: [seq, 0, 0, 0],
            };
            let res = ring.push(&r);
            assert_eq!(res.is_ok(), seq < 4);
        }
        assert_eq!(ring.dropped(), 2);
        assert_eq!(ring.dropped_range(), Some((4, 5)));
        let got: Vec<u64> = ring.drain().unwrap().map(|r| r.seq).collect();
        assert_eq!(got, [0, 1, 2, 3]);
        // room again, and wrap-around keeps the order
        for seq in 6..9 {
            ring.push(&Record {
                seq,
                cpu: 0,
                kind: EventKind::Zero,
                args: [0; 4],
            })
            .unwrap();
        }
        let got: Vec<u64> = ring.drain().unwrap().map(|r| r.seq).collect();
        assert_eq!(got, [6, 7, 8]);
        assert_eq!(ring.dropped(), 2);
    }

    #[test]
    fn one_drain_at_a_time() {
        let ring: Ring<4> = Ring::new();
        let d = ring.drain().unwrap();
        assert!(ring.drain().is_none());
        drop(d);
        assert!(ring.drain().is_some());
    }

    #[test]
    fn unknown_cpus_are_counted() {
        static REC: Recorder<2, 8> = Recorder::new();
        REC.record(5, EventKind::Zero, [1, 0, 0, 0]);
        assert_eq!(REC.misrouted(), 1);
        assert_eq!(REC.total_dropped(), 1);
    }

    #[test]
    fn concurrent_producers_and_a_consumer_lose_nothing_silently() {
        static REC: Recorder<4, 64> = Recorder::new();
        const N: u64 = 20_000;
        let done = std::sync::atomic::AtomicBool::new(false);
        let mut got: Vec<Vec<Record>> = (0..4).map(|_| Vec::new()).collect();
        std::thread::scope(|s| {
            let producers: Vec<_> = (0..4)
                .map(|cpu| {
                    s.spawn(move || {
                        for i in 0..N {
                            REC.record(cpu, EventKind::RcAdd, [cpu as u64, i, 0, 0]);
                        }
                    })
                })
                .collect();
            let consumer = s.spawn(|| {
                let mut got: Vec<Vec<Record>> = (0..4).map(|_| Vec::new()).collect();
                loop {
                    let finished = done.load(Ordering::Acquire);
                    for (cpu, out) in got.iter_mut().enumerate() {
                        out.extend(REC.drain(cpu).unwrap());
                    }
                    if finished {
                        return got;
                    }
                    std::thread::yield_now();
                }
            });
            for p in producers {
                p.join().unwrap();
            }
            done.store(true, Ordering::Release);
            got = consumer.join().unwrap();
        });
        for (cpu, recs) in got.iter().enumerate() {
            assert_eq!(recs.len() as u64 + REC.dropped(cpu), N);
            assert!(recs
                .windows(2)
                .all(|w| w[0].seq < w[1].seq && w[0].args[1] < w[1].args[1]));
            assert!(recs
                .iter()
                .all(|r| r.cpu as usize == cpu && r.args[0] == cpu as u64));
        }
    }
}
