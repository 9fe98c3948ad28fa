//! Signing keys: one RSA-2048 key pair per region, created on first use, replaced when its rotation period ends (or
//! on demand), each kept for as long as cairn runs so the digests it signed stay verifiable. A key is a file
//! `<dir>/<region>/<validity start ms>.der` holding its PKCS#1 private key, written whole under another name, fsynced
//! and renamed, mode 0600. Its validity runs from its start to the start of the next key of its region (the current
//! key: to the end of its rotation period). Signatures are RSASSA-PKCS1-v1_5 with SHA-256 (`SHA256withRSA`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ring::signature::{RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use rsa::pkcs1::EncodeRsaPrivateKey;

/// The bits of a signing key's modulus.
const KEY_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("signing key {0} is not a PKCS#1 RSA private key")]
    Malformed(PathBuf),
    #[error("cannot generate a signing key: {0}")]
    Generate(String),
    #[error("region {0:?} is not a region name")]
    Region(String),
}

/// A key pair that signs digests.
pub struct SigningKey {
    pair: RsaKeyPair,
    public_der: Vec<u8>,
    fingerprint: String,
    /// Milliseconds since the epoch from which it signs.
    pub valid_from_ms: i64,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint)
            .field("valid_from_ms", &self.valid_from_ms)
            .finish()
    }
}

impl SigningKey {
    fn from_private_der(der: &[u8], valid_from_ms: i64) -> Option<SigningKey> {
        let pair = RsaKeyPair::from_der(der).ok()?;
        let public_der = pair.public().as_ref().to_vec();
        Some(SigningKey { fingerprint: fingerprint(&public_der), pair, public_der, valid_from_ms })
    }

    /// `SHA256withRSA` over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut signature)
            .expect("a 2048-bit key signs any message");
        signature
    }

    /// The DER PKCS#1 RSAPublicKey, as ListPublicKeys returns it.
    pub fn public_der(&self) -> &[u8] {
        &self.public_der
    }

    /// hex(MD5(public key DER)), as digests name their key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// hex(MD5(der)): CloudTrail's public key fingerprint.
pub fn fingerprint(der: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(der).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `signature` is `SHA256withRSA` over `message` by the key whose PKCS#1 RSAPublicKey is `public_der`.
pub fn verify(public_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_der).verify(message, signature).is_ok()
}

/// A new RSA-2048 private key as PKCS#1 DER.
fn generate() -> Result<Vec<u8>, KeyError> {
    let private =
        rsa::RsaPrivateKey::new(&mut rand_core::OsRng, KEY_BITS).map_err(|e| KeyError::Generate(e.to_string()))?;
    let der = private.to_pkcs1_der().map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok(der.as_bytes().to_vec())
}

/// Writes a private key whole under `dir/name`: another name first, fsynced, renamed, mode 0600.
fn write_private(dir: &Path, name: &str, der: &[u8]) -> Result<PathBuf, KeyError> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).map_err(io("creating", &tmp))?;
    f.write_all(der).map_err(io("writing", &tmp))?;
    f.sync_all().map_err(io("syncing", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("renaming", &tmp))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io("syncing", dir))?;
    Ok(path)
}

/// The key pair kept in `dir/name`, created there on first use (for a service's own signatures, such as SNS's).
pub fn load_or_create(dir: &Path, name: &str) -> Result<SigningKey, KeyError> {
    let path = dir.join(name);
    let der = match std::fs::read(&path) {
        Ok(der) => der,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let der = generate()?;
            write_private(dir, name, &der)?;
            der
        }
        Err(e) => return Err(io("reading", &path)(e)),
    };
    SigningKey::from_private_der(&der, 0).ok_or(KeyError::Malformed(path))
}

/// The keys of one region's directory, oldest first, except those starting at a time in `known` (already loaded).
fn read_region(dir: &Path, known: &[i64]) -> Result<Vec<Arc<SigningKey>>, KeyError> {
    let mut keys = Vec::new();
    for f in std::fs::read_dir(dir).map_err(io("reading", dir))? {
        let path = f.map_err(io("reading", dir))?.path();
        let Some(start) = path.file_name().and_then(|n| n.to_str()?.strip_suffix(".der")?.parse::<i64>().ok()) else {
            continue;
        };
        if known.contains(&start) {
            continue;
        }
        let der = std::fs::read(&path).map_err(io("reading", &path))?;
        let key = SigningKey::from_private_der(&der, start).ok_or_else(|| KeyError::Malformed(path.clone()))?;
        keys.push(Arc::new(key));
    }
    keys.sort_by_key(|k| k.valid_from_ms);
    Ok(keys)
}

/// Whether `der` is a DER PKCS#1 RSAPublicKey.
pub fn is_public_key(der: &[u8]) -> bool {
    use rsa::pkcs1::DecodeRsaPublicKey;
    rsa::RsaPublicKey::from_pkcs1_der(der).is_ok()
}

/// A public key and the period it signed (or signs) in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub der: Vec<u8>,
    pub valid_from_ms: i64,
    pub valid_to_ms: i64,
    pub fingerprint: String,
}

/// Every region's signing keys.
#[derive(Debug)]
pub struct SigningKeys {
    dir: PathBuf,
    rotation_ms: i64,
    /// Per region, its keys by validity start, oldest first.
    regions: Mutex<HashMap<String, Vec<Arc<SigningKey>>>>,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeyError {
    let path = path.to_path_buf();
    move |source| KeyError::Io { what, path, source }
}

fn check_region(region: &str) -> Result<(), KeyError> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(KeyError::Region(region.to_string()))
    }
}

impl SigningKeys {
    /// Opens the key directory, loading every region's keys; `rotation_ms` is how long a key signs.
    pub fn open(dir: &Path, rotation_ms: i64) -> Result<SigningKeys, KeyError> {
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        let mut regions = HashMap::new();
        for entry in std::fs::read_dir(dir).map_err(io("reading", dir))? {
            let entry = entry.map_err(io("reading", dir))?;
            let region = entry.file_name().to_string_lossy().into_owned();
            if check_region(&region).is_err() || !entry.path().is_dir() {
                continue;
            }
            regions.insert(region, read_region(&entry.path(), &[])?);
        }
        Ok(SigningKeys { dir: dir.to_path_buf(), rotation_ms, regions: Mutex::new(regions) })
    }

    /// Adds keys another process wrote for the region since they were read (`cairn rotate-signing-key` on the data
    /// directory of a running cairn).
    fn sync(&self, region: &str, keys: &mut Vec<Arc<SigningKey>>) {
        let dir = self.dir.join(region);
        if !dir.is_dir() {
            return;
        }
        let known: Vec<i64> = keys.iter().map(|k| k.valid_from_ms).collect();
        match read_region(&dir, &known) {
            Ok(new) if new.is_empty() => {}
            Ok(new) => {
                for k in new {
                    tracing::info!(region, fingerprint = k.fingerprint(), "loaded a new digest signing key");
                    keys.push(k);
                }
                keys.sort_by_key(|k| k.valid_from_ms);
            }
            Err(e) => tracing::warn!(region, error = %e, "cannot read the region's signing keys"),
        }
    }

    /// The key that signs in `region` at `now_ms`: created on first use, and replaced once its period has ended.
    pub fn current(&self, region: &str, now_ms: i64) -> Result<Arc<SigningKey>, KeyError> {
        check_region(region)?;
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        let keys = regions.entry(region.to_string()).or_default();
        self.sync(region, keys);
        match keys.last() {
            Some(k) if now_ms < k.valid_from_ms + self.rotation_ms => Ok(Arc::clone(k)),
            _ => self.create(region, keys, now_ms),
        }
    }

    /// Replaces the region's key now (on demand); the old key stays listed for the period it signed.
    pub fn rotate(&self, region: &str, now_ms: i64) -> Result<Arc<SigningKey>, KeyError> {
        check_region(region)?;
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        let keys = regions.entry(region.to_string()).or_default();
        self.sync(region, keys);
        self.create(region, keys, now_ms)
    }

    fn create(&self, region: &str, keys: &mut Vec<Arc<SigningKey>>, now_ms: i64) -> Result<Arc<SigningKey>, KeyError> {
        // A new key starts after the last one, so validity periods never run backwards.
        let start = keys.last().map_or(now_ms, |k| now_ms.max(k.valid_from_ms + 1));
        let der = generate()?;
        let dir = self.dir.join(region);
        let path = write_private(&dir, &format!("{start}.der"), &der)?;
        let key = Arc::new(SigningKey::from_private_der(&der, start).ok_or(KeyError::Malformed(path))?);
        tracing::info!(region, fingerprint = key.fingerprint(), "created a digest signing key");
        keys.push(Arc::clone(&key));
        Ok(key)
    }

    /// The region's public keys whose validity overlaps `[from_ms, to_ms]`, oldest first.
    pub fn public_keys(&self, region: &str, from_ms: i64, to_ms: i64) -> Vec<PublicKey> {
        if check_region(region).is_err() {
            return Vec::new();
        }
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        let keys = regions.entry(region.to_string()).or_default();
        self.sync(region, keys);
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                let end = keys.get(i + 1).map_or(k.valid_from_ms + self.rotation_ms, |next| next.valid_from_ms);
                PublicKey {
                    der: k.public_der.clone(),
                    valid_from_ms: k.valid_from_ms,
                    valid_to_ms: end,
                    fingerprint: k.fingerprint.clone(),
                }
            })
            .filter(|p| p.valid_from_ms <= to_ms && from_ms <= p.valid_to_ms)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_rotated_listed_and_reloaded() {
        let dir = std::env::temp_dir().join(format!("cairn-signing-{}", uuid::Uuid::new_v4()));
        let day = 86_400_000;
        let keys = SigningKeys::open(&dir, 30 * day).unwrap();
        let t0 = 1_800_000_000_000;
        let first = keys.current("us-east-1", t0).unwrap();
        assert_eq!(keys.current("us-east-1", t0 + day).unwrap().fingerprint(), first.fingerprint(), "same period");
        let msg = b"2026-12-03T10:00:00Z\nbucket/key\nabc\nnull";
        let sig = first.sign(msg);
        assert_eq!(sig.len(), 256);
        assert!(verify(first.public_der(), msg, &sig));
        assert!(!verify(first.public_der(), b"another message", &sig));
        assert_eq!(first.fingerprint(), fingerprint(first.public_der()));
        assert_eq!(first.fingerprint().len(), 32);
        // The period ends: a new key; the old one stays listed for what it signed.
        let second = keys.current("us-east-1", t0 + 30 * day).unwrap();
        assert_ne!(second.fingerprint(), first.fingerprint());
        let listed = keys.public_keys("us-east-1", t0, t0 + 31 * day);
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].valid_from_ms, listed[0].valid_to_ms), (t0, t0 + 30 * day));
        assert_eq!(listed[1].valid_to_ms, t0 + 60 * day);
        assert_eq!(keys.public_keys("us-east-1", t0 + 45 * day, t0 + 46 * day).len(), 1);
        assert!(keys.public_keys("eu-west-1", t0, t0 + day).is_empty(), "regions have their own keys");
        // On demand.
        let third = keys.rotate("us-east-1", t0 + 31 * day).unwrap();
        assert_ne!(third.fingerprint(), second.fingerprint());
        // Another process (cairn rotate-signing-key) rotates on disk: the running instance takes the new key up.
        let elsewhere = SigningKeys::open(&dir, 30 * day).unwrap().rotate("us-east-1", t0 + 31 * day + 5).unwrap();
        assert_eq!(keys.current("us-east-1", t0 + 31 * day + 6).unwrap().fingerprint(), elsewhere.fingerprint());
        let third = elsewhere;
        // Reloaded from disk, private to cairn's user.
        let again = SigningKeys::open(&dir, 30 * day).unwrap();
        let reloaded = again.public_keys("us-east-1", 0, i64::MAX);
        assert_eq!(reloaded, keys.public_keys("us-east-1", 0, i64::MAX));
        assert_eq!(again.current("us-east-1", t0 + 32 * day).unwrap().fingerprint(), third.fingerprint());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.join("us-east-1").join(format!("{t0}.der"));
            assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(keys.current("../etc", t0).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
