//! Writing records as a log of the JSON Lines format v1 (`docs/validate.md`), over `std::io::Write`.
//!
//! ```
//! use framemc_recorder::{jsonl::JsonlWriter, record_zero, Recorder};
//! static REC: Recorder<1, 16> = Recorder::new();
//! record_zero!(REC, 0, 3);
//! let mut w = JsonlWriter::new(Vec::new(), 8, 1, 3, true).unwrap();
//! w.write_drained(&REC, 0).unwrap();
//! let text = String::from_utf8(w.finish(REC.total_dropped()).unwrap()).unwrap();
//! assert!(text.starts_with("{\"framemc_log\": 1, \"nframes\": 8, \"ncpus\": 1, \"max_order\": 3}\n"));
//! assert!(text.contains("\"ev\": \"zero\", \"frame\": 3}"));
//! ```

use std::io::{self, Write};
use std::string::String;

use crate::{write_header, Record, Recorder};

/// A log being written: the header first, then records in increasing `seq` order.
pub struct JsonlWriter<W: Write> {
    out: W,
    last_seq: Option<u64>,
    records: u64,
    line: String,
}

impl<W: Write> JsonlWriter<W> {
    /// Start a log on `out` with its header line; `caches`: the allocator has per-CPU frame caches.
    pub fn new(mut out: W, nframes: u64, ncpus: u64, max_order: u64, caches: bool) -> io::Result<Self> {
        let mut line = String::new();
        write_header(&mut line, nframes, ncpus, max_order, caches)
            .map_err(|e| io::Error::new(io::ErrorKind::Other, e))?;
        line.push('\n');
        out.write_all(line.as_bytes())?;
        Ok(JsonlWriter {
            out,
            last_seq: None,
            records: 0,
            line,
        })
    }

    /// Append one record. A record whose `seq` does not follow the previous one is refused
    /// (`InvalidInput`): the format wants each file in `seq` order.
    pub fn write(&mut self, rec: &Record) -> io::Result<()> {
        if let Some(last) = self.last_seq {
            if rec.seq <= last {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    std::format!(
                        "seq {} does not follow {last}: a log file must be in seq order",
                        rec.seq
                    ),
                ));
            }
        }
        self.last_seq = Some(rec.seq);
        self.records += 1;
        self.line.clear();
        std::fmt::write(&mut self.line, format_args!("{rec}\n"))
            .map_err(|e| io::Error::new(io::ErrorKind::Other, e))?;
        self.out.write_all(self.line.as_bytes())
    }

    /// Drain the ring of `cpu` into the log; the number of records written. A drain already in progress
    /// elsewhere writes nothing.
    pub fn write_drained<const CPUS: usize, const CAP: usize>(
        &mut self,
        rec: &Recorder<CPUS, CAP>,
        cpu: usize,
    ) -> io::Result<u64> {
        let mut n = 0;
        if let Some(drain) = rec.drain(cpu) {
            for r in drain {
                self.write(&r)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// End the log and hand back the output, flushed. `dropped` is the number of records the run lost
    /// (e.g. [`Recorder::total_dropped`]); when it is not 0 the log is incomplete: a last line
    /// `{"framemc_dropped": N}` says so (an object `framemc validate` refuses as bad input, exit 2, if it
    /// reaches it) and the result is an `InvalidData` error.
    pub fn finish(mut self, dropped: u64) -> io::Result<W> {
        if dropped > 0 {
            writeln!(self.out, "{{\"framemc_dropped\": {dropped}}}")?;
            self.out.flush()?;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                std::format!("{dropped} records were dropped: the log is incomplete"),
            ));
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, UNUSED};
    use std::vec::Vec;

    #[test]
    fn a_log_is_a_header_then_records_in_seq_order() {
        let mut w = JsonlWriter::new(Vec::new(), 8, 2, 3, true).unwrap();
        w.write(&Record {
            seq: 3,
            cpu: 1,
            kind: EventKind::RcCas,
            args: [0, UNUSED, 0, 1],
        })
        .unwrap();
        w.write(&Record {
            seq: 4,
            cpu: 1,
            kind: EventKind::GenBump,
            args: [0, 1, 0, 0],
        })
        .unwrap();
        let err = w
            .write(&Record {
                seq: 4,
                cpu: 1,
                kind: EventKind::Zero,
                args: [0; 4],
            })
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let text = String::from_utf8(w.finish(0).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            "{\"framemc_log\": 1, \"nframes\": 8, \"ncpus\": 2, \"max_order\": 3}"
        );
        assert_eq!(
            lines[2],
            "{\"seq\": 4, \"cpu\": 1, \"ev\": \"gen_bump\", \"frame\": 0, \"new\": 1}"
        );
    }

    #[test]
    fn an_incomplete_log_says_so() {
        let w = JsonlWriter::new(Vec::new(), 8, 2, 3, true).unwrap();
        let err = w.finish(5).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
