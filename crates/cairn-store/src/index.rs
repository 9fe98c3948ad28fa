//! The lookup index beside each history Parquet file (`<lo>-<hi>.idx`): where each (account, region, category)
//! partition's rows are, every row's (eventTime, sequence) key, and a hash table from lookup attribute value to the
//! rows holding it, so a LookupEvents page reads a few small ranges of this file and only the Parquet pages of the
//! events it returns.
//!
//! ```text
//! file     = meta crc:u32 keys slots postings                        all integers little-endian
//! meta     = "CAIRNHX1" version:u32 rows:u32 nparts:u32 nslots:u32 bloom_words:u32 nreplaced:u32
//!            npostings:u64 raw_bytes:u64 replaced* partition* bloom
//! replaced = lo:u64 hi:u64                    journal ranges of the files this one replaces (compaction)
//! partition= account:str region:str category:u8 start:u32 end:u32        str = len:u16 bytes
//! bloom    = u64 * bloom_words                 eventID keys, 7 probes, for deduplication without reading slots
//! crc      = CRC32C(meta)
//! keys     = (time_ms:i64 seq:u64) * rows      rows ordered by partition, then (time, seq) descending
//! slots    = (hash:u64 start:u32 len:u32) * nslots    open addressing, linear probing; hash 0 marks an empty slot
//! postings = row:u32 * npostings              each slot's rows ascending (newest first)
//! ```
//!
//! The meta part is read and checked at open and kept in memory; the rest is read with positioned reads per lookup.
//! A slot's hash covers (account, region, category, attribute, value), so a hit names rows of one partition; the
//! rare 64-bit collision is harmless because every probe collects all slots with the hash and the caller checks
//! the fetched events.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::extract::LookupKey;
use crate::{Category, Error, Result};

const MAGIC: &[u8; 8] = b"CAIRNHX1";
const VERSION: u32 = 1;
const FIXED: usize = 8 + 4 * 6 + 8 + 8;
pub(crate) const KEY_BYTES: u64 = 16;
const SLOT_BYTES: u64 = 16;
const BLOOM_PROBES: u32 = 7;

/// FNV-1a with a final avalanche: stable across builds and platforms, which the on-disk table needs.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The table key of one attribute value in one partition; never 0.
pub(crate) fn key_hash(account: &str, region: &str, category: Category, attr: LookupKey, value: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let cat = [category.code(), attr as u8];
    for part in [account.as_bytes(), region.as_bytes(), &cat, value.as_bytes()] {
        for &b in part.iter().chain([0xffu8].iter()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    mix(h).max(1)
}

/// The hash of one attribute value within a partition (the in-memory tail's index key).
pub(crate) fn value_hash(attr: LookupKey, value: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ attr as u64;
    for &b in value.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// One partition's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartRange {
    pub account: String,
    pub region: String,
    pub category: Category,
    pub start: u32,
    pub end: u32,
}

/// Everything an index holds, as built in memory before writing.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub parts: Vec<PartRange>,
    pub keys: Vec<(i64, u64)>,
    entries: Vec<(u64, u32)>,
    event_ids: Vec<u64>,
    pub raw_bytes: u64,
}

impl Builder {
    /// Adds the next row (rows arrive in file order) with the hashes of its attribute values.
    pub fn push(&mut self, part: (&str, &str, Category), time_ms: i64, seq: u64, hashes: &[u64], event_id: u64) {
        let row = self.keys.len() as u32;
        match self.parts.last_mut() {
            Some(p) if p.account == part.0 && p.region == part.1 && p.category == part.2 => p.end = row + 1,
            _ => self.parts.push(PartRange {
                account: part.0.to_string(),
                region: part.1.to_string(),
                category: part.2,
                start: row,
                end: row + 1,
            }),
        }
        self.keys.push((time_ms, seq));
        self.entries.extend(hashes.iter().map(|&h| (h, row)));
        self.event_ids.push(event_id);
    }

    /// Writes the index to `path` (not synced; the caller syncs before publishing it).
    pub fn write(mut self, path: &Path, replaced: &[(u64, u64)]) -> Result<()> {
        self.entries.sort_unstable();
        self.entries.dedup();
        let mut distinct = 0usize;
        for (i, e) in self.entries.iter().enumerate() {
            if i == 0 || self.entries[i - 1].0 != e.0 {
                distinct += 1;
            }
        }
        let nslots = (distinct * 2).next_power_of_two().max(16);
        let mut slots = vec![(0u64, 0u32, 0u32); nslots];
        let mut i = 0;
        while i < self.entries.len() {
            let h = self.entries[i].0;
            let j = self.entries[i..].iter().position(|e| e.0 != h).map_or(self.entries.len(), |n| i + n);
            let mut s = (h as usize) & (nslots - 1);
            while slots[s].0 != 0 {
                s = (s + 1) & (nslots - 1);
            }
            slots[s] = (h, i as u32, (j - i) as u32);
            i = j;
        }
        let bloom_words = (self.event_ids.len() * 10).div_ceil(64).next_power_of_two().max(1);
        let mut bloom = vec![0u64; bloom_words];
        for &id in &self.event_ids {
            for bit in bloom_bits(id, bloom_words) {
                bloom[bit / 64] |= 1 << (bit % 64);
            }
        }

        let mut meta = Vec::with_capacity(FIXED + 64 * self.parts.len() + 8 * bloom_words);
        meta.extend_from_slice(MAGIC);
        for v in [VERSION, self.keys.len() as u32, self.parts.len() as u32, nslots as u32, bloom_words as u32] {
            meta.extend_from_slice(&v.to_le_bytes());
        }
        meta.extend_from_slice(&(replaced.len() as u32).to_le_bytes());
        meta.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        meta.extend_from_slice(&self.raw_bytes.to_le_bytes());
        for (lo, hi) in replaced {
            meta.extend_from_slice(&lo.to_le_bytes());
            meta.extend_from_slice(&hi.to_le_bytes());
        }
        for p in &self.parts {
            for s in [&p.account, &p.region] {
                meta.extend_from_slice(&(s.len() as u16).to_le_bytes());
                meta.extend_from_slice(s.as_bytes());
            }
            meta.push(p.category.code());
            meta.extend_from_slice(&p.start.to_le_bytes());
            meta.extend_from_slice(&p.end.to_le_bytes());
        }
        for w in &bloom {
            meta.extend_from_slice(&w.to_le_bytes());
        }
        let crc = crc32c::crc32c(&meta);
        let mut out = meta;
        out.extend_from_slice(&crc.to_le_bytes());
        out.reserve(self.keys.len() * 16 + nslots * 16 + self.entries.len() * 4);
        for (t, s) in &self.keys {
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&s.to_le_bytes());
        }
        for (h, start, len) in &slots {
            out.extend_from_slice(&h.to_le_bytes());
            out.extend_from_slice(&start.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        for (_, row) in &self.entries {
            out.extend_from_slice(&row.to_le_bytes());
        }
        std::fs::write(path, out).map_err(crate::io(path))
    }
}

fn bloom_bits(h: u64, words: usize) -> impl Iterator<Item = usize> {
    let bits = (words * 64) as u64;
    let (a, b) = (h, mix(h ^ 0x9e37_79b9_7f4a_7c15) | 1);
    (0..BLOOM_PROBES).map(move |i| (a.wrapping_add(b.wrapping_mul(u64::from(i))) % bits) as usize)
}

/// An open index: its meta part in memory, the rest read on demand.
#[derive(Debug)]
pub(crate) struct Index {
    file: File,
    pub rows: u32,
    pub parts: Vec<PartRange>,
    pub replaced: Vec<(u64, u64)>,
    pub raw_bytes: u64,
    nslots: u64,
    npostings: u64,
    bloom: Vec<u64>,
    keys_at: u64,
    slots_at: u64,
    postings_at: u64,
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

impl Index {
    pub fn open(path: &Path) -> Result<Index> {
        let corrupt = |reason: &str| Error::Corrupt { path: path.to_path_buf(), reason: reason.to_string() };
        let file = File::open(path).map_err(crate::io(path))?;
        let size = file.metadata().map_err(crate::io(path))?.len();
        let mut fixed = [0u8; FIXED];
        file.read_exact_at(&mut fixed, 0).map_err(|_| corrupt("shorter than its header"))?;
        let mut c = Cursor { buf: &fixed, at: 0 };
        if c.take(8) != Some(MAGIC) || c.u32() != Some(VERSION) {
            return Err(corrupt("not a cairn history index"));
        }
        let h = (|| Some((c.u32()?, c.u32()?, c.u32()?, c.u32()?, c.u32()?, c.u64()?, c.u64()?)))();
        let (rows, nparts, nslots, bloom_words, nreplaced, npostings, raw_bytes) =
            h.ok_or_else(|| corrupt("header"))?;
        // Bound the variable part by the file size before allocating for it.
        let tail = npostings
            .checked_mul(4)
            .and_then(|p| p.checked_add(u64::from(rows) * KEY_BYTES + u64::from(nslots) * SLOT_BYTES + 4))
            .ok_or_else(|| corrupt("impossible table sizes"))?;
        let meta_len = size.checked_sub(tail).ok_or_else(|| corrupt("shorter than its tables"))?;
        if meta_len < FIXED as u64 || meta_len > (64 << 20) {
            return Err(corrupt("impossible size"));
        }
        let mut meta = vec![0u8; meta_len as usize + 4];
        file.read_exact_at(&mut meta, 0).map_err(crate::io(path))?;
        let crc = u32::from_le_bytes(meta[meta_len as usize..].try_into().expect("4 bytes"));
        meta.truncate(meta_len as usize);
        if crc32c::crc32c(&meta) != crc {
            return Err(corrupt("checksum mismatch"));
        }
        let mut c = Cursor { buf: &meta, at: FIXED };
        let parsed = (|| {
            let mut replaced = Vec::new();
            for _ in 0..nreplaced {
                replaced.push((c.u64()?, c.u64()?));
            }
            let mut parts = Vec::new();
            for _ in 0..nparts {
                let (account, region) = (c.str()?, c.str()?);
                let category = Category::from_code(c.take(1)?[0])?;
                let (start, end) = (c.u32()?, c.u32()?);
                (start < end && end <= rows).then_some(())?;
                parts.push(PartRange { account, region, category, start, end });
            }
            let mut bloom = Vec::with_capacity(bloom_words as usize);
            for _ in 0..bloom_words {
                bloom.push(c.u64()?);
            }
            (c.at == meta.len() && nslots.is_power_of_two() && bloom_words.is_power_of_two()).then_some(())?;
            Some((replaced, parts, bloom))
        })();
        let (replaced, parts, bloom) = parsed.ok_or_else(|| corrupt("meta"))?;
        let keys_at = meta_len + 4;
        let slots_at = keys_at + u64::from(rows) * KEY_BYTES;
        let postings_at = slots_at + u64::from(nslots) * SLOT_BYTES;
        Ok(Index {
            file,
            rows,
            parts,
            replaced,
            raw_bytes,
            nslots: u64::from(nslots),
            npostings,
            bloom,
            keys_at,
            slots_at,
            postings_at,
        })
    }

    /// Whether the file may hold an event with this eventID key (no false negatives).
    pub fn may_hold_event_id(&self, hash: u64) -> bool {
        bloom_bits(hash, self.bloom.len()).all(|bit| self.bloom[bit / 64] & (1 << (bit % 64)) != 0)
    }

    /// The (eventTime, sequence) key of `row`.
    pub fn key(&self, row: u32) -> std::io::Result<(i64, u64)> {
        let mut b = [0u8; 16];
        self.file.read_exact_at(&mut b, self.keys_at + u64::from(row) * KEY_BYTES)?;
        Ok((
            i64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(b[8..].try_into().expect("8 bytes")),
        ))
    }

    /// The first row of `start..end` whose key satisfies `past`, given that once a row's key does every later row's
    /// does (a partition's rows are newest first); `end` when none does.
    pub fn first_row(&self, start: u32, end: u32, past: impl Fn((i64, u64)) -> bool) -> std::io::Result<u32> {
        let (mut a, mut b) = (start, end);
        while a < b {
            let mid = a + (b - a) / 2;
            if past(self.key(mid)?) {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        Ok(a)
    }

    /// The keys of rows `start..end`.
    pub fn keys(&self, start: u32, end: u32) -> std::io::Result<Vec<(i64, u64)>> {
        let mut b = vec![0u8; end.saturating_sub(start) as usize * KEY_BYTES as usize];
        self.file.read_exact_at(&mut b, self.keys_at + u64::from(start) * KEY_BYTES)?;
        Ok(b.chunks_exact(16)
            .map(|k| {
                (
                    i64::from_le_bytes(k[..8].try_into().expect("8 bytes")),
                    u64::from_le_bytes(k[8..].try_into().expect("8 bytes")),
                )
            })
            .collect())
    }

    /// The rows holding the attribute value with this hash, ascending (newest first within their partition).
    pub fn rows_for(&self, hash: u64) -> std::io::Result<Vec<u32>> {
        let mut rows = Vec::new();
        let mut s = hash & (self.nslots - 1);
        let mut b = [0u8; 16];
        for _ in 0..self.nslots {
            self.file.read_exact_at(&mut b, self.slots_at + s * SLOT_BYTES)?;
            let h = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
            if h == 0 {
                break;
            }
            if h == hash {
                let start = u64::from(u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")));
                let len = u32::from_le_bytes(b[12..].try_into().expect("4 bytes")) as usize;
                if start + len as u64 > self.npostings {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "postings out of bounds"));
                }
                let mut p = vec![0u8; len * 4];
                self.file.read_exact_at(&mut p, self.postings_at + start * 4)?;
                rows.extend(p.chunks_exact(4).map(|r| u32::from_le_bytes(r.try_into().expect("4 bytes"))));
            }
            s = (s + 1) & (self.nslots - 1);
        }
        if rows.windows(2).any(|w| w[0] > w[1]) {
            rows.sort_unstable();
        }
        Ok(rows)
    }
}

/// The hashes of every lookup attribute value of an event in its partition.
pub(crate) fn attribute_hashes(
    part: (&str, &str, Category),
    values: impl IntoIterator<Item = (LookupKey, impl AsRef<str>)>,
) -> Vec<u64> {
    let mut out: Vec<u64> = values.into_iter().map(|(k, v)| key_hash(part.0, part.1, part.2, k, v.as_ref())).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Opens `bytes` as an index file and exercises every read, for the fuzz target and the mutation test: whatever
/// the bytes, this returns errors and never panics or allocates beyond the file's size.
#[doc(hidden)]
pub fn fuzz_open(path: &Path, bytes: &[u8]) {
    if std::fs::write(path, bytes).is_err() {
        return;
    }
    let Ok(index) = Index::open(path) else { return };
    for p in &index.parts {
        let _ = index.keys(p.start, p.end.min(p.start.saturating_add(64)));
        let _ = index.key(p.end.saturating_sub(1));
        for attr in LookupKey::ALL {
            let h = key_hash(&p.account, &p.region, p.category, attr, "x");
            let _ = index.may_hold_event_id(h);
            if let Ok(rows) = index.rows_for(h) {
                for r in rows.into_iter().take(64) {
                    let _ = index.key(r);
                }
            }
        }
    }
    let _ = index.rows_for(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = Builder::default();
        for i in 0..100u32 {
            let account = if i < 60 { "111111111111" } else { "222222222222" };
            let part = (account, "eu-west-1", Category::Management);
            let hashes: Vec<u64> = (0..3)
                .map(|k| {
                    key_hash(
                        account,
                        "eu-west-1",
                        Category::Management,
                        LookupKey::ALL[k],
                        &format!("v{}", i % (k as u32 + 2)),
                    )
                })
                .collect();
            b.push(part, 1_000_000 - i64::from(i), u64::from(i), &hashes, u64::from(i) + 7);
        }
        // One file per call: tests run on threads of one process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("cairn-index-sample-{}-{n}", std::process::id()));
        b.write(&path, &[(1, 2)]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        bytes
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let path = std::env::temp_dir().join(format!("cairn-index-rt-{}", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let index = Index::open(&path).unwrap();
        assert_eq!(index.rows, 100);
        assert_eq!(index.parts.len(), 2);
        assert_eq!((index.parts[1].start, index.parts[1].end), (60, 100));
        assert_eq!(index.replaced, [(1, 2)]);
        let h = key_hash("111111111111", "eu-west-1", Category::Management, LookupKey::EventName, "v1");
        let rows = index.rows_for(h).unwrap();
        assert_eq!(rows, (0..60).filter(|i| i % 3 == 1).collect::<Vec<u32>>());
        assert_eq!(index.key(5).unwrap(), (999_995, 5));
        assert!((0..100).all(|i| index.may_hold_event_id(i + 7)));
        let _ = std::fs::remove_file(&path);
    }

    /// Truncations and byte flips of a valid index: every one opens or fails cleanly, and reads never panic.
    #[test]
    fn damaged_indexes_fail_cleanly() {
        let bytes = sample();
        let path = std::env::temp_dir().join(format!("cairn-index-mut-{}", std::process::id()));
        for cut in (0..bytes.len()).step_by(7) {
            fuzz_open(&path, &bytes[..cut]);
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut m = bytes.clone();
            for _ in 0..1 + (state % 4) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % m.len();
                m[at] = (state >> 24) as u8;
            }
            fuzz_open(&path, &m);
        }
        let _ = std::fs::remove_file(&path);
    }
}
