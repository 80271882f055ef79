//! A simulated buddy + MetaSlot frame allocator, run by several OS threads and recorded with
//! `framemc-recorder`, writing one `framemc validate` log per thread ("CPU").
//!
//! ```text
//! framemc-recorder-example [--threads N] [--ops N] [--frames N] [--max-order K] [--seed S] [--out DIR]
//! framemc validate DIR/cpu*.jsonl
//! ```
//!
//! The frame array is a `Vec<MetaSlot>`: a refcount (`UNUSED` = `u64::MAX`), a generation, a purpose, a
//! 64-byte payload (the first bytes of a 4 KiB page whose other bytes stay zero) and a zeroed flag. One
//! buddy allocator behind a `Mutex` logs each of its small steps as the model takes them (boot:
//! `add_block` + merges + `merge_stop`; alloc: `split`s + `alloc_block`; free: `free_block` + merges +
//! `merge_stop`). The frame protocol is seed 001's: claim CAS, generation bump, optional zeroing (always
//! for page tables), purpose, publish, shared handles cloned and dropped across threads, the last drop's
//! Acquire fence, teardown store of `UNUSED`, buddy free. Holders write the payload, so freed frames come
//! back dirty.
//!
//! Ordering (see `../README.md`): every MetaSlot atomic that is logged is done, and its sequence number
//! taken and its record pushed, under the frame's log lock (a spinlock in the MetaSlot); every buddy step
//! is logged under the buddy mutex. The claim CAS and its generation bump share one hold of the log lock.
//!
//! The run starts with a deterministic warm-up on CPU 0, before the worker threads start: a frame is
//! allocated, published as a general frame, written and freed; the buddy then hands out the same frame
//! again (the lowest free block is taken first) and it becomes a page table. So a planted bug of the
//! zeroing, the claim or the dealloc shows in the log of every run, whatever the threads do later.
//!
//! Exit status: 0 done; 2 bad arguments or an I/O error; 3 records were dropped (the logs are
//! incomplete); 4 the simulation's own end-of-run check failed (correct build only).

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use framemc_recorder::jsonl::JsonlWriter;
use framemc_recorder::{
    record_add_block, record_add_free_memory, record_alloc, record_alloc_block, record_dealloc,
    record_free_block, record_gen_bump, record_merge,
    record_merge_stop, record_payload_write, record_publish, record_rc_add, record_rc_cas,
    record_rc_store, record_rc_sub, record_set_purpose, record_split, record_zero, Recorder,
    UNUSED,
};

/// the most threads (CPUs) a run may have
const MAX_CPUS: usize = 16;
/// records per CPU ring; a drainer thread empties the rings while the workers run
const RING_CAP: usize = 1 << 14;
static REC: Recorder<MAX_CPUS, RING_CAP> = Recorder::new();

const PURPOSE_NONE: u8 = 0;
const PURPOSE_GENERAL: u8 = 1;
const PURPOSE_PAGE_TABLE: u8 = 2;
const PURPOSE_DMA: u8 = 3;
/// clones past this abort (Asterinas' REFCOUNT_MAX)
const REFCOUNT_MAX: u64 = (1 << 63) - 1;
/// the payload kept per frame: the first 64 bytes of its page
const PAYLOAD_WORDS: usize = 8;
const PAGE_SIZE: usize = 4096;
/// crc32 of an all-zero page: the digest the model gives a zeroed payload (`zlib.crc32(bytes(4096))`)
const ZERO_DIGEST: u32 = 0xC71C_0011;
/// `hord` of a frame that heads no free block
const NO_HEAD: u8 = u8::MAX;

const BUGS: &[(&str, bool)] = &[
    (
        "bug-publish-before-zero",
        cfg!(feature = "bug-publish-before-zero"),
    ),
    (
        "bug-generation-before-cas",
        cfg!(feature = "bug-generation-before-cas"),
    ),
    ("bug-dealloc-overlap", cfg!(feature = "bug-dealloc-overlap")),
];

// ---- payload digests: zlib's crc32 over the whole page ------------------------------------------

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// crc32 of the page whose first bytes are `words` (little endian) and whose other bytes are zero.
fn page_digest(words: &[u64; PAYLOAD_WORDS]) -> u32 {
    let mut c = !0u32;
    for w in words {
        for b in w.to_le_bytes() {
            c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
    }
    for _ in PAYLOAD_WORDS * 8..PAGE_SIZE {
        c = CRC_TABLE[(c & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

// ---- a small deterministic generator (splitmix64) -----------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_F00D)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---- the MetaSlot --------------------------------------------------------------------------------

struct MetaSlot {
    ref_count: AtomicU64,
    generation: AtomicU64,
    purpose: AtomicU8,
    /// the payload is all zero
    zeroed: AtomicBool,
    payload: [AtomicU64; PAYLOAD_WORDS],
    /// held around (a logged atomic step + its sequence number + its record): see the README
    log_lock: AtomicBool,
}

/// The frame's log lock, released on drop.
struct LogGuard<'a>(&'a AtomicBool);

impl Drop for LogGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Release);
    }
}

impl MetaSlot {
    fn new() -> MetaSlot {
        MetaSlot {
            ref_count: AtomicU64::new(UNUSED),
            generation: AtomicU64::new(0),
            purpose: AtomicU8::new(PURPOSE_NONE),
            zeroed: AtomicBool::new(true),
            payload: Default::default(),
            log_lock: AtomicBool::new(false),
        }
    }

    fn log_lock(&self) -> LogGuard<'_> {
        let mut spins = 0u32;
        while self
            .log_lock
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                // the holder may have been preempted (more threads than cores)
                std::thread::yield_now();
            }
        }
        LogGuard(&self.log_lock)
    }
}

// ---- the buddy allocator (one pool, behind one mutex) -------------------------------------------

struct Buddy {
    nframes: usize,
    max_order: u32,
    /// order of the free block each frame heads, or NO_HEAD
    hord: Vec<u8>,
    /// free block heads per order
    free: Vec<BTreeSet<usize>>,
}

impl Buddy {
    fn new(nframes: usize, max_order: u32) -> Buddy {
        Buddy {
            nframes,
            max_order,
            hord: vec![NO_HEAD; nframes],
            free: (0..=max_order).map(|_| BTreeSet::new()).collect(),
        }
    }

    /// `add_free_memory(0, nframes)`: blocks one order below the largest that fits, so that each pair
    /// merges as it is added.
    fn boot(&mut self, cpu: usize) {
        let top = self.nframes.trailing_zeros().min(self.max_order);
        let k = top.saturating_sub(1);
        for head in (0..self.nframes).step_by(1 << k) {
            record_add_block!(REC, cpu, 0, head, k);
            self.hord[head] = k as u8;
            self.merge_cascade(cpu, head, k);
        }
        // the public operation, logged before the lock is released: the log's order is the order the
        // operations took effect in
        record_add_free_memory!(REC, cpu, 0, self.nframes * PAGE_SIZE);
    }

    /// The pending block (`head`, `k`) merges with its buddy while that is free, then is inserted.
    fn merge_cascade(&mut self, cpu: usize, mut head: usize, mut k: u32) {
        while k < self.max_order {
            let other = head ^ (1 << k);
            if other >= self.nframes
                || self.hord[other] != k as u8
                || !self.free[k as usize].contains(&other)
            {
                break;
            }
            record_merge!(REC, cpu, head);
            self.free[k as usize].remove(&other);
            self.hord[other] = NO_HEAD;
            self.hord[head] = NO_HEAD;
            head = head.min(other);
            k += 1;
            self.hord[head] = k as u8;
        }
        record_merge_stop!(REC, cpu, head);
        self.free[k as usize].insert(head);
    }

    /// Alloc a block of order `k`: the lowest block of the smallest order that fits, split down.
    fn alloc(&mut self, cpu: usize, k: u32) -> Option<usize> {
        let got = self.take(cpu, k);
        record_alloc!(REC, cpu, got.map(|f| f * PAGE_SIZE), (1usize << k) * PAGE_SIZE);
        got
    }

    /// The lowest block of the smallest order that fits, split down to order `k`.
    fn take(&mut self, cpu: usize, k: u32) -> Option<usize> {
        let mut j = (k..=self.max_order).find(|&j| !self.free[j as usize].is_empty())?;
        let head = *self.free[j as usize].iter().next()?;
        self.free[j as usize].remove(&head);
        while j > k {
            record_split!(REC, cpu, head);
            j -= 1;
            let upper = head + (1 << j);
            self.hord[head] = j as u8;
            self.hord[upper] = j as u8;
            self.free[j as usize].insert(upper);
        }
        record_alloc_block!(REC, cpu, head, k);
        self.hord[head] = NO_HEAD;
        Some(head)
    }

    /// Free the block (`head`, `k`): insert it pending, merge it up, stop.
    fn free(&mut self, cpu: usize, head: usize, k: u32) {
        record_free_block!(REC, cpu, head, k);
        self.hord[head] = k as u8;
        self.merge_cascade(cpu, head, k);
        record_dealloc!(REC, cpu, head * PAGE_SIZE, (1usize << k) * PAGE_SIZE);
    }

    /// Every frame is free and merged as far as it goes.
    fn fully_free(&self) -> bool {
        let top = self.nframes.trailing_zeros().min(self.max_order) as usize;
        self.free.iter().enumerate().all(|(k, heads)| {
            if k == top {
                heads.len() == self.nframes >> top
            } else {
                heads.is_empty()
            }
        })
    }
}

// ---- the machine ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Handle {
    frame: usize,
    order: u32,
}

#[derive(Default)]
struct Stats {
    allocs: AtomicU64,
    alloc_failures: AtomicU64,
    claims_lost: AtomicU64,
    probes: AtomicU64,
    clones: AtomicU64,
    drops: AtomicU64,
    last_drops: AtomicU64,
    payload_writes: AtomicU64,
    zeroes: AtomicU64,
    page_tables: AtomicU64,
}

struct Machine {
    slots: Vec<MetaSlot>,
    buddy: Mutex<Buddy>,
    /// shared handles passed between threads
    exchange: Mutex<Vec<Handle>>,
    max_order: u32,
    stats: Stats,
    #[cfg(feature = "bug-dealloc-overlap")]
    retried: AtomicBool,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

impl Machine {
    fn new(nframes: usize, max_order: u32) -> Machine {
        Machine {
            slots: (0..nframes).map(|_| MetaSlot::new()).collect(),
            buddy: Mutex::new(Buddy::new(nframes, max_order)),
            exchange: Mutex::new(Vec::new()),
            max_order,
            stats: Stats::default(),
            #[cfg(feature = "bug-dealloc-overlap")]
            retried: AtomicBool::new(false),
        }
    }

    /// Claim: CAS UNUSED -> 0 (Acquire), then the generation bump, in one hold of the log lock.
    fn claim(&self, cpu: usize, f: usize) -> bool {
        let s = &self.slots[f];
        let _log = s.log_lock();
        #[cfg(feature = "bug-generation-before-cas")]
        {
            // BUG: the generation is bumped before the CAS, and kept when the CAS fails
            let new = s.generation.fetch_add(1, Relaxed) + 1;
            record_gen_bump!(REC, cpu, f, new);
        }
        match s.ref_count.compare_exchange(UNUSED, 0, Acquire, Relaxed) {
            Ok(old) => {
                record_rc_cas!(REC, cpu, f, old, 0, true);
                #[cfg(not(feature = "bug-generation-before-cas"))]
                {
                    let new = s.generation.fetch_add(1, Relaxed) + 1;
                    record_gen_bump!(REC, cpu, f, new);
                }
                true
            }
            Err(seen) => {
                record_rc_cas!(REC, cpu, f, seen, 0, false);
                false
            }
        }
    }

    fn zero(&self, cpu: usize, f: usize) {
        let s = &self.slots[f];
        for w in &s.payload {
            w.store(0, Relaxed);
        }
        s.zeroed.store(true, Release);
        record_zero!(REC, cpu, f);
        bump(&self.stats.zeroes);
    }

    fn publish(&self, cpu: usize, f: usize, zeroed: bool) {
        let s = &self.slots[f];
        let _log = s.log_lock();
        s.ref_count.store(1, Release);
        record_publish!(REC, cpu, f, zeroed);
    }

    /// The holder writes its data (never all zero) into the payload.
    fn write_payload(&self, cpu: usize, f: usize, rng: &mut Rng) {
        let mut words = [0u64; PAYLOAD_WORDS];
        let digest = loop {
            for w in words.iter_mut() {
                *w = rng.next();
            }
            let d = page_digest(&words);
            if d != ZERO_DIGEST {
                break d;
            }
        };
        let s = &self.slots[f];
        for (slot, w) in s.payload.iter().zip(words) {
            slot.store(w, Relaxed);
        }
        s.zeroed.store(false, Release);
        record_payload_write!(REC, cpu, f, digest);
        bump(&self.stats.payload_writes);
    }

    /// Alloc a block of order `k` and make its head frame a published frame of `purpose` with one
    /// handle; `None` when the buddy has no block (or, after a planted dealloc bug, the frame is in use).
    fn alloc_frame(
        &self,
        cpu: usize,
        k: u32,
        purpose: u8,
        zero: bool,
        write: bool,
        rng: &mut Rng,
    ) -> Option<Handle> {
        let f = match self.buddy.lock().unwrap().alloc(cpu, k) {
            Some(f) => f,
            None => {
                bump(&self.stats.alloc_failures);
                return None;
            }
        };
        bump(&self.stats.allocs);
        if !self.claim(cpu, f) {
            // the buddy handed out a frame in use: only after a planted bug corrupted it; the block is lost
            bump(&self.stats.claims_lost);
            return None;
        }
        let must_zero = zero || purpose == PURPOSE_PAGE_TABLE;
        // BUG (bug-publish-before-zero): a page table is published first and zeroed after
        let late = cfg!(feature = "bug-publish-before-zero") && purpose == PURPOSE_PAGE_TABLE;
        if must_zero && !late {
            self.zero(cpu, f);
        }
        self.slots[f].purpose.store(purpose, Release);
        record_set_purpose!(REC, cpu, f, purpose);
        self.publish(cpu, f, must_zero);
        if must_zero && late {
            self.zero(cpu, f);
        }
        if purpose == PURPOSE_PAGE_TABLE {
            bump(&self.stats.page_tables);
        }
        if write {
            self.write_payload(cpu, f, rng);
        }
        Some(Handle { frame: f, order: k })
    }

    /// A second handle: refcount fetch_add.
    fn clone_handle(&self, cpu: usize, h: Handle) -> Handle {
        let s = &self.slots[h.frame];
        let _log = s.log_lock();
        let old = s.ref_count.fetch_add(1, Relaxed);
        record_rc_add!(REC, cpu, h.frame, old);
        if old >= REFCOUNT_MAX {
            std::process::abort();
        }
        bump(&self.stats.clones);
        h
    }

    /// A claim attempt on a frame this thread holds a handle to: it must fail (the refcount is >= 1).
    fn probe(&self, cpu: usize, h: Handle) {
        let s = &self.slots[h.frame];
        let _log = s.log_lock();
        match s.ref_count.compare_exchange(UNUSED, 0, Acquire, Relaxed) {
            Ok(_) => panic!("claimed frame {} while holding a handle to it", h.frame),
            Err(seen) => {
                record_rc_cas!(REC, cpu, h.frame, seen, 0, false);
            }
        }
        bump(&self.stats.probes);
    }

    /// Drop a handle: fetch_sub (Release); the last one fences (Acquire), tears down and frees.
    fn drop_handle(&self, cpu: usize, h: Handle, scribble: bool, rng: &mut Rng) {
        let s = &self.slots[h.frame];
        let old = {
            let _log = s.log_lock();
            let old = s.ref_count.fetch_sub(1, Release);
            record_rc_sub!(REC, cpu, h.frame, old);
            old
        };
        bump(&self.stats.drops);
        if old != 1 {
            return;
        }
        fence(Acquire);
        bump(&self.stats.last_drops);
        if scribble {
            // on_last_ref: the last holder writes its teardown data
            self.write_payload(cpu, h.frame, rng);
        }
        {
            let _log = s.log_lock();
            s.ref_count.store(UNUSED, Release);
            record_rc_store!(REC, cpu, h.frame, UNUSED);
        }
        self.dealloc(cpu, h);
    }

    fn dealloc(&self, cpu: usize, h: Handle) {
        self.buddy.lock().unwrap().free(cpu, h.frame, h.order);
        #[cfg(feature = "bug-dealloc-overlap")]
        if !self.retried.swap(true, std::sync::atomic::Ordering::AcqRel) {
            // BUG: an error path retries the first dealloc of the run: the block, already merged back
            // into free memory, is freed a second time
            self.buddy.lock().unwrap().free(cpu, h.frame, h.order);
        }
    }

    fn random_order(&self, rng: &mut Rng) -> u32 {
        let top = self.max_order.min(2).min(self.slots.len().trailing_zeros());
        if top == 0 || rng.below(100) < 60 {
            0
        } else {
            1 + rng.below(top as u64) as u32
        }
    }

    fn random_purpose(rng: &mut Rng) -> u8 {
        match rng.below(100) {
            0..=24 => PURPOSE_PAGE_TABLE,
            25..=69 => PURPOSE_GENERAL,
            70..=84 => PURPOSE_DMA,
            _ => PURPOSE_NONE,
        }
    }

    /// Deterministic warm-up on one CPU, before the workers start: a general frame written and freed,
    /// then the same frame again as a page table.
    fn warm_up(&self, cpu: usize, rng: &mut Rng) {
        let first = self
            .alloc_frame(cpu, 0, PURPOSE_GENERAL, false, true, rng)
            .expect("the warm-up allocates");
        self.drop_handle(cpu, first, false, rng);
        let again = self
            .alloc_frame(cpu, 0, PURPOSE_PAGE_TABLE, true, true, rng)
            .expect("the warm-up allocates");
        assert_eq!(
            first.frame, again.frame,
            "the buddy hands out the lowest free block first"
        );
        self.drop_handle(cpu, again, true, rng);
    }

    /// One thread's run: `ops` random operations, then drop what it holds.
    fn worker(&self, cpu: usize, ops: u64, rng: &mut Rng, start: &Barrier) {
        const MAX_HELD: usize = 4;
        const MAX_SHARED: usize = 8;
        let mut mine: Vec<Handle> = Vec::new();
        start.wait();
        for _ in 0..ops {
            // the CPU's other work, outside every lock: lets the threads' steps interleave finely
            for _ in 0..rng.below(200) {
                std::hint::spin_loop();
            }
            if rng.below(4) == 0 {
                std::thread::yield_now();
            }
            let r = rng.below(100);
            if mine.is_empty() || (r < 30 && mine.len() < MAX_HELD) {
                let k = self.random_order(rng);
                let purpose = Self::random_purpose(rng);
                let zero = rng.below(100) < 30;
                let write = rng.below(100) < 80;
                if let Some(h) = self.alloc_frame(cpu, k, purpose, zero, write, rng) {
                    mine.push(h);
                } else if let Some(h) = self.exchange.lock().unwrap().pop() {
                    // out of memory: take a shared handle instead, so that shared frames get dropped
                    mine.push(h);
                }
                continue;
            }
            let i = rng.below(mine.len() as u64) as usize;
            match r {
                0..=44 => self.write_payload(cpu, mine[i].frame, rng),
                45..=54 => {
                    let mut shared = self.exchange.lock().unwrap();
                    if shared.len() < MAX_SHARED {
                        shared.push(self.clone_handle(cpu, mine[i]));
                    }
                }
                55..=64 => {
                    if mine.len() < MAX_HELD {
                        if let Some(h) = self.exchange.lock().unwrap().pop() {
                            mine.push(h);
                        }
                    }
                }
                65..=69 => self.probe(cpu, mine[i]),
                _ => {
                    let h = mine.swap_remove(i);
                    let scribble = rng.below(2) == 0;
                    self.drop_handle(cpu, h, scribble, rng);
                }
            }
        }
        for h in mine {
            self.drop_handle(cpu, h, false, rng);
        }
    }

    /// Every frame is back: refcounts UNUSED, the buddy fully merged.
    fn all_free(&self) -> bool {
        self.slots
            .iter()
            .all(|s| s.ref_count.load(Acquire) == UNUSED)
            && self.buddy.lock().unwrap().fully_free()
    }
}

// ---- the command line ----------------------------------------------------------------------------

struct Args {
    threads: usize,
    ops: u64,
    frames: usize,
    max_order: u32,
    seed: u64,
    out: PathBuf,
}

const USAGE: &str =
    "usage: framemc-recorder-example [--threads N] [--ops N] [--frames N] [--max-order K] \
[--seed S] [--out DIR]
  --threads N    worker threads, one CPU each (1..16, default 4)
  --ops N        random operations per thread (default 1000)
  --frames N     frames in the machine, a power of two (default 64)
  --max-order K  the buddy's MAX_ORDER (default 6)
  --seed S       seed of the threads' random choices (default 1)
  --out DIR      directory for the logs DIR/cpu<i>.jsonl (default framemc-logs)";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        threads: 4,
        ops: 1000,
        frames: 64,
        max_order: 6,
        seed: 1,
        out: PathBuf::from("framemc-logs"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a whole number"))
        };
        match flag.as_str() {
            "--threads" => a.threads = num(&value)? as usize,
            "--ops" => a.ops = num(&value)?,
            "--frames" => a.frames = num(&value)? as usize,
            "--max-order" => a.max_order = num(&value)? as u32,
            "--seed" => a.seed = num(&value)?,
            "--out" => a.out = PathBuf::from(value),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if !(1..=MAX_CPUS).contains(&a.threads) {
        return Err(format!("--threads must be 1..{MAX_CPUS}"));
    }
    if !a.frames.is_power_of_two() || a.frames > 1 << 24 {
        return Err("--frames must be a power of two, at most 2**24".into());
    }
    if a.max_order > 40 {
        return Err("--max-order must be at most 40".into());
    }
    Ok(a)
}

fn run(a: &Args) -> Result<ExitCode, String> {
    assert_eq!(
        page_digest(&[0; PAYLOAD_WORDS]),
        ZERO_DIGEST,
        "crc32 of a zero page"
    );
    fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let mut writers = Vec::new();
    for cpu in 0..a.threads {
        let path = a.out.join(format!("cpu{cpu}.jsonl"));
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let w = JsonlWriter::new(
            BufWriter::new(file),
            a.frames as u64,
            a.threads as u64,
            a.max_order as u64,
            false, // no per-CPU caches: one locked buddy
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        writers.push(w);
    }
    let m = Machine::new(a.frames, a.max_order);
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let (writers, io_result) = std::thread::scope(|s| {
        // the consumer: drains every CPU's ring into its log while the workers run
        let drainer = s.spawn(|| {
            let mut writers = writers;
            let result = (|| -> std::io::Result<()> {
                loop {
                    let finished = done.load(Acquire);
                    for (cpu, w) in writers.iter_mut().enumerate() {
                        w.write_drained(&REC, cpu)?;
                    }
                    if finished {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            })();
            (writers, result)
        });
        let mut rng = Rng::new(a.seed);
        m.buddy.lock().unwrap().boot(0);
        m.warm_up(0, &mut rng);
        let start = Barrier::new(a.threads);
        std::thread::scope(|w| {
            for cpu in 0..a.threads {
                let (m, start) = (&m, &start);
                let mut rng = Rng::new(
                    a.seed
                        .wrapping_mul(0x1_0000_0001)
                        .wrapping_add(cpu as u64 + 1),
                );
                w.spawn(move || m.worker(cpu, a.ops, &mut rng, start));
            }
        });
        // shared handles nobody took: dropped by CPU 0 (its thread has ended)
        let left: Vec<Handle> = std::mem::take(&mut *m.exchange.lock().unwrap());
        for h in left {
            m.drop_handle(0, h, false, &mut rng);
        }
        done.store(true, Release);
        drainer.join().expect("the drainer thread")
    });
    let elapsed = start.elapsed();
    io_result.map_err(|e| format!("writing the logs: {e}"))?;
    let mut events = 0;
    let mut dropped_total = 0;
    for (cpu, w) in writers.into_iter().enumerate() {
        events += w.records();
        let mut dropped = REC.dropped(cpu);
        if cpu == 0 {
            dropped += REC.misrouted();
        }
        dropped_total += dropped;
        if let Err(e) = w.finish(dropped) {
            eprintln!(
                "framemc-recorder-example: cpu{cpu}.jsonl: {e} (range {:?})",
                REC.ring(cpu).and_then(|r| r.dropped_range())
            );
        }
    }
    let st = &m.stats;
    let bugs: Vec<String> = BUGS
        .iter()
        .filter(|b| b.1)
        .map(|b| format!("\"{}\"", b.0))
        .collect();
    let summary = format!(
        "{{\"threads\": {}, \"ops_per_thread\": {}, \"frames\": {}, \"max_order\": {}, \"seed\": {}, \"events\": {}, \
         \"dropped\": {}, \"seconds\": {:.3}, \"allocs\": {}, \"alloc_failures\": {}, \"claims_lost\": {}, \
         \"page_tables\": {}, \"zeroes\": {}, \"payload_writes\": {}, \"clones\": {}, \"drops\": {}, \
         \"last_drops\": {}, \"probes\": {}, \"bugs\": [{}]}}",
        a.threads, a.ops, a.frames, a.max_order, a.seed, events, dropped_total, elapsed.as_secs_f64(),
        st.allocs.load(Relaxed), st.alloc_failures.load(Relaxed), st.claims_lost.load(Relaxed),
        st.page_tables.load(Relaxed), st.zeroes.load(Relaxed), st.payload_writes.load(Relaxed),
        st.clones.load(Relaxed), st.drops.load(Relaxed), st.last_drops.load(Relaxed), st.probes.load(Relaxed),
        bugs.join(", ")
    );
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{summary}");
    if dropped_total > 0 {
        eprintln!(
            "framemc-recorder-example: {dropped_total} records dropped: the logs are incomplete"
        );
        return Ok(ExitCode::from(3));
    }
    if bugs.is_empty() && !m.all_free() {
        eprintln!("framemc-recorder-example: at the end some frame is not free again (a bug of the example)");
        return Ok(ExitCode::from(4));
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("framemc-recorder-example: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("framemc-recorder-example: {e}");
            ExitCode::from(2)
        }
    }
}
