//! Key material and ciphertext. Every key's 256-bit material is random and stored only wrapped (AES-256-GCM) under
//! the master key, a 32-byte file in the data directory readable only by cairn's user. A ciphertext blob names the
//! key that made it and is sealed with AES-256-GCM, its additional data binding the key id and the encryption
//! context, so that a changed byte, another key or another context fails to decrypt.
//!
//! Blob layout: `0x01`, the 36-character key id, a 12-byte nonce, the ciphertext, the 16-byte tag.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes of a key's material and of the master key.
pub const KEY_BYTES: usize = 32;
const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 36;
const TAG_LEN: usize = 16;
/// Bytes a blob adds to its plaintext.
pub const BLOB_OVERHEAD: usize = 1 + KEY_ID_LEN + NONCE_LEN + TAG_LEN;

/// An encryption context, in the canonical (sorted) order the additional data uses.
pub type EncryptionContext = BTreeMap<String, String>;

/// Random bytes from the operating system.
pub fn random(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    // SystemRandom reads getrandom(2); it fails only if the kernel cannot supply randomness, which nothing survives.
    SystemRandom::new().fill(&mut out).expect("the operating system's random source failed");
    out
}

fn aead_key(key: &[u8]) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key).ok().map(LessSafeKey::new)
}

/// AES-256-GCM: a fresh nonce, then ciphertext and tag.
pub fn seal(key: &[u8], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let key = aead_key(key).expect("keys are 32 bytes");
    let nonce_bytes = random(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes).expect("nonces are 12 bytes");
    let mut out = nonce_bytes;
    let mut body = plaintext.to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(aad), &mut body).expect("AES-GCM seals any length cairn uses");
    out.extend_from_slice(&body);
    out
}

/// Opens what [`seal`] made; None when anything (key, additional data, a byte) differs.
pub fn open(key: &[u8], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let key = aead_key(key)?;
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut body = body.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut body).ok()?;
    Some(plain.to_vec())
}

/// The additional data of a blob: the key id and each context pair, length-prefixed so no two contexts collide.
fn blob_aad(key_id: &str, context: &EncryptionContext) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    for part in std::iter::once(key_id).chain(context.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()])) {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// Encrypts `plaintext` under a key's material into a blob that names the key.
pub fn encrypt_blob(key_id: &str, material: &[u8], context: &EncryptionContext, plaintext: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(plaintext.len() + BLOB_OVERHEAD);
    blob.push(VERSION);
    blob.extend_from_slice(key_id.as_bytes());
    blob.extend_from_slice(&seal(material, &blob_aad(key_id, context), plaintext));
    blob
}

/// The key id a blob names, if it is shaped as cairn's blobs are.
pub fn blob_key_id(blob: &[u8]) -> Option<&str> {
    if blob.len() < BLOB_OVERHEAD || blob[0] != VERSION {
        return None;
    }
    let id = std::str::from_utf8(&blob[1..1 + KEY_ID_LEN]).ok()?;
    uuid::Uuid::parse_str(id).ok().map(|_| id)
}

/// Decrypts a blob with its key's material; None when it was not made by that key under that context.
pub fn decrypt_blob(material: &[u8], context: &EncryptionContext, blob: &[u8]) -> Option<Vec<u8>> {
    let key_id = blob_key_id(blob)?;
    open(material, &blob_aad(key_id, context), &blob[1 + KEY_ID_LEN..])
}

/// The master key: wraps every key's material.
pub struct Master([u8; KEY_BYTES]);

impl std::fmt::Debug for Master {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Master(..)")
    }
}

impl Master {
    /// Reads the master key file, creating it (mode 0600, fsynced with its directory) the first time.
    pub fn load_or_create(path: &Path) -> std::io::Result<Master> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; KEY_BYTES] = bytes.as_slice().try_into().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not a 32-byte master key", path.display()),
                    )
                })?;
                warn_if_readable_by_others(path);
                Ok(Master(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Written whole under another name, then renamed: a crash never leaves a short key file.
                let key: [u8; KEY_BYTES] = random(KEY_BYTES).try_into().expect("32 bytes");
                let tmp = path.with_extension("key.tmp");
                let _ = std::fs::remove_file(&tmp);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut f = options.open(&tmp)?;
                f.write_all(&key)?;
                f.sync_all()?;
                std::fs::rename(&tmp, path)?;
                if let Some(dir) = path.parent() {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                Ok(Master(key))
            }
            Err(e) => Err(e),
        }
    }

    /// Wraps a key's material, bound to its key id.
    pub fn wrap(&self, key_id: &str, material: &[u8]) -> Vec<u8> {
        seal(&self.0, key_id.as_bytes(), material)
    }

    /// Unwraps a key's material; None if the wrapped bytes or the key id were changed.
    pub fn unwrap(&self, key_id: &str, wrapped: &[u8]) -> Option<Vec<u8>> {
        open(&self.0, key_id.as_bytes(), wrapped)
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the KMS master key file is readable by other users: chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn blobs_open_only_with_their_key_and_context() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let material = random(KEY_BYTES);
        let c = ctx(&[("aws:cloudtrail:arn", "arn:aws:cloudtrail:us-east-1:111111111111:trail/t")]);
        let blob = encrypt_blob(id, &material, &c, b"secret");
        assert_eq!(blob.len(), 6 + BLOB_OVERHEAD);
        assert_eq!(blob_key_id(&blob), Some(id));
        assert_eq!(decrypt_blob(&material, &c, &blob).as_deref(), Some(&b"secret"[..]));
        assert_eq!(decrypt_blob(&material, &ctx(&[]), &blob), None, "another context");
        assert_eq!(decrypt_blob(&random(KEY_BYTES), &c, &blob), None, "another key");
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            assert_eq!(decrypt_blob(&material, &c, &bad), None, "byte {i} changed");
        }
        // Contexts that concatenate alike differ.
        let a = encrypt_blob(id, &material, &ctx(&[("ab", "c")]), b"x");
        assert_eq!(decrypt_blob(&material, &ctx(&[("a", "bc")]), &a), None);
        assert_eq!(blob_key_id(b"short"), None);
    }

    #[test]
    fn the_master_key_is_created_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("cairn-kms-master-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let m = Master::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let wrapped = m.wrap("k", b"material");
        let again = Master::load_or_create(&path).unwrap();
        assert_eq!(again.unwrap("k", &wrapped).as_deref(), Some(&b"material"[..]));
        assert_eq!(again.unwrap("other", &wrapped), None, "wrapped material is bound to its key id");
        std::fs::write(&path, b"short").unwrap();
        assert!(Master::load_or_create(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
