//! Durable consumer checkpoints: one small CRC-checked file per consumer, replaced atomically
//! (write to a temporary file, fsync, rename, fsync the directory).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::{io, Error, Result};

const MAGIC: &[u8; 8] = b"CAIRNCK1";
const LEN: usize = 20;

pub(crate) fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConsumer(name.to_string()))
    }
}

fn encode(seq: u64) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&seq.to_le_bytes());
    out[16..].copy_from_slice(&crc32c::crc32c(&seq.to_le_bytes()).to_le_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != LEN || &bytes[..8] != MAGIC {
        return None;
    }
    let seq = &bytes[8..16];
    let crc = u32::from_le_bytes(bytes[16..].try_into().ok()?);
    (crc32c::crc32c(seq) == crc).then(|| u64::from_le_bytes(seq.try_into().expect("8 bytes")))
}

pub(crate) fn save(dir: &Path, name: &str, seq: u64) -> Result<()> {
    let ck_dir = dir.join("checkpoints");
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = ck_dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let path = ck_dir.join(format!("{name}.ckpt"));
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(&encode(seq)).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    crate::writer::sync_dir(&ck_dir)
}

/// Removes a consumer's checkpoint file (if any) durably.
pub(crate) fn remove(dir: &Path, name: &str) -> Result<()> {
    let ck_dir = dir.join("checkpoints");
    let path = ck_dir.join(format!("{name}.ckpt"));
    match std::fs::remove_file(&path) {
        Ok(()) => crate::writer::sync_dir(&ck_dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io { path, source: e }),
    }
}

pub(crate) fn load_all(dir: &Path) -> Result<BTreeMap<String, u64>> {
    let ck_dir = dir.join("checkpoints");
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(&ck_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::Io { path: ck_dir, source: e }),
    };
    for entry in entries {
        let entry = entry.map_err(io(&ck_dir))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".ckpt")) else {
            continue;
        };
        let path = entry.path();
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        // The rename makes a checkpoint file appear whole or not at all; a bad one is corruption, not a torn write.
        let seq = decode(&bytes).ok_or_else(|| Error::Corrupt {
            path: path.clone(),
            offset: 0,
            why: "checkpoint file fails its check".into(),
        })?;
        out.insert(name.to_string(), seq);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_and_names() {
        assert_eq!(decode(&encode(42)), Some(42));
        let mut bad = encode(42);
        bad[9] ^= 1;
        assert_eq!(decode(&bad), None);
        assert!(validate_name("event-store").is_ok() && validate_name("trail.delivery_1").is_ok());
        assert!(validate_name("").is_err() && validate_name("Bad").is_err() && validate_name("../x").is_err());
        assert!(validate_name(".hidden").is_err());
    }
}
