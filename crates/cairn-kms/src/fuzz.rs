//! The entry point of the `kms_request` fuzz target in `fuzz/` (cargo-fuzz), shared with a deterministic test so
//! every test run exercises it: any request body for any operation, and any bytes as a ciphertext blob, must be
//! answered with a result or KMS's error, never a panic.

use std::sync::OnceLock;

use cairn_policy::{Caller, RequestFacts};

use crate::{crypto, Call, Kms, Operation};

fn kms() -> &'static Kms {
    static KMS: OnceLock<Kms> = OnceLock::new();
    KMS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cairn-kms-fuzz-{}", std::process::id()));
        Kms::open(&dir).expect("a temporary key store opens")
    })
}

/// The first byte picks the operation; the rest is its body. The same bytes are also tried as a ciphertext blob.
pub fn request(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else { return };
    let op = Operation::ALL[pick as usize % Operation::ALL.len()];
    let facts = RequestFacts {
        caller: Caller::Account {
            account: "111122223333".into(),
            arn: "arn:aws:iam::111122223333:root".into(),
            organization: None,
        },
        source_ip: None,
        secure_transport: true,
        now: time::OffsetDateTime::UNIX_EPOCH,
    };
    let call = Call { facts: &facts, region: "us-east-1", via_service: None };
    let _ = kms().call(&call, op, body);
    let _ = crypto::blob_key_id(body);
    let _ = crypto::decrypt_blob(&[7u8; crypto::KEY_BYTES], &Default::default(), body);
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_of_every_shape_never_panic() {
        let bodies: &[&[u8]] = &[
            b"",
            b"{}",
            b"[]",
            b"null",
            b"{\"KeyId\": 5}",
            b"{\"KeyId\": \"\"}",
            b"{\"KeyId\": \"arn:aws:kms\"}",
            b"{\"KeyId\": \"arn:aws:kms:::::\"}",
            b"{\"KeyId\": \"alias/\"}",
            b"{\"CiphertextBlob\": \"AQ==\"}",
            b"{\"CiphertextBlob\": \"not base64\"}",
            b"{\"Plaintext\": \"\", \"KeyId\": \"alias/x\"}",
            b"{\"Limit\": -1, \"Marker\": \"cairn-kms-zz\"}",
            b"{\"Policy\": \"{\\\"Statement\\\": {}}\"}",
            b"{\"NumberOfBytes\": 99999999999, \"KeyId\": \"x\"}",
            b"{\"AliasName\": \"alias/\\u0000\", \"TargetKeyId\": \"x\"}",
            b"{\"Tags\": [{\"TagKey\": \"\"}]}",
        ];
        for pick in 0..=255u8 {
            for body in bodies {
                let mut data = vec![pick];
                data.extend_from_slice(body);
                super::request(&data);
            }
        }
    }
}
