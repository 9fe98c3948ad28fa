//! A store's data key and the Parquet modular encryption of its files: a store encrypted with a KMS key has one
//! 256-bit data key, made by KMS and kept here in plaintext only in memory (the server keeps the KMS-encrypted copy
//! with the store). Each file is encrypted uniformly with it (AES-GCM, footer and every column under the one key,
//! the footer itself encrypted), so that nothing of a file, not even its schema or statistics, is readable without
//! the key; a reader with the key reads it as any Parquet reader that supports modular encryption does.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use parquet::encryption::decrypt::FileDecryptionProperties;
use parquet::encryption::encrypt::FileEncryptionProperties;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{Error, Result};

/// The bytes of a data key.
const DATA_KEY_BYTES: usize = 32;

/// A store's data key, in plaintext: never printed, never written anywhere.
#[derive(Clone)]
pub struct DataKey {
    key: [u8; DATA_KEY_BYTES],
    encryption: Arc<FileEncryptionProperties>,
    decryption: Arc<FileDecryptionProperties>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// The key from its bytes (exactly [`DATA_KEY_BYTES`]).
    pub fn new(bytes: &[u8]) -> Result<DataKey> {
        let key: [u8; DATA_KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| Error::Engine(format!("a data key has {DATA_KEY_BYTES} bytes, not {}", bytes.len())))?;
        let encryption = FileEncryptionProperties::builder(key.to_vec()).build()?;
        let decryption = FileDecryptionProperties::builder(key.to_vec()).build()?;
        Ok(DataKey { key, encryption, decryption })
    }

    /// How a writer encrypts a file with the key.
    pub(crate) fn encryption(&self) -> Arc<FileEncryptionProperties> {
        Arc::clone(&self.encryption)
    }

    /// How a reader decrypts a file written with the key.
    pub(crate) fn decryption(&self) -> Arc<FileDecryptionProperties> {
        Arc::clone(&self.decryption)
    }

    /// `plain` encrypted with the key (AES-256-GCM, a random nonce first), bound to `label`: for what is kept of
    /// the store's events outside its Parquet files (a saved query's answer).
    pub fn seal(&self, label: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).expect("the system's random source works");
        let mut out = plain.to_vec();
        self.aead()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(label.as_bytes()), &mut out)
            .expect("AES-GCM seals any length cairn writes");
        [&nonce[..], &out].concat()
    }

    /// What [`DataKey::seal`] sealed with this key and `label`; `None` for anything else.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self.aead().open_in_place(nonce, Aad::from(label.as_bytes()), &mut body).ok()?;
        Some(plain.to_vec())
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.key).expect("a 256-bit key"))
    }
}

/// The magic at the end of a Parquet file whose footer is encrypted.
const ENCRYPTED_MAGIC: &[u8; 4] = b"PARE";

/// Whether the Parquet file at `path` is encrypted (its footer is), from its last four bytes.
pub(crate) fn is_encrypted(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(crate::io(path))?;
    let mut magic = [0u8; 4];
    f.seek(SeekFrom::End(-4)).and_then(|_| f.read_exact(&mut magic)).map_err(crate::io(path))?;
    Ok(&magic == ENCRYPTED_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_has_32_bytes_and_never_prints() {
        assert!(DataKey::new(&[7u8; 31]).is_err());
        let k = DataKey::new(&[0xabu8; 32]).unwrap();
        assert_eq!(format!("{k:?}"), "DataKey(..)");
    }

    #[test]
    fn sealed_bytes_open_only_with_their_key_and_label() {
        let k = DataKey::new(&[1u8; 32]).unwrap();
        let sealed = k.seal("q1", b"rows");
        assert!(!sealed.windows(4).any(|w| w == b"rows"));
        assert_eq!(k.open("q1", &sealed).as_deref(), Some(&b"rows"[..]));
        assert_eq!(k.open("q2", &sealed), None);
        assert_eq!(DataKey::new(&[2u8; 32]).unwrap().open("q1", &sealed), None);
        assert_eq!(k.open("q1", &sealed[..5]), None);
    }
}
