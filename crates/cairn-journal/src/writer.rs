//! The journal's single writer: recovery at open, then group commit (many appends, one write, one fsync) and
//! segment rolling.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::{
    io, segment_path, Error, Options, Request, Result, Shared, HEADER_LEN, MAX_BATCH_BYTES, ON_DISK_RECORD_CAP,
    RECORD_HEADER_LEN, SEGMENT_MAGIC,
};

/// What the writer owns: the active segment and the next sequence.
#[derive(Debug)]
pub(crate) struct WriterState {
    pub(crate) next_seq: u64,
    active: File,
    active_base: u64,
    active_len: u64,
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn create_segment(dir: &Path, base: u64) -> Result<File> {
    let path = segment_path(dir, base);
    let mut f = OpenOptions::new().create_new(true).read(true).append(true).open(&path).map_err(io(&path))?;
    let mut header = [0u8; HEADER_LEN as usize];
    header[..8].copy_from_slice(SEGMENT_MAGIC);
    header[8..].copy_from_slice(&base.to_le_bytes());
    f.write_all(&header).map_err(io(&path))?;
    f.sync_all().map_err(io(&path))?;
    sync_dir(&dir.join("segments"))?;
    Ok(f)
}

/// Encodes one record (header and payload) onto `buf`.
pub(crate) fn encode(buf: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let seq_bytes = seq.to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&seq_bytes), payload);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc.to_le_bytes());
    buf.extend_from_slice(&seq_bytes);
    buf.extend_from_slice(payload);
}

/// Checks a record header and payload read at `seq`; returns the reason it is not valid.
pub(crate) fn check_record(header: &[u8; RECORD_HEADER_LEN], payload: &[u8], seq: u64) -> Option<String> {
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let got_seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    if got_seq != seq {
        return Some(format!("record carries sequence {got_seq}, expected {seq}"));
    }
    if crc32c::crc32c_append(crc32c::crc32c(&header[8..16]), payload) != crc {
        return Some(format!("record {seq} fails its CRC"));
    }
    None
}

/// Opens the segments, truncates a torn tail of the last one, and returns the writer's state and the segment list.
pub(crate) fn recover(dir: &Path) -> Result<(WriterState, Vec<u64>)> {
    let seg_dir = dir.join("segments");
    let fresh = !seg_dir.exists();
    std::fs::create_dir_all(&seg_dir).map_err(io(&seg_dir))?;
    std::fs::create_dir_all(dir.join("checkpoints")).map_err(io(dir))?;
    if fresh {
        // New directories are durable only once their parents are synced.
        sync_dir(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    let mut bases: Vec<u64> = Vec::new();
    for entry in std::fs::read_dir(&seg_dir).map_err(io(&seg_dir))? {
        let name = entry.map_err(io(&seg_dir))?.file_name();
        let name = name.to_string_lossy();
        if let Some(base) = name.strip_suffix(".log").and_then(|b| b.parse::<u64>().ok()) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    // A last segment whose header never became durable holds nothing acknowledged (records are appended only
    // after the header is fsynced): remove it.
    while let Some(&last) = bases.last() {
        let path = segment_path(dir, last);
        let len = std::fs::metadata(&path).map_err(io(&path))?.len();
        let torn = len < HEADER_LEN || (len == HEADER_LEN && !header_matches(&path, last)?);
        if !torn {
            break;
        }
        tracing::warn!(path = %path.display(), "removing a segment with a torn header");
        std::fs::remove_file(&path).map_err(io(&path))?;
        sync_dir(&seg_dir)?;
        bases.pop();
    }
    let Some(&base) = bases.last() else {
        let active = create_segment(dir, 0)?;
        return Ok((WriterState { next_seq: 0, active, active_base: 0, active_len: HEADER_LEN }, vec![0]));
    };
    let path = segment_path(dir, base);
    let mut file = OpenOptions::new().read(true).append(true).open(&path).map_err(io(&path))?;
    let mut header = [0u8; HEADER_LEN as usize];
    file.read_exact(&mut header).map_err(io(&path))?;
    if &header[..8] != SEGMENT_MAGIC || u64::from_le_bytes(header[8..].try_into().expect("8 bytes")) != base {
        return Err(Error::Corrupt { path, offset: 0, why: "segment header does not match its name".into() });
    }
    let (valid_end, next_seq) = scan_valid(&mut file, base, ON_DISK_RECORD_CAP, &path)?;
    let len = file.metadata().map_err(io(&path))?.len();
    if valid_end < len {
        preserve_tail(&mut file, &path, valid_end)?;
        tracing::warn!(path = %path.display(), kept = valid_end, dropped = len - valid_end, "truncating a torn journal tail");
        file.set_len(valid_end).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
    }
    Ok((WriterState { next_seq, active: file, active_base: base, active_len: valid_end }, bases))
}

fn header_matches(path: &Path, base: u64) -> Result<bool> {
    let mut header = [0u8; HEADER_LEN as usize];
    File::open(path).and_then(|mut f| f.read_exact(&mut header)).map_err(io(path))?;
    Ok(&header[..8] == SEGMENT_MAGIC && u64::from_le_bytes(header[8..].try_into().expect("8 bytes")) == base)
}

/// Copies the bytes from `from` to the end of the segment to `<segment>.torn-<from>` (fsynced) before they are cut.
fn preserve_tail(file: &mut File, path: &Path, from: u64) -> Result<()> {
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(from)).map_err(io(path))?;
    file.read_to_end(&mut tail).map_err(io(path))?;
    let keep = path.with_extension(format!("log.torn-{from}"));
    let mut f = File::create(&keep).map_err(io(&keep))?;
    f.write_all(&tail).and_then(|_| f.sync_all()).map_err(io(&keep))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Scans records from the header on; returns the end of the last valid record and the next sequence.
fn scan_valid(file: &mut File, base: u64, max_record: u32, path: &Path) -> Result<(u64, u64)> {
    let file_len = file.metadata().map_err(io(path))?.len();
    file.seek(SeekFrom::Start(HEADER_LEN)).map_err(io(path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let (mut offset, mut seq) = (HEADER_LEN, base);
    let mut header = [0u8; RECORD_HEADER_LEN];
    let mut payload = Vec::new();
    loop {
        if read_full(&mut reader, &mut header).map_err(io(path))? < RECORD_HEADER_LEN {
            break;
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        // A length running past the end of the file is a torn write: stop before allocating for it.
        let end = offset + (RECORD_HEADER_LEN as u64) + u64::from(len);
        if len > max_record || end > file_len {
            break;
        }
        payload.resize(len as usize, 0);
        if read_full(&mut reader, &mut payload).map_err(io(path))? < len as usize {
            break;
        }
        if check_record(&header, &payload, seq).is_some() {
            break;
        }
        offset = end;
        seq += 1;
    }
    Ok((offset, seq))
}

/// Reads until `buf` is full or the file ends; returns how much was read.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The writer thread: group commit until every handle is dropped.
pub(crate) fn run(shared: Arc<Shared>, mut state: WriterState, options: Options, mut rx: mpsc::Receiver<Request>) {
    let mut buf = Vec::with_capacity(1 << 20);
    let mut batch: Vec<Request> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut bytes: usize = first.records.iter().map(|r| r.len()).sum();
        batch.push(first);
        while bytes < MAX_BATCH_BYTES {
            let Ok(more) = rx.try_recv() else { break };
            bytes += more.records.iter().map(|r| r.len()).sum::<usize>();
            batch.push(more);
        }
        let result = commit(&shared, &mut state, &options, &mut buf, &batch);
        match result {
            Ok(ranges) => {
                shared.committed.send_replace(state.next_seq);
                for (req, range) in batch.drain(..).zip(ranges) {
                    let _ = req.done.send(Ok(range));
                }
            }
            Err(e) => {
                let why = e.to_string();
                tracing::error!(error = %why, "journal write failed; refusing further appends");
                *shared.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
                for req in batch.drain(..) {
                    let _ = req.done.send(Err(Error::Failed(why.clone())));
                }
                // Drain and refuse everything else: nothing more may be written after a failed fsync.
                while let Some(req) = rx.blocking_recv() {
                    let _ = req.done.send(Err(Error::Failed(why.clone())));
                }
                return;
            }
        }
    }
}

fn commit(
    shared: &Shared,
    state: &mut WriterState,
    options: &Options,
    buf: &mut Vec<u8>,
    batch: &[Request],
) -> Result<Vec<std::ops::Range<u64>>> {
    if state.active_len >= options.segment_bytes {
        let base = state.next_seq;
        state.active = create_segment(&shared.dir, base)?;
        state.active_base = base;
        state.active_len = HEADER_LEN;
        shared.segments.write().unwrap_or_else(|e| e.into_inner()).push(base);
    }
    buf.clear();
    let mut ranges = Vec::with_capacity(batch.len());
    let mut seq = state.next_seq;
    for req in batch {
        let start = seq;
        for r in &req.records {
            encode(buf, seq, r);
            seq += 1;
        }
        ranges.push(start..seq);
    }
    let path = shared.segment_path(state.active_base);
    if let Err(e) = state.active.write_all(buf).and_then(|_| state.active.sync_data()) {
        // Nothing of this batch is acknowledged: take back whatever reached the file, as far as the disk lets us.
        let _ = state.active.set_len(state.active_len).and_then(|_| state.active.sync_all());
        return Err(Error::Io { path, source: e });
    }
    state.active_len += buf.len() as u64;
    state.next_seq = seq;
    Ok(ranges)
}
