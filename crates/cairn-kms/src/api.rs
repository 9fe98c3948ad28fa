//! The KMS API over AWS JSON 1.1: each operation's input, checks, effect and output, with KMS's limits and errors.

use std::collections::BTreeMap;

use base64::Engine;
use cairn_api::{parse_input, required, ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::crypto::{self, EncryptionContext};
use crate::keystore::{Alias, Key, KeyState};
use crate::{internal, policy, Call, Kms, Naming, Operation};

type Result<T, E = ApiError> = std::result::Result<T, E>;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";
const MAX_TAGS: usize = 50;

fn validation(member: &str, value: impl std::fmt::Display, constraint: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ),
    )
}

fn unsupported(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::UnsupportedOperation, message)
}

/// A blob member: base64 in the JSON protocol, with the model's length bounds.
fn blob(value: Option<String>, member: &str, max: usize) -> Result<Vec<u8>> {
    let text = required(value, member)?;
    let bytes = B64.decode(text.as_bytes()).map_err(|_| {
        ApiError::new(ErrorCode::Serialization, format!("'{member}' is not valid base64-encoded binary data"))
    })?;
    if bytes.is_empty() {
        return Err(validation(member, "", "Member must have length greater than or equal to 1"));
    }
    if bytes.len() > max {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"),
        ));
    }
    Ok(bytes)
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn out(v: Value) -> Result<Vec<u8>> {
    serde_json::to_vec(&v).map_err(internal)
}

fn context(c: Option<BTreeMap<String, String>>) -> EncryptionContext {
    c.unwrap_or_default()
}

fn check_algorithm(algorithm: Option<&str>) -> Result<()> {
    match algorithm {
        None | Some(SYMMETRIC_DEFAULT) => Ok(()),
        Some(a @ ("RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256" | "SM2PKE")) => Err(ApiError::new(
            ErrorCode::KmsInvalidKeyUsage,
            format!("{a} is not a valid encryption algorithm for a symmetric key"),
        )),
        Some(a) => Err(validation(
            "encryptionAlgorithm",
            a,
            "Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]",
        )),
    }
}

fn dry_run(dry: Option<bool>) -> Result<()> {
    if dry == Some(true) {
        return Err(ApiError::new(
            ErrorCode::KmsDryRunOperation,
            "The request would have succeeded, but the DryRun option is set.",
        ));
    }
    Ok(())
}

/// A page limit with the model's bounds.
fn limit(value: Option<i64>, max: i64, default: usize) -> Result<usize> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) if n < 1 => Err(validation("limit", n, "Member must have value greater than or equal to 1")),
        Some(n) => Err(validation("limit", n, &format!("Member must have value less than or equal to {max}"))),
    }
}

const MARKER: &str = "cairn-kms-";

fn marker(m: Option<&str>) -> Result<String> {
    match m {
        None => Ok(String::new()),
        Some(m) => cairn_api::token::decode(MARKER, m).ok_or_else(|| {
            ApiError::new(
                ErrorCode::KmsInvalidMarker,
                "The marker that specifies where pagination should next begin is not valid.",
            )
        }),
    }
}

/// One page: the items, and `NextMarker`/`Truncated` as KMS answers them.
fn page<T>(mut items: Vec<T>, limit: usize, last: impl Fn(&T) -> String) -> (Vec<T>, Value, bool) {
    let truncated = items.len() > limit;
    items.truncate(limit);
    let next = match (truncated, items.last()) {
        (true, Some(l)) => json!(cairn_api::token::encode(MARKER, &last(l))),
        _ => Value::Null,
    };
    (items, next, truncated)
}

fn with_marker(mut v: Value, next: Value, truncated: bool) -> Value {
    v["Truncated"] = json!(truncated);
    if !next.is_null() {
        v["NextMarker"] = next;
    }
    v
}

fn metadata(k: &Key) -> Value {
    let mut m = json!({
        "AWSAccountId": k.account,
        "KeyId": k.id,
        "Arn": k.arn(),
        "CreationDate": seconds(k.created_ms),
        "Enabled": k.state == KeyState::Enabled,
        "Description": k.description,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": k.state.name(),
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": SYMMETRIC_DEFAULT,
        "KeySpec": SYMMETRIC_DEFAULT,
        "EncryptionAlgorithms": [SYMMETRIC_DEFAULT],
        "MultiRegion": false,
    });
    if let (Some(at), Some(days)) = (k.deletion_ms, k.pending_days) {
        m["DeletionDate"] = json!(seconds(at));
        m["PendingDeletionWindowInDays"] = json!(days);
    }
    m
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    tag_key: Option<String>,
    tag_value: Option<String>,
}

fn tags(list: Vec<Tag>) -> Result<Vec<(String, String)>> {
    list.into_iter()
        .map(|t| {
            let key = required(t.tag_key, "tags.member.tagKey")?;
            let value = required(t.tag_value, "tags.member.tagValue")?;
            if key.is_empty() || key.chars().count() > 128 {
                return Err(ApiError::new(ErrorCode::KmsTag, format!("Tag key '{key}' must be 1 to 128 characters")));
            }
            if value.chars().count() > 256 {
                return Err(ApiError::new(
                    ErrorCode::KmsTag,
                    format!("The value of tag '{key}' exceeds 256 characters"),
                ));
            }
            if key.starts_with("aws:") {
                return Err(ApiError::new(ErrorCode::KmsTag, "Tags beginning with aws: are reserved"));
            }
            Ok((key, value))
        })
        .collect()
}

pub(crate) fn pending_deletion(key: &Key) -> ApiError {
    ApiError::new(ErrorCode::KmsInvalidState, format!("{} is pending deletion.", key.arn()))
}

fn check_alias_name(name: &str) -> Result<()> {
    let pattern_ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
    if name.is_empty() || name.len() > 256 || !pattern_ok {
        return Err(validation(
            "aliasName",
            name,
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        ));
    }
    if !name.starts_with("alias/") || name.len() == "alias/".len() {
        return Err(ApiError::new(ErrorCode::KmsInvalidAliasName, "Alias must start with the prefix \"alias/\"."));
    }
    if name.starts_with("alias/aws/") {
        return Err(ApiError::new(
            ErrorCode::KmsInvalidAliasName,
            "Alias names that begin with \"alias/aws/\" are reserved for AWS managed keys.",
        ));
    }
    Ok(())
}

pub(crate) fn dispatch(kms: &Kms, call: &Call<'_>, op: Operation, body: &[u8]) -> Result<Vec<u8>> {
    use Operation as Op;
    match op {
        Op::CreateKey => create_key(kms, call, parse_input(body)?),
        Op::DescribeKey => {
            let i: KeyInput = parse_input(body)?;
            let key = kms.describe(call, &required(i.key_id, "keyId")?)?;
            out(json!({ "KeyMetadata": metadata(&key) }))
        }
        Op::ListKeys => list_keys(kms, call, parse_input(body)?),
        Op::EnableKey | Op::DisableKey => set_enabled(kms, call, parse_input(body)?, op == Op::EnableKey),
        Op::ScheduleKeyDeletion => schedule_deletion(kms, call, parse_input(body)?),
        Op::CancelKeyDeletion => cancel_deletion(kms, call, parse_input(body)?),
        Op::GetKeyPolicy => get_policy(kms, call, parse_input(body)?),
        Op::PutKeyPolicy => put_policy(kms, call, parse_input(body)?),
        Op::ListKeyPolicies => {
            let i: ListInput = parse_input(body)?;
            limit(i.limit, 1000, 100)?;
            let key = kms.resolve(call, &required(i.key_id, "keyId")?, Naming::OwnKey)?;
            kms.authorize(call, &key, "ListKeyPolicies", &EncryptionContext::new())?;
            out(json!({ "PolicyNames": ["default"], "Truncated": false }))
        }
        Op::CreateAlias => create_alias(kms, call, parse_input(body)?),
        Op::UpdateAlias => update_alias(kms, call, parse_input(body)?),
        Op::DeleteAlias => delete_alias(kms, call, parse_input(body)?),
        Op::ListAliases => list_aliases(kms, call, parse_input(body)?),
        Op::Encrypt => encrypt(kms, call, parse_input(body)?),
        Op::Decrypt => decrypt(kms, call, parse_input(body)?),
        Op::GenerateDataKey => generate_data_key(kms, call, parse_input(body)?, true),
        Op::GenerateDataKeyWithoutPlaintext => generate_data_key(kms, call, parse_input(body)?, false),
        Op::ReEncrypt => re_encrypt(kms, call, parse_input(body)?),
        Op::TagResource => tag_resource(kms, call, parse_input(body)?),
        Op::UntagResource => untag_resource(kms, call, parse_input(body)?),
        Op::ListResourceTags => list_tags(kms, call, parse_input(body)?),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateKeyInput {
    policy: Option<String>,
    description: Option<String>,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
    tags: Option<Vec<Tag>>,
    multi_region: Option<bool>,
    xks_key_id: Option<String>,
}

fn create_key(kms: &Kms, call: &Call<'_>, i: CreateKeyInput) -> Result<Vec<u8>> {
    match i.key_usage.as_deref() {
        None | Some("ENCRYPT_DECRYPT") => {}
        Some(u @ ("SIGN_VERIFY" | "GENERATE_VERIFY_MAC" | "KEY_AGREEMENT")) => {
            return Err(unsupported(format!(
                "KeyUsage {u} is not supported by cairn: its keys are symmetric encryption keys"
            )))
        }
        Some(u) => return Err(validation(
            "keyUsage",
            u,
            "Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT]",
        )),
    }
    for spec in [i.key_spec.as_deref(), i.customer_master_key_spec.as_deref()].into_iter().flatten() {
        if spec != SYMMETRIC_DEFAULT {
            return Err(unsupported(format!(
                "KeySpec {spec} is not supported by cairn: its keys are SYMMETRIC_DEFAULT"
            )));
        }
    }
    if i.key_spec.is_some() && i.customer_master_key_spec.is_some() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec only.",
        ));
    }
    match i.origin.as_deref() {
        None | Some("AWS_KMS") => {}
        Some(o) => {
            return Err(unsupported(format!(
                "Origin {o} is not supported by cairn: key material is generated by cairn"
            )))
        }
    }
    if i.custom_key_store_id.is_some() || i.xks_key_id.is_some() {
        return Err(unsupported("cairn has no custom key stores"));
    }
    if i.multi_region == Some(true) {
        return Err(unsupported("cairn's keys are single-Region keys"));
    }
    let description = i.description.unwrap_or_default();
    if description.chars().count() > 8192 {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192",
        ));
    }
    let tag_list = tags(i.tags.unwrap_or_default())?;
    if tag_list.len() > MAX_TAGS {
        return Err(ApiError::new(ErrorCode::KmsTag, format!("A key can have at most {MAX_TAGS} tags")));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let account = call.account().to_string();
    let arn = format!("arn:aws:kms:{}:{account}:key/{id}", call.region);
    let policy = match i.policy {
        Some(p) => {
            policy::parse(&p)?;
            if i.bypass_policy_lockout_safety_check != Some(true) {
                policy::check_lockout(&p, call.facts, &arn)?;
            }
            p
        }
        None => policy::default_policy(&account),
    };
    let material = crypto::random(crypto::KEY_BYTES);
    let key = Key {
        wrapped: kms.master().wrap(&id, &material),
        id,
        account,
        region: call.region.to_string(),
        description,
        state: KeyState::Enabled,
        created_ms: call.now_ms(),
        deletion_ms: None,
        pending_days: None,
        policy,
    };
    kms.store().insert(&key, &tag_list).map_err(internal)?;
    out(json!({ "KeyMetadata": metadata(&key) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyInput {
    key_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInput {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

fn list_keys(kms: &Kms, call: &Call<'_>, i: ListInput) -> Result<Vec<u8>> {
    let limit = limit(i.limit, 1000, 100)?;
    let after = marker(i.marker.as_deref())?;
    kms.delete_due(call)?;
    let keys = kms.store().keys(call.account(), call.region, &after, limit + 1).map_err(internal)?;
    let (keys, next, truncated) = page(keys, limit, |k| k.id.clone());
    let list: Vec<Value> = keys.iter().map(|k| json!({ "KeyId": k.id, "KeyArn": k.arn() })).collect();
    out(with_marker(json!({ "Keys": list }), next, truncated))
}

fn set_enabled(kms: &Kms, call: &Call<'_>, i: KeyInput, enable: bool) -> Result<Vec<u8>> {
    let key = kms.resolve(call, &required(i.key_id, "keyId")?, Naming::OwnKey)?;
    kms.authorize(call, &key, if enable { "EnableKey" } else { "DisableKey" }, &EncryptionContext::new())?;
    if key.state == KeyState::PendingDeletion {
        return Err(pending_deletion(&key));
    }
    let state = if enable { KeyState::Enabled } else { KeyState::Disabled };
    let from = [KeyState::Enabled, KeyState::Disabled];
    if !kms.store().set_state(&key.id, &from, state, None).map_err(internal)? {
        return Err(pending_deletion(&key));
    }
    out(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleInput {
    key_id: Option<String>,
    pending_window_in_days: Option<i64>,
}

fn schedule_deletion(kms: &Kms, call: &Call<'_>, i: ScheduleInput) -> Result<Vec<u8>> {
    let days = i.pending_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        let bound = if days < 7 { "greater than or equal to 7" } else { "less than or equal to 30" };
        return Err(validation("pendingWindowInDays", days, &format!("Member must have value {bound}")));
    }
    let key = kms.resolve(call, &required(i.key_id, "keyId")?, Naming::OwnKey)?;
    kms.authorize(call, &key, "ScheduleKeyDeletion", &EncryptionContext::new())?;
    if key.state == KeyState::PendingDeletion {
        return Err(pending_deletion(&key));
    }
    let at = call.now_ms() + days * 86_400_000;
    let from = [KeyState::Enabled, KeyState::Disabled];
    if !kms.store().set_state(&key.id, &from, KeyState::PendingDeletion, Some((at, days as u32))).map_err(internal)? {
        return Err(pending_deletion(&key));
    }
    out(json!({
        "KeyId": key.arn(),
        "DeletionDate": seconds(at),
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": days,
    }))
}

fn cancel_deletion(kms: &Kms, call: &Call<'_>, i: KeyInput) -> Result<Vec<u8>> {
    let key = kms.resolve(call, &required(i.key_id, "keyId")?, Naming::OwnKey)?;
    kms.authorize(call, &key, "CancelKeyDeletion", &EncryptionContext::new())?;
    if key.state != KeyState::PendingDeletion {
        return Err(ApiError::new(ErrorCode::KmsInvalidState, format!("{} is not pending deletion.", key.arn())));
    }
    // A key whose deletion is cancelled comes back disabled, as in AWS.
    if !kms.store().set_state(&key.id, &[KeyState::PendingDeletion], KeyState::Disabled, None).map_err(internal)? {
        return Err(ApiError::new(ErrorCode::KmsInvalidState, format!("{} is not pending deletion.", key.arn())));
    }
    out(json!({ "KeyId": key.arn() }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyInput {
    key_id: Option<String>,
    policy_name: Option<String>,
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
}

fn policy_name(name: Option<String>) -> Result<()> {
    match name.as_deref() {
        None | Some("default") => Ok(()),
        Some(other) => Err(ApiError::new(ErrorCode::KmsNotFound, format!("No such policy exists: {other}"))),
    }
}

fn get_policy(kms: &Kms, call: &Call<'_>, i: PolicyInput) -> Result<Vec<u8>> {
    let key = kms.resolve(call, &required(i.key_id, "keyId")?, Naming::OwnKey)?;
    kms.authorize(call, &key, "GetKeyPolicy", &EncryptionContext::new())?;
    policy_name(i.policy_name)?;
    out(json!({ "Policy": key.policy, "PolicyName": "default" }))
}

fn put_policy(kms: &Kms, call: &Call<'_>, i: PolicyInput) -> Result<Vec<u8>> {
    let key = kms.resolve(call, &required(i.key_id, "keyId")?, Naming::OwnKey)?;
    let text = required(i.policy, "policy")?;
    kms.authorize(call, &key, "PutKeyPolicy", &EncryptionContext::new())?;
    policy_name(i.policy_name)?;
    policy::parse(&text)?;
    if i.bypass_policy_lockout_safety_check != Some(true) {
        policy::check_lockout(&text, call.facts, &key.arn())?;
    }
    kms.store().set_policy(&key.id, &text).map_err(internal)?;
    out(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AliasInput {
    alias_name: Option<String>,
    target_key_id: Option<String>,
}

fn alias_exists(call: &Call<'_>, name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::KmsAlreadyExists,
        format!("An alias with the name arn:aws:kms:{}:{}:{name} already exists", call.region, call.account()),
    )
}

fn alias_missing(call: &Call<'_>, name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::KmsNotFound,
        format!("Alias arn:aws:kms:{}:{}:{name} is not found.", call.region, call.account()),
    )
}

/// The target of an alias: a key of the caller's account, not pending deletion, that the caller may alias.
fn alias_target(kms: &Kms, call: &Call<'_>, key_ref: &str, action: &str) -> Result<Key> {
    let key = kms.resolve(call, key_ref, Naming::OwnKey)?;
    kms.authorize(call, &key, action, &EncryptionContext::new())?;
    if key.state == KeyState::PendingDeletion {
        return Err(pending_deletion(&key));
    }
    Ok(key)
}

fn create_alias(kms: &Kms, call: &Call<'_>, i: AliasInput) -> Result<Vec<u8>> {
    let name = required(i.alias_name, "aliasName")?;
    check_alias_name(&name)?;
    let key = alias_target(kms, call, &required(i.target_key_id, "targetKeyId")?, "CreateAlias")?;
    let now = call.now_ms();
    let alias = Alias {
        account: call.account().to_string(),
        region: call.region.to_string(),
        name: name.clone(),
        key_id: key.id,
        created_ms: now,
        updated_ms: now,
    };
    if !kms.store().insert_alias(&alias).map_err(internal)? {
        return Err(alias_exists(call, &name));
    }
    out(json!({}))
}

fn update_alias(kms: &Kms, call: &Call<'_>, i: AliasInput) -> Result<Vec<u8>> {
    let name = required(i.alias_name, "aliasName")?;
    check_alias_name(&name)?;
    let current = kms.store().alias(call.account(), call.region, &name).map_err(internal)?;
    let current = current.ok_or_else(|| alias_missing(call, &name))?;
    let key = alias_target(kms, call, &required(i.target_key_id, "targetKeyId")?, "UpdateAlias")?;
    if let Some(old) = kms.store().key(&current.key_id).map_err(internal)? {
        kms.authorize(call, &old, "UpdateAlias", &EncryptionContext::new())?;
    }
    if !kms.store().retarget_alias(call.account(), call.region, &name, &key.id, call.now_ms()).map_err(internal)? {
        return Err(alias_missing(call, &name));
    }
    out(json!({}))
}

fn delete_alias(kms: &Kms, call: &Call<'_>, i: AliasInput) -> Result<Vec<u8>> {
    let name = required(i.alias_name, "aliasName")?;
    check_alias_name(&name)?;
    kms.delete_due(call)?;
    let alias = kms.store().alias(call.account(), call.region, &name).map_err(internal)?;
    let alias = alias.ok_or_else(|| alias_missing(call, &name))?;
    if let Some(key) = kms.store().key(&alias.key_id).map_err(internal)? {
        kms.authorize(call, &key, "DeleteAlias", &EncryptionContext::new())?;
    }
    kms.store().delete_alias(call.account(), call.region, &name).map_err(internal)?;
    out(json!({}))
}

fn list_aliases(kms: &Kms, call: &Call<'_>, i: ListInput) -> Result<Vec<u8>> {
    let limit = limit(i.limit, 100, 50)?;
    let after = marker(i.marker.as_deref())?;
    let key_id = match i.key_id {
        Some(k) => Some(kms.resolve(call, &k, Naming::OwnKey)?.id),
        None => {
            kms.delete_due(call)?;
            None
        }
    };
    let aliases =
        kms.store().aliases(call.account(), call.region, key_id.as_deref(), &after, limit + 1).map_err(internal)?;
    let (aliases, next, truncated) = page(aliases, limit, |a| a.name.clone());
    let list: Vec<Value> = aliases
        .iter()
        .map(|a| {
            json!({
                "AliasName": a.name,
                "AliasArn": a.arn(),
                "TargetKeyId": a.key_id,
                "CreationDate": seconds(a.created_ms),
                "LastUpdatedDate": seconds(a.updated_ms),
            })
        })
        .collect();
    out(with_marker(json!({ "Aliases": list }), next, truncated))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EncryptInput {
    key_id: Option<String>,
    plaintext: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

fn encrypt(kms: &Kms, call: &Call<'_>, i: EncryptInput) -> Result<Vec<u8>> {
    let key_ref = required(i.key_id, "keyId")?;
    let plaintext = blob(i.plaintext, "plaintext", 4096)?;
    check_algorithm(i.encryption_algorithm.as_deref())?;
    let ctx = context(i.encryption_context);
    let key = kms.resolve(call, &key_ref, Naming::Any)?;
    kms.authorize(call, &key, "Encrypt", &ctx)?;
    let material = kms.usable_material(&key)?;
    dry_run(i.dry_run)?;
    let ciphertext = crypto::encrypt_blob(&key.id, &material, &ctx, &plaintext);
    out(json!({ "CiphertextBlob": b64(&ciphertext), "KeyId": key.arn(), "EncryptionAlgorithm": SYMMETRIC_DEFAULT }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptInput {
    ciphertext_blob: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

fn decrypt(kms: &Kms, call: &Call<'_>, i: DecryptInput) -> Result<Vec<u8>> {
    let ciphertext = blob(i.ciphertext_blob, "ciphertextBlob", 6144)?;
    check_algorithm(i.encryption_algorithm.as_deref())?;
    let (arn, plaintext) = kms.decrypt(call, &ciphertext, &context(i.encryption_context), i.key_id.as_deref())?;
    dry_run(i.dry_run)?;
    out(json!({ "KeyId": arn, "Plaintext": b64(&plaintext), "EncryptionAlgorithm": SYMMETRIC_DEFAULT }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DataKeyInput {
    key_id: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    dry_run: Option<bool>,
}

fn generate_data_key(kms: &Kms, call: &Call<'_>, i: DataKeyInput, with_plaintext: bool) -> Result<Vec<u8>> {
    let key_ref = required(i.key_id, "keyId")?;
    let bytes = match (i.number_of_bytes, i.key_spec.as_deref()) {
        (Some(n), None) if (1..=1024).contains(&n) => n as usize,
        (Some(n), None) if n < 1 => {
            return Err(validation("numberOfBytes", n, "Member must have value greater than or equal to 1"))
        }
        (Some(n), None) => {
            return Err(validation("numberOfBytes", n, "Member must have value less than or equal to 1024"))
        }
        (None, Some("AES_256")) => 32,
        (None, Some("AES_128")) => 16,
        (None, Some(other)) => {
            return Err(validation("keySpec", other, "Member must satisfy enum value set: [AES_256, AES_128]"))
        }
        _ => return Err(ApiError::new(ErrorCode::Validation, "Please specify either number of bytes or key spec.")),
    };
    let ctx = context(i.encryption_context);
    let key = kms.resolve(call, &key_ref, Naming::Any)?;
    let action = if with_plaintext { "GenerateDataKey" } else { "GenerateDataKeyWithoutPlaintext" };
    kms.authorize(call, &key, action, &ctx)?;
    let material = kms.usable_material(&key)?;
    dry_run(i.dry_run)?;
    let plaintext = crypto::random(bytes);
    let ciphertext = crypto::encrypt_blob(&key.id, &material, &ctx, &plaintext);
    let mut v = json!({ "CiphertextBlob": b64(&ciphertext), "KeyId": key.arn() });
    if with_plaintext {
        v["Plaintext"] = json!(b64(&plaintext));
    }
    out(v)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReEncryptInput {
    ciphertext_blob: Option<String>,
    source_encryption_context: Option<BTreeMap<String, String>>,
    source_key_id: Option<String>,
    destination_key_id: Option<String>,
    destination_encryption_context: Option<BTreeMap<String, String>>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

fn re_encrypt(kms: &Kms, call: &Call<'_>, i: ReEncryptInput) -> Result<Vec<u8>> {
    let ciphertext = blob(i.ciphertext_blob, "ciphertextBlob", 6144)?;
    let destination = required(i.destination_key_id, "destinationKeyId")?;
    check_algorithm(i.source_encryption_algorithm.as_deref())?;
    check_algorithm(i.destination_encryption_algorithm.as_deref())?;
    let invalid = crate::invalid_ciphertext;
    let source_ctx = context(i.source_encryption_context);
    let source = kms.blob_key(call, &ciphertext)?.ok_or_else(invalid)?;
    if let Some(expected) = i.source_key_id.as_deref() {
        if kms.resolve(call, expected, Naming::Any)?.id != source.id {
            return Err(ApiError::new(
                ErrorCode::KmsIncorrectKey,
                "The key ID in the request does not identify a CMK that can perform this operation.",
            ));
        }
    }
    kms.authorize(call, &source, "ReEncryptFrom", &source_ctx)?;
    let source_material = kms.usable_material(&source)?;
    let plaintext = crypto::decrypt_blob(&source_material, &source_ctx, &ciphertext).ok_or_else(invalid)?;
    let dest_ctx = context(i.destination_encryption_context);
    let dest = kms.resolve(call, &destination, Naming::Any)?;
    kms.authorize(call, &dest, "ReEncryptTo", &dest_ctx)?;
    let dest_material = kms.usable_material(&dest)?;
    dry_run(i.dry_run)?;
    let blob = crypto::encrypt_blob(&dest.id, &dest_material, &dest_ctx, &plaintext);
    out(json!({
        "CiphertextBlob": b64(&blob),
        "SourceKeyId": source.arn(),
        "KeyId": dest.arn(),
        "SourceEncryptionAlgorithm": SYMMETRIC_DEFAULT,
        "DestinationEncryptionAlgorithm": SYMMETRIC_DEFAULT,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    key_id: Option<String>,
    tags: Option<Vec<Tag>>,
    tag_keys: Option<Vec<String>>,
}

/// The key whose tags a call changes: of the caller's account, not pending deletion.
fn taggable(kms: &Kms, call: &Call<'_>, key_ref: Option<String>, action: &str) -> Result<Key> {
    let key = kms.resolve(call, &required(key_ref, "keyId")?, Naming::OwnKey)?;
    kms.authorize(call, &key, action, &EncryptionContext::new())?;
    if key.state == KeyState::PendingDeletion {
        return Err(pending_deletion(&key));
    }
    Ok(key)
}

fn tag_resource(kms: &Kms, call: &Call<'_>, i: TagInput) -> Result<Vec<u8>> {
    let new = tags(required(i.tags, "tags")?)?;
    let key = taggable(kms, call, i.key_id, "TagResource")?;
    let mut all: BTreeMap<String, String> = kms.store().tags(&key.id).map_err(internal)?.into_iter().collect();
    all.extend(new);
    if all.len() > MAX_TAGS {
        return Err(ApiError::new(ErrorCode::LimitExceeded, format!("A key can have at most {MAX_TAGS} tags")));
    }
    kms.store().set_tags(&key.id, &all.into_iter().collect::<Vec<_>>()).map_err(internal)?;
    out(json!({}))
}

fn untag_resource(kms: &Kms, call: &Call<'_>, i: TagInput) -> Result<Vec<u8>> {
    let remove = required(i.tag_keys, "tagKeys")?;
    let key = taggable(kms, call, i.key_id, "UntagResource")?;
    let kept: Vec<(String, String)> =
        kms.store().tags(&key.id).map_err(internal)?.into_iter().filter(|(k, _)| !remove.contains(k)).collect();
    kms.store().set_tags(&key.id, &kept).map_err(internal)?;
    out(json!({}))
}

fn list_tags(kms: &Kms, call: &Call<'_>, i: ListInput) -> Result<Vec<u8>> {
    let limit = limit(i.limit, 50, 50)?;
    let after = marker(i.marker.as_deref())?;
    let key = kms.resolve(call, &required(i.key_id, "keyId")?, Naming::OwnKey)?;
    kms.authorize(call, &key, "ListResourceTags", &EncryptionContext::new())?;
    let all = kms.store().tags(&key.id).map_err(internal)?;
    let rest: Vec<(String, String)> = all.into_iter().filter(|(k, _)| k.as_str() > after.as_str()).collect();
    let (list, next, truncated) = page(rest, limit, |(k, _)| k.clone());
    let list: Vec<Value> = list.iter().map(|(k, v)| json!({ "TagKey": k, "TagValue": v })).collect();
    out(with_marker(json!({ "Tags": list }), next, truncated))
}
