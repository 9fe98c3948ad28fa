//! Who may do what to a bucket: its policy, evaluated by `cairn-policy` with the request's condition keys, and
//! S3's rules around it. An explicit Deny refuses; an Allow admits; otherwise the bucket's own account is admitted
//! (cairn has no identity policies: an account's credentials act with the account's authority) and everyone else
//! refused. The owner account's root may always read, replace and delete the policy, so it cannot lock itself out.

use std::net::IpAddr;

use cairn_policy::{glob, Decision, Dialect, Policy, PolicyError, Request};
pub use cairn_policy::{Caller, RequestFacts};
use s3s::{S3Error, S3ErrorCode};
use time::OffsetDateTime;

use crate::store::Bucket;

/// S3's actions, with whether each acts on a bucket (`arn:aws:s3:::bucket`) or on objects (`.../key`).
const ACTIONS: &[(&str, Target)] = &[
    ("AbortMultipartUpload", Target::Object),
    ("CreateBucket", Target::Bucket),
    ("DeleteBucket", Target::Bucket),
    ("DeleteBucketPolicy", Target::Bucket),
    ("DeleteObject", Target::Object),
    ("DeleteObjectTagging", Target::Object),
    ("DeleteObjectVersion", Target::Object),
    ("GetBucketAcl", Target::Bucket),
    ("GetBucketLocation", Target::Bucket),
    ("GetBucketLogging", Target::Bucket),
    ("GetBucketNotification", Target::Bucket),
    ("GetBucketOwnershipControls", Target::Bucket),
    ("GetBucketPolicy", Target::Bucket),
    ("GetBucketPolicyStatus", Target::Bucket),
    ("GetBucketPublicAccessBlock", Target::Bucket),
    ("GetBucketTagging", Target::Bucket),
    ("GetBucketVersioning", Target::Bucket),
    ("GetEncryptionConfiguration", Target::Bucket),
    ("GetLifecycleConfiguration", Target::Bucket),
    ("GetObject", Target::Object),
    ("GetObjectAcl", Target::Object),
    ("GetObjectAttributes", Target::Object),
    ("GetObjectTagging", Target::Object),
    ("GetObjectVersion", Target::Object),
    ("GetObjectVersionAcl", Target::Object),
    ("ListBucket", Target::Bucket),
    ("ListBucketMultipartUploads", Target::Bucket),
    ("ListBucketVersions", Target::Bucket),
    ("ListMultipartUploadParts", Target::Object),
    ("PutBucketAcl", Target::Bucket),
    ("PutBucketLogging", Target::Bucket),
    ("PutBucketNotification", Target::Bucket),
    ("PutBucketOwnershipControls", Target::Bucket),
    ("PutBucketPolicy", Target::Bucket),
    ("PutBucketPublicAccessBlock", Target::Bucket),
    ("PutBucketTagging", Target::Bucket),
    ("PutBucketVersioning", Target::Bucket),
    ("PutEncryptionConfiguration", Target::Bucket),
    ("PutLifecycleConfiguration", Target::Bucket),
    ("PutObject", Target::Object),
    ("PutObjectAcl", Target::Object),
    ("PutObjectTagging", Target::Object),
    ("PutObjectVersionAcl", Target::Object),
    ("RestoreObject", Target::Object),
];

/// Condition keys of S3 itself that a bucket policy may use (prefixes end with `/`).
const S3_KEYS: &[&str] = &[
    "s3:authType",
    "s3:delimiter",
    "s3:ExistingObjectTag/",
    "s3:LocationConstraint",
    "s3:max-keys",
    "s3:prefix",
    "s3:RequestObjectTag/",
    "s3:RequestObjectTagKeys",
    "s3:ResourceAccount",
    "s3:signatureAge",
    "s3:signatureversion",
    "s3:TlsVersion",
    "s3:VersionId",
    "s3:x-amz-acl",
    "s3:x-amz-content-sha256",
    "s3:x-amz-copy-source",
    "s3:x-amz-grant-full-control",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-metadata-directive",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-storage-class",
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
    "s3:AccessPointNetworkOrigin",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bucket,
    Object,
}

/// The rules S3 adds to the policy language for one bucket's policy.
#[derive(Debug)]
pub struct BucketPolicyDialect<'a> {
    pub bucket: &'a str,
}

fn invalid_action() -> PolicyError {
    PolicyError::new("Policy has invalid action")
}

impl BucketPolicyDialect<'_> {
    /// The targets a resource pattern of this bucket can name; None when it names nothing in this bucket.
    fn targets(&self, resource: &str) -> Option<Vec<Target>> {
        let rest = resource.strip_prefix("arn:aws:s3:::")?;
        let (bucket, key) = match rest.split_once('/') {
            Some((b, k)) => (b, Some(k)),
            None => (rest, None),
        };
        if !glob(bucket, self.bucket, false) {
            return None;
        }
        Some(match key {
            Some(_) => vec![Target::Object],
            // `arn:aws:s3:::bucket*` also matches the bucket's objects.
            None if bucket.ends_with('*') => vec![Target::Bucket, Target::Object],
            None => vec![Target::Bucket],
        })
    }
}

impl Dialect for BucketPolicyDialect<'_> {
    fn max_bytes(&self) -> usize {
        20 * 1024
    }

    fn check_action(&self, action: &str) -> Result<(), PolicyError> {
        if action == "*" {
            return Ok(());
        }
        let (service, name) = action.split_once(':').ok_or_else(invalid_action)?;
        if !service.eq_ignore_ascii_case("s3") || !ACTIONS.iter().any(|(a, _)| glob(name, a, true)) {
            return Err(invalid_action());
        }
        Ok(())
    }

    fn check_resource(&self, resource: &str) -> Result<(), PolicyError> {
        match self.targets(resource) {
            Some(_) => Ok(()),
            None => Err(PolicyError::new("Policy has invalid resource")),
        }
    }

    fn check_condition_key(&self, key: &str) -> Result<(), PolicyError> {
        let lower = key.to_ascii_lowercase();
        if !lower.starts_with("s3:") {
            return Ok(());
        }
        let known = S3_KEYS.iter().any(|k| {
            let k = k.to_ascii_lowercase();
            if k.ends_with('/') {
                lower.starts_with(&k)
            } else {
                lower == k
            }
        });
        if known {
            Ok(())
        } else {
            Err(PolicyError::new("Policy has an invalid condition key"))
        }
    }

    fn check_statement(&self, s: &cairn_policy::Statement) -> Result<(), PolicyError> {
        let Some(resource) = &s.resource else { return Ok(()) };
        if s.action.negated || resource.negated {
            return Ok(());
        }
        let targets: Vec<Target> = resource.items.iter().filter_map(|r| self.targets(r)).flatten().collect();
        for pattern in &s.action.items {
            let name = pattern.split_once(':').map_or(pattern.as_str(), |(_, n)| n);
            let applies = pattern == "*" || ACTIONS.iter().any(|(a, t)| glob(name, a, true) && targets.contains(t));
            if !applies {
                return Err(PolicyError::new("Action does not apply to any resource(s) in statement"));
            }
        }
        Ok(())
    }
}

/// Parses a bucket policy with S3's rules; the error is S3's `MalformedPolicy`.
pub fn parse_bucket_policy(bucket: &str, text: &str) -> Result<Policy, S3Error> {
    Policy::parse(text, &BucketPolicyDialect { bucket })
        .map_err(|e| S3Error::with_message(S3ErrorCode::MalformedPolicy, e.message))
}

/// The ARN of a bucket, or of an object in it.
pub fn resource_arn(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("arn:aws:s3:::{bucket}/{k}"),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}

/// Decides `s3:<action>` on `resource` of `bucket`; `extra` are the request's S3 condition keys.
pub fn authorize(
    bucket: &Bucket,
    facts: &RequestFacts,
    action: &str,
    resource: &str,
    extra: &[(&str, String)],
) -> Result<(), S3Error> {
    let denied = || S3Error::with_message(S3ErrorCode::AccessDenied, "Access Denied");
    let owner = facts.caller.account() == Some(bucket.owner.as_str());
    if facts.caller.is_root_of(&bucket.owner) && action.ends_with("BucketPolicy") {
        return Ok(());
    }
    let Some(text) = &bucket.policy else { return if owner { Ok(()) } else { Err(denied()) } };
    let policy = match Policy::parse(text, &BucketPolicyDialect { bucket: &bucket.name }) {
        Ok(p) => p,
        Err(e) => {
            // Stored policies were validated when put; one that no longer parses grants nothing.
            tracing::error!(bucket = bucket.name, error = %e, "a stored bucket policy does not parse");
            return if owner { Ok(()) } else { Err(denied()) };
        }
    };
    let context = facts.context(extra);
    let principal = facts.caller.principal();
    let action = format!("s3:{action}");
    match policy.evaluate(&Request { principal: &principal, action: &action, resource, context: &context }) {
        Decision::Deny => Err(denied()),
        Decision::Allow => Ok(()),
        Decision::NotApplicable if owner => Ok(()),
        Decision::NotApplicable => Err(denied()),
    }
}

/// Whether the policy makes the bucket public, as GetBucketPolicyStatus reports: some Allow grants access without
/// fixing the principal or one of the keys that pin the caller (source ARN, account, IP range of at most /8 ...).
pub fn is_public(policy: &Policy) -> bool {
    const PINNING: [&str; 7] = [
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "aws:principalorgid",
        "aws:principalaccount",
    ];
    let fixed = |v: &str| !v.contains('*') && !v.contains('?') && !v.contains("${");
    policy.statements.iter().filter(|s| s.effect == cairn_policy::Effect::Allow).any(|s| {
        let principal_fixed = s
            .principal
            .as_ref()
            .is_some_and(|p| !p.negated && !p.everyone && p.aws.iter().chain(&p.service).all(|a| fixed(a)));
        if principal_fixed {
            return false;
        }
        let pinned = s.conditions.iter().any(|c| {
            use cairn_policy::Operator::*;
            let key = c.key.to_ascii_lowercase();
            let positive = matches!(
                c.operator,
                StringEquals | StringEqualsIgnoreCase | ArnEquals | ArnLike | StringLike | IpAddress
            );
            let values_fixed = c.values.iter().all(|v| fixed(v));
            positive
                && !c.if_exists
                && c.qualifier.is_none()
                && ((PINNING.contains(&key.as_str()) && values_fixed)
                    || (key == "aws:sourceip" && c.values.iter().all(|v| narrow_range(v))))
        });
        !pinned
    })
}

/// A CIDR no broader than /8 (IPv4) or /32 (IPv6).
fn narrow_range(v: &str) -> bool {
    let (addr, bits) = v.split_once('/').map_or((v, None), |(a, b)| (a, b.parse::<u8>().ok()));
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => bits.is_none_or(|b| b >= 8),
        Ok(IpAddr::V6(_)) => bits.is_none_or(|b| b >= 32),
        Err(_) => false,
    }
}

/// The principal name CloudTrail delivers as.
pub const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";

/// Whether CloudTrail, delivering for the trail `trail_arn`, may do `s3:<action>` on `key` of `bucket` (or on the
/// bucket itself), writing with the `bucket-owner-full-control` ACL as it does: the bucket policy must allow it, as
/// AWS requires even of the owner's own trails.
pub fn cloudtrail_may(
    bucket: &Bucket,
    trail_arn: &str,
    action: &str,
    key: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), S3Error> {
    let facts = RequestFacts {
        caller: Caller::Service {
            name: CLOUDTRAIL.to_string(),
            source_arn: trail_arn.to_string(),
            source_account: trail_arn.split(':').nth(4).unwrap_or("").to_string(),
        },
        source_ip: None,
        secure_transport: true,
        now,
    };
    let extra: Vec<(&str, String)> = match action {
        "PutObject" => vec![("s3:x-amz-acl", "bucket-owner-full-control".to_string())],
        _ => Vec::new(),
    };
    authorize(bucket, &facts, action, &resource_arn(&bucket.name, key), &extra)
}

/// A bucket policy that lets CloudTrail deliver every account's trails to `bucket` (its ACL check and writes with
/// `bucket-owner-full-control`): what cairn gives the buckets of its configuration. The console's policy for one
/// trail is narrower (see docs/buckets.md).
pub fn cloudtrail_policy_for_any_trail(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:GetBucketAcl",
                "Resource": format!("arn:aws:s3:::{bucket}"),
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL},
                "Action": "s3:PutObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*"),
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            }
        ]
    })
    .to_string()
}

/// The bucket policy AWS's console writes for a new trail bucket: CloudTrail may check the ACL and write under
/// `[prefix/]AWSLogs/<account>/` (and `AWSLogs/<organization>/` for an organization trail), for this trail only.
pub fn cloudtrail_console_policy(
    bucket: &str,
    prefix: Option<&str>,
    trail_arn: &str,
    organization: Option<&str>,
) -> String {
    let account = trail_arn.split(':').nth(4).unwrap_or("");
    let folder = |owner: &str| match prefix.filter(|p| !p.is_empty()) {
        Some(p) => format!("arn:aws:s3:::{bucket}/{p}/AWSLogs/{owner}/*"),
        None => format!("arn:aws:s3:::{bucket}/AWSLogs/{owner}/*"),
    };
    let write = |sid: &str, resource: String| {
        serde_json::json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:PutObject",
            "Resource": resource,
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}},
        })
    };
    let mut statements = vec![
        serde_json::json!({
            "Sid": "AWSCloudTrailAclCheck20150319",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": format!("arn:aws:s3:::{bucket}"),
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        }),
        write("AWSCloudTrailWrite20150319", folder(account)),
    ];
    if let Some(o) = organization {
        statements.push(write("AWSCloudTrailOrganizationWrite20150319", folder(o)));
    }
    serde_json::to_string_pretty(&serde_json::json!({"Version": "2012-10-17", "Statement": statements}))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, String> {
        parse_bucket_policy("trail-bucket", text).map_err(|e| e.message().unwrap_or("").to_string())
    }

    fn stmt(action: &str, resource: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},"Action":{action},"Resource":{resource}}}]}}"#
        )
    }

    #[test]
    fn bucket_policies_are_checked_against_s3s_actions_and_this_bucket() {
        for (action, resource, want) in [
            (r#""s3:GetBucketAcl""#, r#""arn:aws:s3:::trail-bucket""#, Ok(())),
            (r#""s3:PutObject""#, r#""arn:aws:s3:::trail-bucket/AWSLogs/111122223333/*""#, Ok(())),
            (r#""s3:*""#, r#""arn:aws:s3:::trail-bucket""#, Ok(())),
            (r#""s3:Get*""#, r#""arn:aws:s3:::trail-bucket""#, Ok(())),
            (
                r#"["s3:GetObject","s3:ListBucket"]"#,
                r#"["arn:aws:s3:::trail-bucket","arn:aws:s3:::trail-bucket/*"]"#,
                Ok(()),
            ),
            (
                r#""s3:PutObject""#,
                r#""arn:aws:s3:::trail-bucket""#,
                Err("Action does not apply to any resource(s) in statement"),
            ),
            (
                r#"["s3:ListBucket","s3:GetObject"]"#,
                r#""arn:aws:s3:::trail-bucket/*""#,
                Err("Action does not apply to any resource(s) in statement"),
            ),
            (r#""ec2:RunInstances""#, r#""arn:aws:s3:::trail-bucket""#, Err("Policy has invalid action")),
            (r#""s3:Fly""#, r#""arn:aws:s3:::trail-bucket""#, Err("Policy has invalid action")),
            (r#""s3:GetObject""#, r#""arn:aws:s3:::other-bucket/*""#, Err("Policy has invalid resource")),
            (r#""s3:GetObject""#, r#""*""#, Err("Policy has invalid resource")),
        ] {
            assert_eq!(
                parse(&stmt(action, resource)).map(|_| ()),
                want.map_err(str::to_string),
                "{action} on {resource}"
            );
        }
        let bad_key = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::trail-bucket/*","Condition":{"StringEquals":{"s3:VersionStatus":"x"}}}]}"#;
        assert_eq!(parse(bad_key).unwrap_err(), "Policy has an invalid condition key");
        let fine_key = bad_key.replace("s3:VersionStatus", "aws:SomethingNew");
        assert!(parse(&fine_key).is_ok(), "unknown aws: keys are accepted, as AWS accepts them");
    }

    #[test]
    fn cloudtrail_is_admitted_by_the_consoles_policy_for_its_trail_only() {
        let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management";
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut b = Bucket {
            name: "trail-bucket".into(),
            owner: "111122223333".into(),
            region: "us-east-1".into(),
            created_ms: 0,
            policy: None,
        };
        let key = "logs/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/03/f.json.gz";
        assert!(
            cloudtrail_may(&b, trail, "PutObject", Some(key), now).is_err(),
            "no policy: even the owner's trail is refused"
        );
        b.policy = Some(cloudtrail_console_policy("trail-bucket", Some("logs"), trail, Some("o-abc")));
        parse_bucket_policy("trail-bucket", b.policy.as_deref().unwrap()).unwrap();
        assert!(cloudtrail_may(&b, trail, "GetBucketAcl", None, now).is_ok());
        assert!(cloudtrail_may(&b, trail, "PutObject", Some(key), now).is_ok());
        assert!(
            cloudtrail_may(&b, trail, "PutObject", Some("logs/AWSLogs/o-abc/444455556666/CloudTrail/x"), now).is_ok()
        );
        assert!(
            cloudtrail_may(&b, trail, "PutObject", Some("AWSLogs/111122223333/CloudTrail/x"), now).is_err(),
            "outside the prefix"
        );
        let other = "arn:aws:cloudtrail:us-east-1:111122223333:trail/other";
        assert!(cloudtrail_may(&b, other, "PutObject", Some(key), now).is_err(), "another trail");
        b.policy = Some(cloudtrail_policy_for_any_trail("trail-bucket"));
        assert!(cloudtrail_may(&b, other, "PutObject", Some(key), now).is_ok());
        assert!(cloudtrail_may(&b, other, "DeleteObject", Some(key), now).is_err());
    }

    #[test]
    fn public_means_unpinned_allows() {
        let public = |doc: &str| is_public(&parse(doc).unwrap());
        assert!(public(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::trail-bucket/*"}]}"#
        ));
        assert!(!public(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::trail-bucket/*"}]}"#
        ));
        assert!(!public(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::trail-bucket/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}]}"#
        ));
        assert!(public(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::trail-bucket/*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}]}"#
        ));
        assert!(!public(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::trail-bucket/*"}]}"#
        ));
    }
}
