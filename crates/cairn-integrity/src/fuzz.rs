//! Fuzz entry point (target `digest_files` in `fuzz/`): arbitrary bytes as a digest object (with and without
//! signature metadata, with a real public key), as a log file against its hash, and as a log file's records and
//! event leaves. None may panic; a deterministic mutation test runs it on every `cargo test`.

use std::collections::BTreeMap;

use crate::check::{self, Fetched, PublicKeys};

/// A public key the digests can name (a real 2048-bit key's DER, fixed so runs are reproducible).
fn keys() -> PublicKeys {
    // SEQUENCE { INTEGER n (2048 bits, all 0xc3), INTEGER 65537 }
    let mut der = vec![0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00];
    der.extend(std::iter::repeat_n(0xc3u8, 256));
    der.extend([0x02, 0x03, 0x01, 0x00, 0x01]);
    [(crate::fingerprint(&der), der)].into()
}

pub fn digest_files(data: &[u8]) {
    let keys = keys();
    let fingerprint = keys.keys().next().cloned().unwrap_or_default();
    let bucket = "b";
    let key = "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/01/01/1_CloudTrail-Digest_us-east-1_t_us-east-1_20260101T000000Z.json.gz";
    let body = bytes::Bytes::copy_from_slice(data);
    let meta: BTreeMap<String, String> = [
        ("signature".to_string(), String::from_utf8_lossy(data.get(..64).unwrap_or(data)).into_owned()),
        ("signature-algorithm".to_string(), "SHA256withRSA".to_string()),
    ]
    .into();
    for metadata in [None, Some(BTreeMap::new()), Some(meta)] {
        let fetched = Fetched { body: body.clone(), metadata };
        let _ = check::check_digest(bucket, key, &fetched, Some("00ff"), &keys, "us-east-1");
        let _ = check::read_unverified(&fetched);
    }
    // The same bytes gzipped, so the JSON and the checks behind the inflater are reached.
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    };
    let fetched = Fetched { body: gz.clone().into(), metadata: None };
    let _ = check::check_digest(bucket, key, &fetched, Some(&fingerprint), &keys, "us-east-1");
    let _ = check::read_unverified(&fetched);
    for bytes in [data, &gz[..]] {
        let _ = check::check_log(bytes, "00");
        let _ = check::leaves_of(bytes);
    }
    let _ = check::records(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = check::parse_time(text);
        let _ = check::key_date(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutated_digests_and_log_files_never_panic() {
        let example = include_str!(
            "../../../../shared/reference/aws-docs-examples/json/cloudtrail-log-file-validation-digest-file-structure__02.json"
        );
        let seeds: Vec<Vec<u8>> = vec![
            example.as_bytes().to_vec(),
            br#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#.to_vec(),
            b"2026-01-01T00:00:00Z".to_vec(),
            Vec::new(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            digest_files(seed);
            for _ in 0..150 {
                let mut m = seed.clone();
                match next() % 4 {
                    0 if !m.is_empty() => {
                        let i = next() as usize % m.len();
                        m[i] = next() as u8;
                    }
                    1 if !m.is_empty() => m.truncate(next() as usize % m.len()),
                    2 => m.insert(next() as usize % (m.len() + 1), b"{}[],:\"\\"[next() as usize % 8]),
                    _ => m.extend_from_slice(&seed[..seed.len() / 2]),
                }
                digest_files(&m);
            }
        }
    }
}
