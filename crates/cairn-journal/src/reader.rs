//! Sequential readers of the journal: each keeps its own position and reads only committed records, verifying
//! every record's CRC and sequence.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::writer::{check_record, read_full};
use crate::{io, Error, Result, Shared, HEADER_LEN, RECORD_HEADER_LEN};

/// A record read back from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub payload: Bytes,
}

#[derive(Debug)]
struct Open {
    base: u64,
    path: PathBuf,
    file: BufReader<File>,
    offset: u64,
}

/// A reader positioned at a sequence.
#[derive(Debug)]
pub struct Reader {
    shared: Arc<Shared>,
    seq: u64,
    open: Option<Open>,
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>, from: u64) -> Result<Reader> {
        Ok(Reader { shared, seq: from, open: None })
    }

    /// The sequence of the next record this reader returns.
    pub fn position(&self) -> u64 {
        self.seq
    }

    /// Waits until a record at the reader's position is committed.
    pub async fn wait(&self) {
        let mut rx = self.shared.committed.subscribe();
        let _ = rx.wait_for(|c| *c > self.seq).await;
    }

    /// Reads up to `max_records` committed records (fewer once `max_bytes` of payload is reached); empty when the
    /// reader is at the end.
    pub fn next_batch(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<Record>> {
        let committed = *self.shared.committed.borrow();
        let mut out = Vec::new();
        let mut bytes = 0;
        while self.seq < committed && out.len() < max_records && bytes < max_bytes {
            match self.read_one() {
                Ok(r) => {
                    bytes += r.payload.len();
                    out.push(r);
                }
                Err(e) => {
                    // Start over from the position on the next call, and keep what was read.
                    self.open = None;
                    return if out.is_empty() { Err(e) } else { Ok(out) };
                }
            }
        }
        Ok(out)
    }

    fn locate(&self) -> Result<u64> {
        let segments = self.shared.segments.read().unwrap_or_else(|e| e.into_inner());
        let first = segments.first().copied().unwrap_or(0);
        match segments.iter().rev().find(|b| **b <= self.seq) {
            Some(b) if self.seq >= first => Ok(*b),
            _ => Err(Error::Truncated { seq: self.seq, first }),
        }
    }

    fn open_segment(&mut self, base: u64) -> Result<()> {
        let path = self.shared.segment_path(base);
        let mut file = File::open(&path).map_err(|e| match e.kind() {
            // Deleted under us: the position has fallen below the oldest kept segment.
            std::io::ErrorKind::NotFound => Error::Truncated { seq: self.seq, first: base },
            _ => Error::Io { path: path.clone(), source: e },
        })?;
        file.seek(SeekFrom::Start(HEADER_LEN)).map_err(io(&path))?;
        self.open = Some(Open { base, path, file: BufReader::with_capacity(256 << 10, file), offset: HEADER_LEN });
        Ok(())
    }

    fn read_one(&mut self) -> Result<Record> {
        loop {
            if self.open.is_none() {
                let base = self.locate()?;
                self.open_segment(base)?;
                // Skip forward to the position within the segment.
                let open = self.open.as_mut().expect("just opened");
                let mut seq = base;
                while seq < self.seq {
                    let mut header = [0u8; RECORD_HEADER_LEN];
                    if read_full(&mut open.file, &mut header).map_err(io(&open.path))? < RECORD_HEADER_LEN {
                        return Err(corrupt(open, "segment ends before the requested record"));
                    }
                    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as i64;
                    open.file.seek_relative(len).map_err(io(&open.path))?;
                    open.offset += RECORD_HEADER_LEN as u64 + len as u64;
                    seq += 1;
                }
            }
            let open = self.open.as_mut().expect("a segment is open");
            let mut header = [0u8; RECORD_HEADER_LEN];
            let n = read_full(&mut open.file, &mut header).map_err(io(&open.path))?;
            if n == 0 {
                // End of this segment: the record must start the next one.
                let next = {
                    let segments = self.shared.segments.read().unwrap_or_else(|e| e.into_inner());
                    segments.iter().find(|b| **b > open.base).copied()
                };
                match next {
                    Some(b) if b == self.seq => {
                        self.open_segment(b)?;
                        continue;
                    }
                    _ => return Err(corrupt(open, "committed record missing at the end of a segment")),
                }
            }
            if n < RECORD_HEADER_LEN {
                return Err(corrupt(open, "short record header"));
            }
            let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
            if len > crate::ON_DISK_RECORD_CAP {
                return Err(corrupt(open, "record length over the limit"));
            }
            let mut payload = vec![0u8; len as usize];
            if read_full(&mut open.file, &mut payload).map_err(io(&open.path))? < payload.len() {
                return Err(corrupt(open, "short record payload"));
            }
            if let Some(why) = check_record(&header, &payload, self.seq) {
                return Err(corrupt(open, &why));
            }
            open.offset += (RECORD_HEADER_LEN + payload.len()) as u64;
            let record = Record { seq: self.seq, payload: Bytes::from(payload) };
            self.seq += 1;
            return Ok(record);
        }
    }
}

impl crate::Cursor for Reader {
    fn position(&self) -> u64 {
        Reader::position(self)
    }

    fn next_batch(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<Record>> {
        Reader::next_batch(self, max_records, max_bytes)
    }
}

fn corrupt(open: &Open, why: &str) -> Error {
    Error::Corrupt { path: open.path.clone(), offset: open.offset, why: why.to_string() }
}
