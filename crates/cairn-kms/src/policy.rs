//! Key policies: KMS's rules for the policy language, the default policy AWS gives a new key, the decision for one
//! call, and the lockout safety check. Unlike a bucket, a key admits no one its policy does not name: the owning
//! account acts on its key only through a statement naming the account (the default policy's "Enable IAM User
//! Permissions"), as in AWS, where the key policy is the root of every permission on the key.

use cairn_api::{ApiError, ErrorCode};
use cairn_policy::{glob, Decision, Dialect, Policy, PolicyError, Request, RequestFacts};

/// The largest key policy, in bytes.
pub const MAX_POLICY_BYTES: usize = 32 * 1024;

/// KMS's actions a key policy may name.
const ACTIONS: &[&str] = &[
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteImportedKeyMaterial",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncryptFrom",
    "ReEncryptTo",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateKeyDescription",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

/// The rules KMS adds to the policy language.
#[derive(Debug)]
pub struct KeyPolicyDialect;

impl Dialect for KeyPolicyDialect {
    fn max_bytes(&self) -> usize {
        MAX_POLICY_BYTES
    }

    fn check_action(&self, action: &str) -> Result<(), PolicyError> {
        let ok = action == "*"
            || action.split_once(':').is_some_and(|(service, name)| {
                service.eq_ignore_ascii_case("kms") && ACTIONS.iter().any(|a| glob(name, a, true))
            });
        if ok {
            Ok(())
        } else {
            Err(PolicyError::new("Policy contains a statement with one or more invalid actions."))
        }
    }

    fn check_resource(&self, resource: &str) -> Result<(), PolicyError> {
        if resource == "*" || resource.starts_with("arn:aws:kms:") {
            Ok(())
        } else {
            Err(PolicyError::new("Policy contains a statement with one or more invalid resources."))
        }
    }

    fn check_statement(&self, s: &cairn_policy::Statement) -> Result<(), PolicyError> {
        let Some(p) = &s.principal else { return Ok(()) };
        let valid = |id: &str| {
            id == "*"
                || (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
                || id.split(':').nth(4).is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                    && (id.starts_with("arn:aws:iam::") || id.starts_with("arn:aws:sts::"))
        };
        if p.aws.iter().all(|id| valid(id)) && p.other.is_empty() {
            Ok(())
        } else {
            Err(PolicyError::new("Policy contains a statement with one or more invalid principals."))
        }
    }
}

/// Parses a key policy; the errors are KMS's.
pub fn parse(text: &str) -> Result<Policy, ApiError> {
    Policy::parse(text, &KeyPolicyDialect).map_err(|e| {
        let code = if e.too_large { ErrorCode::LimitExceeded } else { ErrorCode::KmsMalformedPolicyDocument };
        ApiError::new(code, e.message)
    })
}

/// The policy AWS gives a key created without one: the account (and through it, its users and roles) may do
/// everything with the key.
pub fn default_policy(account: &str) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
            "Action": "kms:*",
            "Resource": "*",
        }],
    }))
    .expect("a JSON value serializes")
}

/// The policy AWS's CloudTrail console gives a key it creates for the trail `trail_arn`: the default statement,
/// CloudTrail may generate data keys for that trail (in the encryption context of the account's trails) and describe
/// the key, and the account's principals may decrypt the log files.
pub fn cloudtrail_policy(trail_arn: &str) -> String {
    let account = trail_arn.split(':').nth(4).unwrap_or("");
    serde_json::to_string_pretty(&serde_json::json!({
        "Version": "2012-10-17",
        "Id": "Key policy created by CloudTrail",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow CloudTrail to encrypt logs",
                "Effect": "Allow",
                "Principal": { "Service": "cloudtrail.amazonaws.com" },
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": { "aws:SourceArn": trail_arn },
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:aws:cloudtrail:*:{account}:trail/*"),
                    },
                },
            },
            {
                "Sid": "Allow CloudTrail to describe key",
                "Effect": "Allow",
                "Principal": { "Service": "cloudtrail.amazonaws.com" },
                "Action": "kms:DescribeKey",
                "Resource": "*",
            },
            {
                "Sid": "Allow principals in the account to decrypt log files",
                "Effect": "Allow",
                "Principal": { "AWS": "*" },
                "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": { "kms:CallerAccount": account },
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:aws:cloudtrail:*:{account}:trail/*"),
                    },
                },
            },
        ],
    }))
    .expect("a JSON value serializes")
}

/// Whether the key policy `text` allows `kms:<action>` on `key_arn` for the request; `extra` are KMS's own condition
/// keys of the call (encryption context, via service ...).
pub fn allows(text: &str, facts: &RequestFacts, action: &str, key_arn: &str, extra: &[(String, String)]) -> Decision {
    let policy = match Policy::parse(text, &KeyPolicyDialect) {
        Ok(p) => p,
        Err(e) => {
            // Stored policies were validated when put; one that no longer parses grants nothing.
            tracing::error!(key = key_arn, error = %e, "a stored key policy does not parse");
            return Decision::NotApplicable;
        }
    };
    let extra: Vec<(&str, String)> = extra.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut context = facts.context(&extra);
    if let Some(account) = facts.caller.account() {
        context.set("kms:CallerAccount", account);
    }
    let keys: Vec<String> =
        extra.iter().filter_map(|(k, _)| k.strip_prefix("kms:EncryptionContext:")).map(str::to_string).collect();
    if !keys.is_empty() {
        context.set_all("kms:EncryptionContextKeys", keys);
    }
    let principal = facts.caller.principal();
    let action = format!("kms:{action}");
    policy.evaluate(&Request { principal: &principal, action: &action, resource: key_arn, context: &context })
}

/// AWS's `AccessDeniedException` for a call the key policy does not allow.
pub fn denied(facts: &RequestFacts, action: &str, key_arn: &str, decision: Decision) -> ApiError {
    let who = match &facts.caller {
        cairn_policy::Caller::Account { arn, .. } => arn.clone(),
        cairn_policy::Caller::Service { name, .. } => name.clone(),
        cairn_policy::Caller::Anonymous => "anonymous".to_string(),
    };
    let why = match decision {
        Decision::Deny => "with an explicit deny in a resource-based policy".to_string(),
        _ => format!("because no resource-based policy allows the kms:{action} action"),
    };
    ApiError::new(
        ErrorCode::AccessDenied,
        format!("User: {who} is not authorized to perform: kms:{action} on resource: {key_arn} {why}"),
    )
}

/// The lockout safety check: a new policy must still let the caller put a policy on the key.
pub fn check_lockout(text: &str, facts: &RequestFacts, key_arn: &str) -> Result<(), ApiError> {
    if allows(text, facts, "PutKeyPolicy", key_arn, &[]) == Decision::Allow {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::KmsMalformedPolicyDocument,
            "The new key policy will not allow you to update the key policy in the future.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_policy::Caller;

    fn facts(caller: Caller) -> RequestFacts {
        RequestFacts { caller, source_ip: None, secure_transport: true, now: time::OffsetDateTime::UNIX_EPOCH }
    }

    fn account(account: &str, arn: &str) -> RequestFacts {
        facts(Caller::Account { account: account.into(), arn: arn.into(), organization: None })
    }

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn the_default_policy_admits_the_account_and_no_one_else() {
        let p = default_policy("111111111111");
        parse(&p).unwrap();
        let alice = account("111111111111", "arn:aws:iam::111111111111:user/alice");
        assert_eq!(allows(&p, &alice, "Decrypt", KEY, &[]), Decision::Allow);
        let other = account("222222222222", "arn:aws:iam::222222222222:root");
        assert_eq!(allows(&p, &other, "Decrypt", KEY, &[]), Decision::NotApplicable);
        let msg = denied(&other, "Decrypt", KEY, Decision::NotApplicable).message;
        assert!(msg.starts_with("User: arn:aws:iam::222222222222:root is not authorized to perform: kms:Decrypt"));
        check_lockout(&p, &alice, KEY).unwrap();
    }

    #[test]
    fn cloudtrails_policy_binds_data_keys_to_the_accounts_trails() {
        let p = cloudtrail_policy("arn:aws:cloudtrail:us-east-1:111111111111:trail/t");
        parse(&p).unwrap();
        let trail = "arn:aws:cloudtrail:us-east-1:111111111111:trail/t";
        let ct = facts(Caller::Service {
            name: "cloudtrail.amazonaws.com".into(),
            source_arn: trail.into(),
            source_account: "111111111111".into(),
        });
        let ctx = |arn: &str| vec![("kms:EncryptionContext:aws:cloudtrail:arn".to_string(), arn.to_string())];
        assert_eq!(allows(&p, &ct, "GenerateDataKey", KEY, &ctx(trail)), Decision::Allow);
        let foreign = "arn:aws:cloudtrail:us-east-1:222222222222:trail/t";
        assert_eq!(allows(&p, &ct, "GenerateDataKey", KEY, &ctx(foreign)), Decision::NotApplicable);
        assert_eq!(allows(&p, &ct, "Decrypt", KEY, &ctx(trail)), Decision::NotApplicable);
        let bob = account("111111111111", "arn:aws:iam::111111111111:user/bob");
        assert_eq!(allows(&p, &bob, "Decrypt", KEY, &ctx(trail)), Decision::Allow);
    }

    #[test]
    fn malformed_and_locking_out_policies_are_refused() {
        let e = parse(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::KmsMalformedPolicyDocument);
        let e =
            parse(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"kms:*","Resource":"*"}]}"#)
                .unwrap_err();
        assert_eq!(e.code, ErrorCode::KmsMalformedPolicyDocument, "{}", e.message);
        let e = parse(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::12:root"},"Action":"kms:*","Resource":"*"}]}"#)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::KmsMalformedPolicyDocument, "{}", e.message);
        let big = format!(
            r#"{{"Statement":[{{"Sid":"{}","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}]}}"#,
            "x".repeat(MAX_POLICY_BYTES)
        );
        assert_eq!(parse(&big).unwrap_err().code, ErrorCode::LimitExceeded);
        let only_bob = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/bob"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
        let alice = account("111111111111", "arn:aws:iam::111111111111:user/alice");
        let e = check_lockout(only_bob, &alice, KEY).unwrap_err();
        assert_eq!(e.message, "The new key policy will not allow you to update the key policy in the future.");
    }
}
