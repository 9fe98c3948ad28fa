//! The KMS keys of encrypted event data stores. A store created (or updated) with `KmsKeyId` gets one data key:
//! `cloudtrail.amazonaws.com` generates it under the KMS key for the store (encryption context
//! `aws:cloudtrail:arn` = the store's ARN), the caller must be able to decrypt it through CloudTrail (as AWS asks of
//! whoever encrypts a store or queries one), and its encrypted copy is kept with the store. The plaintext lives only
//! in the Lake's memory ([`cairn_store::lake::crypt`]).
//!
//! The key is checked where AWS's documentation says a disabled key, a key pending deletion or a key policy without
//! CloudTrail's permissions stops things: before every flush CloudTrail decrypts the data key again (unrecorded,
//! as a service reusing a cached data key), and while it cannot, the store's events are dropped rather than
//! written in clear; every query, every GetQueryResults and every import decrypts it for the caller (recorded as
//! the caller's KMS Decrypt, invoked by CloudTrail), reads with the key it got, and refusals are
//! `InsufficientEncryptionPolicyException`.

use base64::Engine;
use cairn_api::{ApiError, ErrorCode, Result};
use cairn_kms::{Call, EncryptionContext};
use cairn_model::EventDataStore;
use cairn_policy::{Caller, RequestFacts};
use cairn_store::lake::{DataKey, StoreKey};
use std::collections::HashMap;

use crate::{App, Ctx};

/// The encryption context of a store's data key.
fn context(store_arn: &str) -> EncryptionContext {
    [("aws:cloudtrail:arn".to_string(), store_arn.to_string())].into()
}

/// CloudTrail itself, acting for the store.
fn cloudtrail(app: &App, store: &EventDataStore) -> RequestFacts {
    RequestFacts {
        caller: Caller::Service {
            name: cairn_s3::access::CLOUDTRAIL.to_string(),
            source_arn: store.arn(),
            source_account: store.account_id.clone(),
        },
        source_ip: None,
        secure_transport: true,
        now: crate::now(app.clock.now_millis()),
    }
}

/// How a caller's use of a key through CloudTrail names the service (`kms:ViaService`).
fn via(region: &str) -> String {
    format!("cloudtrail.{region}.amazonaws.com")
}

fn decode(blob: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|_| ApiError::internal("an event data store's encrypted data key is damaged"))
}

/// CloudTrail's answer when KMS refuses `key` for a store being created or updated.
fn refusal(key: &str, e: ApiError) -> ApiError {
    match e.code {
        ErrorCode::KmsNotFound => ApiError::new(
            ErrorCode::KmsKeyNotFound,
            format!("KMS key {key} does not exist or is not in the event data store's Region"),
        ),
        ErrorCode::KmsInvalidArn => {
            ApiError::new(ErrorCode::InvalidKmsKeyId, format!("KMS key id {key:?} is not valid"))
        }
        ErrorCode::KmsDisabled => ApiError::new(ErrorCode::Kms, format!("KMS key {key} is disabled")),
        ErrorCode::KmsInvalidState => ApiError::new(ErrorCode::Kms, format!("KMS key {key} is pending deletion")),
        ErrorCode::AccessDenied => ApiError::new(
            ErrorCode::InsufficientEncryptionPolicy,
            format!("Insufficient permissions to use KMS key {key} to encrypt the event data store: {}", e.message),
        ),
        _ => ApiError::new(ErrorCode::Kms, format!("KMS refused key {key}: {}", e.message)),
    }
}

/// Makes the data key of `store` under `key_ref` for the caller: the encrypted copy to keep with the store and the
/// key itself. KMS's refusals come back as CloudTrail's errors for CreateEventDataStore and UpdateEventDataStore.
pub(crate) fn issue(app: &App, ctx: &Ctx, store: &EventDataStore, key_ref: &str) -> Result<(String, DataKey)> {
    let context = context(&store.arn());
    let facts = cloudtrail(app, store);
    let call = Call { facts: &facts, region: &store.region, via_service: None };
    let made = app.kms.generate_data_key(&call, key_ref, &context).map_err(|e| refusal(key_ref, e))?;
    // Whoever encrypts a store must be able to read it too.
    caller_decrypt(app, ctx, store, &made.blob).map_err(|e| refusal(key_ref, e))?;
    let key = DataKey::new(&made.plaintext).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((base64::engine::general_purpose::STANDARD.encode(&made.blob), key))
}

/// The data key of an encrypted store as CloudTrail can use it now; `None` while KMS refuses it.
fn held(app: &App, store: &EventDataStore, blob: &str) -> Option<DataKey> {
    let facts = cloudtrail(app, store);
    let call = Call { facts: &facts, region: &store.region, via_service: None };
    match decode(blob).and_then(|b| app.kms.decrypt_held(&call, &b, &context(&store.arn()))) {
        Ok((_, plain)) => DataKey::new(&plain).ok(),
        Err(e) => {
            // Said once, when the key stops working, not at every flush after.
            if app.lake.data_key(&store.id).is_some() {
                tracing::warn!(store = store.id, error = %e, "the event data store's KMS key cannot be used; its events are dropped until it can");
            }
            None
        }
    }
}

/// Gives the Lake the data key of every encrypted store as CloudTrail can use it now, or marks it unavailable (its
/// events are then dropped at flush). Runs at start and, under [`App::lake_keys`], at every tick of the flusher and
/// before every flush.
pub(crate) fn refresh(app: &App) {
    let sealed: Vec<EventDataStore> =
        app.catalog.read(|s| s.stores().filter(|d| d.data_key.is_some()).cloned().collect());
    for store in sealed {
        let Some(blob) = &store.data_key else { continue };
        let key = match held(app, &store, blob) {
            Some(k) => StoreKey::Keyed(k),
            None => StoreKey::Unavailable,
        };
        app.lake.set_key(&store.id, key);
    }
}

/// Decrypts the data key of each encrypted store in `stores` for the caller, through CloudTrail (a recorded KMS
/// Decrypt each), as querying, reading results of or importing into such a store needs; the keys by store id, for
/// the caller's use only (what CloudTrail itself may write is [`refresh`]'s). A refusal is
/// `InsufficientEncryptionPolicyException`.
pub(crate) fn for_caller(app: &App, ctx: &Ctx, stores: &[EventDataStore]) -> Result<HashMap<String, DataKey>> {
    let mut keys = HashMap::new();
    for store in stores {
        let Some(blob) = &store.data_key else { continue };
        let key = store.kms_key_id.as_deref().unwrap_or("");
        let plain = caller_decrypt(app, ctx, store, &decode(blob)?).map_err(|e| {
            ApiError::new(
                ErrorCode::InsufficientEncryptionPolicy,
                format!(
                    "event data store {} is encrypted with KMS key {key}, which cannot be used: {}",
                    store.arn(),
                    e.message
                ),
            )
        })?;
        keys.insert(store.id.clone(), DataKey::new(&plain).map_err(|e| ApiError::internal(e.to_string()))?);
    }
    Ok(keys)
}

/// The store's data key decrypted from `blob` for the caller through CloudTrail (a recorded KMS Decrypt); KMS's
/// refusal as KMS gives it.
fn caller_decrypt(app: &App, ctx: &Ctx, store: &EventDataStore, blob: &[u8]) -> Result<Vec<u8>> {
    let caller = crate::kms::facts(app, ctx, None);
    let via = via(&store.region);
    let call = Call { facts: &caller, region: &store.region, via_service: Some(&via) };
    app.kms.decrypt_for(&call, blob, &context(&store.arn())).map(|(_, plain)| plain)
}

/// Runs `f` (a catalog change of a store's key) and then gives the Lake the store's new key, with no flush between.
pub(crate) fn changing<T>(app: &App, f: impl FnOnce() -> Result<T>, then: impl FnOnce(&T)) -> Result<T> {
    let _gate = app.lake_keys.lock().unwrap_or_else(|e| e.into_inner());
    let done = f()?;
    then(&done);
    Ok(done)
}

/// The stores of `arns` as they are now (those still known).
pub(crate) fn stores_of(app: &App, arns: &[String]) -> Vec<EventDataStore> {
    app.catalog.read(|s| s.stores().filter(|d| arns.contains(&d.arn())).cloned().collect())
}
