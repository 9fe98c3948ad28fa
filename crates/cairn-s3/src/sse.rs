//! SSE-KMS: objects encrypted at rest with envelope encryption. A data key is generated under the caller's KMS key
//! (with the caller's authority and encryption context, as S3 and CloudTrail call KMS), the object's bytes are sealed
//! with it (AES-256-GCM), and only the data key's ciphertext is kept beside them. Reading asks KMS to decrypt the
//! data key for the reader, so a reader needs both the bucket policy and the key policy.

use base64::Engine;
use cairn_api::{ApiError, ErrorCode};
use cairn_kms::{Call, EncryptionContext, Kms};
use s3s::{S3Error, S3ErrorCode};

/// How an object is encrypted, as kept in its index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseKms {
    /// The KMS key's ARN.
    pub key_arn: String,
    /// The data key, encrypted under the KMS key.
    pub data_key: Vec<u8>,
    /// The encryption context the data key was generated with.
    pub context: EncryptionContext,
}

/// Additional data sealing every object body: a body cannot pass for anything else sealed with the same data key.
const AAD: &[u8] = b"cairn-s3 object body";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl SseKms {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "keyArn": self.key_arn, "dataKey": B64.encode(&self.data_key), "context": self.context })
    }

    pub(crate) fn from_json(v: &serde_json::Value) -> Option<SseKms> {
        Some(SseKms {
            key_arn: v.get("keyArn")?.as_str()?.to_string(),
            data_key: B64.decode(v.get("dataKey")?.as_str()?).ok()?,
            context: serde_json::from_value(v.get("context")?.clone()).ok()?,
        })
    }
}

/// Encrypts an object's bytes under `key_ref` for the call.
pub fn seal(
    kms: &Kms,
    call: &Call<'_>,
    key_ref: &str,
    context: EncryptionContext,
    plaintext: &[u8],
) -> Result<(Vec<u8>, SseKms), ApiError> {
    let data_key = kms.generate_data_key(call, key_ref, &context)?;
    let sealed = cairn_kms::crypto::seal(&data_key.plaintext, AAD, plaintext);
    Ok((sealed, SseKms { key_arn: data_key.key_arn, data_key: data_key.blob, context }))
}

/// Decrypts an object's bytes for the call: KMS must decrypt its data key for the caller.
pub fn open(kms: &Kms, call: &Call<'_>, sse: &SseKms, sealed: &[u8]) -> Result<Vec<u8>, ApiError> {
    let (_, data_key) = kms.decrypt_for(call, &sse.data_key, &sse.context)?;
    cairn_kms::crypto::open(&data_key, AAD, sealed)
        .ok_or_else(|| ApiError::new(ErrorCode::KmsInvalidCiphertext, "the object's stored bytes do not decrypt"))
}

/// S3's answer when KMS refuses: `AccessDenied` for a key policy that does not allow the caller, otherwise KMS's
/// code as S3 relays it (`KMS.DisabledException`, `KMS.NotFoundException` ...).
pub fn s3_error(e: ApiError) -> S3Error {
    if e.code == ErrorCode::AccessDenied {
        return S3Error::with_message(S3ErrorCode::AccessDenied, e.message);
    }
    let code = format!("KMS.{}", e.code.shape_name());
    let mut err = S3Error::with_message(S3ErrorCode::Custom(code.into()), e.message);
    err.set_status_code(http::StatusCode::from_u16(e.code.http_status()).unwrap_or(http::StatusCode::BAD_REQUEST));
    err
}

/// The error code a KMS refusal is reported with by storage callers (delivery): `KMS.<shape>`.
pub fn error_code(e: &ApiError) -> String {
    format!("KMS.{}", e.code.shape_name())
}
