//! ListPublicKeys: the public halves of the region's digest signing keys whose validity overlaps the asked range,
//! as AWS returns them (DER PKCS#1 RSAPublicKey, validity, hex MD5 fingerprint).

use base64::Engine;
use cairn_api::{ApiError, ErrorCode, Result};
use serde::{Deserialize, Serialize};

use crate::{epoch_seconds, App, Ctx};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListPublicKeysRequest {
    /// Seconds since the epoch.
    start_time: Option<f64>,
    end_time: Option<f64>,
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PublicKeyShape {
    value: String,
    validity_start_time: f64,
    validity_end_time: f64,
    fingerprint: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListPublicKeysResponse {
    public_key_list: Vec<PublicKeyShape>,
}

pub(crate) fn list_public_keys(app: &App, ctx: &Ctx, req: ListPublicKeysRequest) -> Result<ListPublicKeysResponse> {
    if req.next_token.as_deref().is_some_and(|t| !t.is_empty()) {
        // Every key fits one answer: no token was ever issued.
        return Err(ApiError::new(ErrorCode::InvalidToken, "the NextToken was not issued by this API"));
    }
    let now = app.clock.now_millis();
    let millis = |s: f64| (s * 1000.0).round() as i64;
    let start = req.start_time.map_or(now, millis);
    let end = req.end_time.map_or(now, millis);
    if start > end {
        return Err(ApiError::new(ErrorCode::InvalidTimeRange, "StartTime is after EndTime"));
    }
    // The region's first key is created on first use, so there is always one to validate with.
    app.signing_keys.current(&ctx.region, now).map_err(|e| {
        tracing::error!(error = %e, "cannot create a digest signing key");
        ApiError::internal("the region's signing key could not be created")
    })?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut keys: Vec<PublicKeyShape> = app
        .signing_keys
        .public_keys(&ctx.region, start, end)
        .into_iter()
        .map(|k| PublicKeyShape {
            value: b64.encode(&k.der),
            validity_start_time: epoch_seconds(k.valid_from_ms),
            validity_end_time: epoch_seconds(k.valid_to_ms),
            fingerprint: k.fingerprint,
        })
        .collect();
    keys.reverse();
    Ok(ListPublicKeysResponse { public_key_list: keys })
}
