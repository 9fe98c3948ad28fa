//! cairn's KMS: symmetric encryption keys of each account and region, with key policies, aliases, tags, enabling,
//! disabling and scheduled deletion, and the cryptographic operations (`Encrypt`, `Decrypt`, `GenerateDataKey`,
//! `ReEncrypt` ...) that AWS's SDKs and CLI call through the AWS JSON 1.1 protocol ([`Kms::call`]). Other parts of
//! cairn use the same keys in process ([`Kms::generate_data_key`], [`Kms::decrypt`]) as AWS services do, through
//! the same key policies: CloudTrail encrypting log files, S3 decrypting them for a reader.

pub mod api;
pub mod crypto;
#[doc(hidden)]
pub mod fuzz;
mod keystore;
pub mod operation;
pub mod policy;

use std::path::Path;

use cairn_api::{ApiError, ErrorCode};
use cairn_policy::{Caller, Decision, RequestFacts};

pub use crypto::EncryptionContext;
pub use keystore::{Alias, Key, KeyState};
pub use operation::Operation;

/// The keys, their aliases and tags, and the master key that wraps their material.
pub struct Kms {
    store: keystore::KeyStore,
    master: crypto::Master,
    observer: std::sync::OnceLock<Observer>,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms").field("store", &self.store).finish_non_exhaustive()
    }
}

/// A use of a key that another part of cairn made for a caller, in process (CloudTrail generating a log file's data
/// key, S3 decrypting an object for its reader): AWS records these as KMS calls, so the server records them too.
#[derive(Debug)]
pub struct KeyUse<'a> {
    pub operation: Operation,
    pub call: &'a Call<'a>,
    /// The key's ARN, once it was found.
    pub key_arn: Option<String>,
    pub context: &'a EncryptionContext,
    pub error: Option<&'a ApiError>,
}

/// Told of every in-process [`KeyUse`].
pub type Observer = std::sync::Arc<dyn Fn(&KeyUse<'_>) + Send + Sync>;

/// A data key: its plaintext for the caller to encrypt with, and the same key encrypted under the KMS key.
pub struct DataKey {
    pub key_arn: String,
    pub plaintext: Vec<u8>,
    pub blob: Vec<u8>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the plaintext, whatever logs a data key.
        f.debug_struct("DataKey").field("key_arn", &self.key_arn).field("blob_bytes", &self.blob.len()).finish()
    }
}

/// Who calls, in which region: the account and region that bare key ids and aliases resolve in.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub facts: &'a RequestFacts,
    pub region: &'a str,
    /// The service making the call for the caller (`s3.us-east-1.amazonaws.com`), for `kms:ViaService`.
    pub via_service: Option<&'a str>,
}

impl Call<'_> {
    /// The account whose keys a bare key id or alias names: the caller's, or the one a service acts for.
    pub fn account(&self) -> &str {
        match &self.facts.caller {
            Caller::Account { account, .. } => account,
            Caller::Service { source_account, .. } => source_account,
            Caller::Anonymous => "",
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.facts.now.unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// How a call may name a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    /// Key id or key ARN of the caller's account.
    OwnKey,
    /// Key id, key ARN, alias name or alias ARN; ARNs may name another account's key.
    Any,
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "KMS key store failure");
    ApiError::new(ErrorCode::KmsInternal, "an internal error occurred; the request changed nothing")
}

/// KMS's answer to a ciphertext that is not one, or not for this key, context or region.
pub(crate) fn invalid_ciphertext() -> ApiError {
    ApiError::new(
        ErrorCode::KmsInvalidCiphertext,
        "The ciphertext is invalid, or was not encrypted under the encryption context given.",
    )
}

fn not_found_key(arn: &str) -> ApiError {
    ApiError::new(ErrorCode::KmsNotFound, format!("Key '{arn}' does not exist"))
}

impl Kms {
    /// Opens (creating) the key store in `dir`: `keys.sqlite` and the master key file `master.key`.
    pub fn open(dir: &Path) -> std::io::Result<Kms> {
        std::fs::create_dir_all(dir)?;
        let master = crypto::Master::load_or_create(&dir.join("master.key"))?;
        let store = keystore::KeyStore::open(&dir.join("keys.sqlite")).map_err(std::io::Error::other)?;
        Ok(Kms { store, master, observer: std::sync::OnceLock::new() })
    }

    pub(crate) fn store(&self) -> &keystore::KeyStore {
        &self.store
    }

    pub(crate) fn master(&self) -> &crypto::Master {
        &self.master
    }

    /// Deletes the keys whose waiting period has ended by the call's time.
    pub(crate) fn delete_due(&self, call: &Call<'_>) -> Result<(), ApiError> {
        for id in self.store.delete_due(call.now_ms()).map_err(internal)? {
            tracing::info!(key = id, "deleted a KMS key at the end of its waiting period");
        }
        Ok(())
    }

    /// The key a call names, as `naming` allows.
    pub(crate) fn resolve(&self, call: &Call<'_>, key_ref: &str, naming: Naming) -> Result<Key, ApiError> {
        self.delete_due(call)?;
        let (account, region) = (call.account(), call.region);
        if key_ref.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Validation,
                "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        let (key_account, key_region, resource) = match key_ref.strip_prefix("arn:") {
            Some(_) => {
                let parts: Vec<&str> = key_ref.splitn(6, ':').collect();
                if parts.len() != 6 || parts[1] != "aws" || parts[2] != "kms" || parts[3].is_empty() {
                    return Err(ApiError::new(ErrorCode::KmsInvalidArn, format!("Invalid arn {key_ref}")));
                }
                (parts[4], parts[3], parts[5])
            }
            None => (account, region, key_ref),
        };
        let foreign = key_account != account;
        if foreign && naming == Naming::OwnKey {
            return Err(not_found_key(key_ref));
        }
        let key_id = if let Some(alias) = resource.strip_prefix("alias/") {
            if naming == Naming::OwnKey {
                return Err(not_found_key(key_ref));
            }
            let name = format!("alias/{alias}");
            let found = self.store.alias(key_account, key_region, &name).map_err(internal)?;
            match found {
                Some(a) => a.key_id,
                None => {
                    return Err(ApiError::new(
                        ErrorCode::KmsNotFound,
                        format!("Alias arn:aws:kms:{key_region}:{key_account}:{name} is not found."),
                    ))
                }
            }
        } else {
            resource.strip_prefix("key/").unwrap_or(resource).to_string()
        };
        let arn = format!("arn:aws:kms:{key_region}:{key_account}:key/{key_id}");
        match self.store.key(&key_id).map_err(internal)? {
            Some(k) if k.account == key_account && k.region == key_region => Ok(k),
            _ => Err(not_found_key(&arn)),
        }
    }

    /// Checks that the key policy allows `kms:<action>` for the call; `context` is the call's encryption context.
    pub(crate) fn authorize(
        &self,
        call: &Call<'_>,
        key: &Key,
        action: &str,
        context: &EncryptionContext,
    ) -> Result<(), ApiError> {
        let mut extra: Vec<(String, String)> =
            context.iter().map(|(k, v)| (format!("kms:EncryptionContext:{k}"), v.clone())).collect();
        if let Some(via) = call.via_service {
            extra.push(("kms:ViaService".into(), via.into()));
        }
        match policy::allows(&key.policy, call.facts, action, &key.arn(), &extra) {
            Decision::Allow => Ok(()),
            d => Err(policy::denied(call.facts, action, &key.arn(), d)),
        }
    }

    /// The key's material, for a key whose state allows cryptography.
    pub(crate) fn usable_material(&self, key: &Key) -> Result<Vec<u8>, ApiError> {
        match key.state {
            KeyState::Enabled => {}
            KeyState::Disabled => {
                return Err(ApiError::new(ErrorCode::KmsDisabled, format!("{} is disabled.", key.arn())))
            }
            KeyState::PendingDeletion => return Err(api::pending_deletion(key)),
        }
        self.master.unwrap(&key.id, &key.wrapped).ok_or_else(|| internal(format!("key {} does not unwrap", key.id)))
    }

    /// Sets the observer of in-process key uses (once; later calls are ignored).
    pub fn observe(&self, observer: Observer) {
        let _ = self.observer.set(observer);
    }

    fn tell(
        &self,
        operation: Operation,
        call: &Call<'_>,
        key_arn: Option<String>,
        context: &EncryptionContext,
        error: Option<&ApiError>,
    ) {
        if let Some(o) = self.observer.get() {
            o(&KeyUse { operation, call, key_arn, context, error });
        }
    }

    /// Generates a 256-bit data key under `key_ref`, as `GenerateDataKey` does for the call (authorized by the key
    /// policy with the encryption context); an in-process use, told to the observer.
    pub fn generate_data_key(
        &self,
        call: &Call<'_>,
        key_ref: &str,
        context: &EncryptionContext,
    ) -> Result<DataKey, ApiError> {
        let result = self.data_key(call, key_ref, context);
        let arn = result
            .as_ref()
            .map(|d| d.key_arn.clone())
            .ok()
            .or_else(|| key_ref.starts_with("arn:aws:kms:").then(|| key_ref.to_string()));
        self.tell(Operation::GenerateDataKey, call, arn, context, result.as_ref().err());
        result
    }

    /// Decrypts a blob for the call; an in-process use, told to the observer.
    pub fn decrypt_for(
        &self,
        call: &Call<'_>,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<(String, Vec<u8>), ApiError> {
        let result = self.decrypt(call, blob, context, None);
        let arn = match &result {
            Ok((arn, _)) => Some(arn.clone()),
            Err(_) => self.blob_key(call, blob).ok().flatten().map(|k| k.arn()),
        };
        self.tell(Operation::Decrypt, call, arn, context, result.as_ref().err());
        result
    }

    /// Decrypts a data key a service holds and keeps using, as [`Kms::decrypt_for`] does (same key state and policy)
    /// but not told to the observer: CloudTrail reopening an encrypted event data store's data key at start, or
    /// making sure before each write that the key may still be used. AWS services cache such data keys; their
    /// KMS calls are not one per use.
    pub fn decrypt_held(
        &self,
        call: &Call<'_>,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<(String, Vec<u8>), ApiError> {
        self.decrypt(call, blob, context, None)
    }

    fn data_key(&self, call: &Call<'_>, key_ref: &str, context: &EncryptionContext) -> Result<DataKey, ApiError> {
        let key = self.resolve(call, key_ref, Naming::Any)?;
        self.authorize(call, &key, "GenerateDataKey", context)?;
        let material = self.usable_material(&key)?;
        let plaintext = crypto::random(crypto::KEY_BYTES);
        let blob = crypto::encrypt_blob(&key.id, &material, context, &plaintext);
        Ok(DataKey { key_arn: key.arn(), plaintext, blob })
    }

    /// Decrypts a blob, as `Decrypt` does for the call; returns the key's ARN and the plaintext.
    pub(crate) fn decrypt(
        &self,
        call: &Call<'_>,
        blob: &[u8],
        context: &EncryptionContext,
        expected_key: Option<&str>,
    ) -> Result<(String, Vec<u8>), ApiError> {
        let invalid = invalid_ciphertext;
        let key = self.blob_key(call, blob)?.ok_or_else(invalid)?;
        if let Some(expected) = expected_key {
            let named = self.resolve(call, expected, Naming::Any)?;
            if named.id != key.id {
                return Err(ApiError::new(
                    ErrorCode::KmsIncorrectKey,
                    "The key ID in the request does not identify a CMK that can perform this operation.",
                ));
            }
        }
        self.authorize(call, &key, "Decrypt", context)?;
        let material = self.usable_material(&key)?;
        let plain = crypto::decrypt_blob(&material, context, blob).ok_or_else(invalid)?;
        Ok((key.arn(), plain))
    }

    /// The key a ciphertext blob names, if it exists in the call's region (a ciphertext is decrypted in its key's
    /// region, as in AWS).
    pub(crate) fn blob_key(&self, call: &Call<'_>, blob: &[u8]) -> Result<Option<Key>, ApiError> {
        let Some(id) = crypto::blob_key_id(blob) else { return Ok(None) };
        self.delete_due(call)?;
        Ok(self.store.key(id).map_err(internal)?.filter(|k| k.region == call.region))
    }

    /// The metadata of a key, as `DescribeKey` would answer the call.
    pub fn describe(&self, call: &Call<'_>, key_ref: &str) -> Result<Key, ApiError> {
        let key = self.resolve(call, key_ref, Naming::Any)?;
        self.authorize(call, &key, "DescribeKey", &EncryptionContext::new())?;
        Ok(key)
    }

    /// The key ARN an alias ARN of `owner` (`arn:aws:kms:<region>:<owner>:alias/<name>`) points at now; None for
    /// anything else, and for other accounts' aliases (whose targets are theirs to know). A lookup of names, as a
    /// service resolving its customer's alias before storing it does; no key is used.
    pub fn alias_target(&self, owner: &str, alias_arn: &str) -> Option<String> {
        let parts: Vec<&str> = alias_arn.splitn(6, ':').collect();
        let (region, account, name) = match parts.as_slice() {
            ["arn", "aws", "kms", region, account, name] if name.starts_with("alias/") && *account == owner => {
                (*region, *account, *name)
            }
            _ => return None,
        };
        let alias = self.store.alias(account, region, name).ok()??;
        Some(format!("arn:aws:kms:{region}:{account}:key/{}", alias.key_id))
    }

    /// Answers one AWS JSON 1.1 call of the KMS API.
    pub fn call(&self, call: &Call<'_>, op: Operation, body: &[u8]) -> Result<Vec<u8>, ApiError> {
        api::dispatch(self, call, op, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(at_ms: i64) -> RequestFacts {
        RequestFacts {
            caller: Caller::Account {
                account: "111111111111".into(),
                arn: "arn:aws:iam::111111111111:root".into(),
                organization: None,
            },
            source_ip: None,
            secure_transport: true,
            now: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000).unwrap(),
        }
    }

    fn json(kms: &Kms, at_ms: i64, op: Operation, body: serde_json::Value) -> Result<serde_json::Value, ApiError> {
        let f = facts(at_ms);
        let call = Call { facts: &f, region: "us-east-1", via_service: None };
        kms.call(&call, op, body.to_string().as_bytes()).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn a_key_is_deleted_when_its_waiting_period_ends_by_the_clock() {
        let dir = std::env::temp_dir().join(format!("cairn-kms-{}", uuid::Uuid::new_v4()));
        let kms = Kms::open(&dir).unwrap();
        let t0 = 1_800_000_000_000;
        let key = json(&kms, t0, Operation::CreateKey, serde_json::json!({})).unwrap()["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string();
        json(&kms, t0, Operation::CreateAlias, serde_json::json!({"AliasName": "alias/k", "TargetKeyId": key}))
            .unwrap();
        let blob = json(&kms, t0, Operation::Encrypt, serde_json::json!({"KeyId": key, "Plaintext": "aGVsbG8="}))
            .unwrap()["CiphertextBlob"]
            .clone();
        let day = 86_400_000;
        let s =
            json(&kms, t0, Operation::ScheduleKeyDeletion, serde_json::json!({"KeyId": key, "PendingWindowInDays": 7}))
                .unwrap();
        assert_eq!(s["DeletionDate"].as_f64().unwrap(), ((t0 + 7 * day) / 1000) as f64);
        let before = json(&kms, t0 + 7 * day - 1, Operation::DescribeKey, serde_json::json!({"KeyId": key})).unwrap();
        assert_eq!(before["KeyMetadata"]["KeyState"], "PendingDeletion");
        let after = json(&kms, t0 + 7 * day, Operation::DescribeKey, serde_json::json!({"KeyId": key})).unwrap_err();
        assert_eq!(after.code, ErrorCode::KmsNotFound);
        let aliases = json(&kms, t0 + 7 * day, Operation::ListAliases, serde_json::json!({})).unwrap();
        assert_eq!(aliases["Aliases"], serde_json::json!([]), "the key's aliases go with it");
        let gone =
            json(&kms, t0 + 7 * day, Operation::Decrypt, serde_json::json!({"CiphertextBlob": blob})).unwrap_err();
        assert_eq!(gone.code, ErrorCode::KmsInvalidCiphertext, "what the key encrypted is unrecoverable");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
