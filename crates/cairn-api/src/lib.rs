//! The AWS protocol of cairn: the operation router, request and response shapes of the AWS JSON 1.1 wire format,
//! AWS error codes, and SigV4 verification. It knows HTTP only as header maps and byte bodies; the server crate
//! owns sockets and routing.

pub mod channels;
pub mod dashboards;
pub mod error;
#[doc(hidden)]
pub mod fuzz_targets;
pub mod lake;
pub mod operation;
pub mod shapes;
pub mod sigv4;
pub mod wire;

pub use error::{ApiError, ErrorCode, Result};
pub use operation::Operation;

use serde::de::DeserializeOwned;

/// The content type of AWS JSON 1.1 requests and responses.
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Parses an operation's input from a request body; an empty body is an empty input.
pub fn parse_input<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::Serialization, format!("request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::new(ErrorCode::Serialization, "request body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::new(ErrorCode::Serialization, format!("request body does not match the operation's input: {e}"))
    })
}

/// Unwraps a required member, answering AWS's validation error when it is absent.
pub fn required<T>(value: Option<T>, member: &str) -> Result<T> {
    value.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

/// Pagination tokens: `prefix` followed by the hex of what the token carries. Opaque to clients; decoding refuses
/// anything this server did not issue in this form.
pub mod token {
    pub fn encode(prefix: &str, plain: &str) -> String {
        format!("{prefix}{}", crate::sigv4::hex(plain.as_bytes()))
    }

    pub fn decode(prefix: &str, token: &str) -> Option<String> {
        let hex = token.strip_prefix(prefix)?;
        if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        String::from_utf8(bytes).ok()
    }
}

/// Checks a list member against the model's maximum length.
pub fn max_len<T>(list: &[T], max: usize, member: &str) -> Result<()> {
    if list.len() > max {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shapes::CreateTrailRequest;

    #[test]
    fn input_parsing_errors() {
        let cases: &[(&[u8], Option<ErrorCode>)] = &[
            (b"", None),
            (b"{}", None),
            (b"{\"Name\":\"t\"}", None),
            (b"{\"Name\":", Some(ErrorCode::Serialization)),
            (b"[]", Some(ErrorCode::Serialization)),
            (b"{\"Name\":5}", Some(ErrorCode::Serialization)),
            (b"{\"IsMultiRegionTrail\":\"yes\"}", Some(ErrorCode::Serialization)),
            (b"{\"UnknownMember\":1}", None),
        ];
        for (body, want) in cases {
            let got = parse_input::<CreateTrailRequest>(body).err().map(|e| e.code);
            assert_eq!(got, *want, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(required::<u8>(None, "name").unwrap_err().code, ErrorCode::Validation);
    }
}
