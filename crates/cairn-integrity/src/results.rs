//! Signed CloudTrail Lake query results: where a query's results go in a bucket, the sign file written beside them
//! (`result_sign.json`), and its verification, shared by the server that writes them and
//! `cairn verify-query-results`.
//!
//! The sign file lists each result file's SHA-256 (lower-case hex, of the compressed bytes as stored) and signs the
//! hashes joined by single spaces, in the list's order, with the region's signing key (`SHA256withRSA`, hex), naming
//! the key by its fingerprint as ListPublicKeys does. A verifier hashes every listed file, finds the key among those
//! listed from `queryCompleteTime` on, and checks the signature.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::check::PublicKeys;
use crate::SigningKey;

/// The sign file's name, in the results folder.
pub const SIGN_FILE: &str = "result_sign.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedFile {
    pub file_hash_value: String,
    pub file_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignFile {
    pub version: String,
    pub region: String,
    pub files: Vec<SignedFile>,
    pub hash_algorithm: String,
    pub signature_algorithm: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub query_complete_time: String,
    pub hash_signature: String,
    pub public_key_fingerprint: String,
}

/// The folder of a query's results: `[prefix/]AWSLogs/<account>/CloudTrail-Lake/Query/YYYY/MM/DD/<query id>/`,
/// dated by the query's completion (`date` as `YYYY-MM-DD`).
pub fn results_folder(prefix: Option<&str>, account: &str, date: &str, query_id: &str) -> String {
    let prefix = prefix.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty());
    let dated = date.replace('-', "/");
    let base = format!("AWSLogs/{account}/CloudTrail-Lake/Query/{dated}/{query_id}/");
    prefix.map_or(base.clone(), |p| format!("{p}/{base}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.len().is_multiple_of(2).then_some(())?;
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The string the signature covers: the files' hashes joined by single spaces.
pub fn string_to_sign(files: &[SignedFile]) -> String {
    files.iter().map(|f| f.file_hash_value.as_str()).collect::<Vec<_>>().join(" ")
}

/// Signs result files (name and stored bytes, in order).
pub fn sign(key: &SigningKey, region: &str, files: &[(String, &[u8])], complete_time: &str) -> SignFile {
    let files: Vec<SignedFile> = files
        .iter()
        .map(|(name, bytes)| SignedFile { file_hash_value: hex(&Sha256::digest(bytes)), file_name: name.clone() })
        .collect();
    let signature = key.sign(string_to_sign(&files).as_bytes());
    SignFile {
        version: "1.0".into(),
        region: region.into(),
        files,
        hash_algorithm: "SHA-256".into(),
        signature_algorithm: "SHA256withRSA".into(),
        query_complete_time: complete_time.into(),
        hash_signature: hex(&signature),
        public_key_fingerprint: key.fingerprint().into(),
    }
}

/// Verifies a sign file: every listed file (read by `read`) has its hash, and the signature verifies with the key of
/// its fingerprint among `keys` (fingerprint to DER PKCS#1 public key). The error says what failed.
pub fn verify(
    sign: &SignFile,
    mut read: impl FnMut(&str) -> Result<Vec<u8>, String>,
    keys: &PublicKeys,
) -> Result<(), String> {
    if sign.files.is_empty() {
        return Err("No export file was found in sign file.".into());
    }
    for f in &sign.files {
        let bytes = read(&f.file_name)?;
        let actual = hex(&Sha256::digest(&bytes));
        if actual != f.file_hash_value {
            return Err(format!(
                "File {} has inconsistent hash value with hash value recorded in sign file, hash value in sign file is {}, but get {actual}",
                f.file_name, f.file_hash_value
            ));
        }
    }
    let Some(der) = keys.get(&sign.public_key_fingerprint) else {
        return Err(format!("No public keys found for key with fingerprint: {}", sign.public_key_fingerprint));
    };
    let signature = unhex(&sign.hash_signature).ok_or("Invalid signature in sign file")?;
    if !crate::verify(der, string_to_sign(&sign.files).as_bytes(), &signature) {
        return Err("Invalid signature in sign file".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_results_verify_and_tampering_shows() {
        let dir = std::env::temp_dir().join(format!("cairn-results-{}", std::process::id()));
        let keys = crate::SigningKeys::open(&dir, 86_400_000 * 365).unwrap();
        let key = keys.current("us-east-1", 1_767_225_600_000).unwrap();
        let files: Vec<(String, Vec<u8>)> =
            vec![("result_1.csv.gz".into(), b"one".to_vec()), ("result_2.csv.gz".into(), b"two".to_vec())];
        let listed: Vec<(String, &[u8])> = files.iter().map(|(n, b)| (n.clone(), b.as_slice())).collect();
        let sign = sign(&key, "us-east-1", &listed, "2026-01-01T00:00:00Z");
        let text = serde_json::to_string(&sign).unwrap();
        assert!(text.contains("\"queryCompleteTime\"") && text.contains("\"fileHashValue\""));
        let known: PublicKeys = [(key.fingerprint().to_string(), key.public_der().to_vec())].into();
        let read = |files: Vec<(String, Vec<u8>)>| {
            move |name: &str| {
                files.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone()).ok_or(format!("{name} missing"))
            }
        };
        verify(&sign, read(files.clone()), &known).unwrap();
        let mut changed = files.clone();
        changed[1].1 = b"tw0".to_vec();
        assert!(verify(&sign, read(changed), &known).unwrap_err().contains("inconsistent hash value"));
        let mut forged = sign.clone();
        forged.files.swap(0, 1);
        assert_eq!(verify(&forged, read(files.clone()), &known).unwrap_err(), "Invalid signature in sign file");
        assert!(verify(&sign, read(files), &PublicKeys::new()).unwrap_err().starts_with("No public keys found"));
        assert_eq!(
            results_folder(Some("/q/"), "111122223333", "2026-01-02", "id"),
            "q/AWSLogs/111122223333/CloudTrail-Lake/Query/2026/01/02/id/"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
