//! Table-driven tests from the policies AWS documents for CloudTrail buckets and keys, organization buckets,
//! cross-account access and condition keys: each row is (policy, request, expected decision).

use cairn_policy::{Context, Decision, Dialect, Policy, PolicyError, Principal, Request};

/// Any service's actions and resources; 20 KB, as S3's bucket policies.
struct Any;

impl Dialect for Any {
    fn max_bytes(&self) -> usize {
        20 * 1024
    }
    fn check_action(&self, _: &str) -> Result<(), PolicyError> {
        Ok(())
    }
    fn check_resource(&self, _: &str) -> Result<(), PolicyError> {
        Ok(())
    }
}

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management";

fn account(id: &str) -> Principal {
    Principal::Aws { account: id.into(), arn: format!("arn:aws:iam::{id}:root") }
}

fn arn(arn: &str) -> Principal {
    Principal::Aws { account: arn.split(':').nth(4).unwrap().into(), arn: arn.into() }
}

fn cloudtrail() -> Principal {
    Principal::Service("cloudtrail.amazonaws.com".into())
}

fn ctx(pairs: &[(&str, &str)]) -> Context {
    let mut c = Context::new();
    for (k, v) in pairs {
        c.set(k, *v);
    }
    c
}

fn decide(policy: &str, principal: &Principal, action: &str, resource: &str, context: &Context) -> Decision {
    let p = Policy::parse(policy, &Any).unwrap_or_else(|e| panic!("{e}: {policy}"));
    p.evaluate(&Request { principal, action, resource, context })
}

const CLOUDTRAIL_BUCKET: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AWSCloudTrailAclCheck",
      "Effect": "Allow",
      "Principal": {"Service": "cloudtrail.amazonaws.com"},
      "Action": "s3:GetBucketAcl",
      "Resource": "arn:aws:s3:::trail-bucket",
      "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management"}}
    },
    {
      "Sid": "AWSCloudTrailWrite",
      "Effect": "Allow",
      "Principal": {"Service": "cloudtrail.amazonaws.com"},
      "Action": "s3:PutObject",
      "Resource": "arn:aws:s3:::trail-bucket/prefix/AWSLogs/111122223333/*",
      "Condition": {
        "StringEquals": {
          "s3:x-amz-acl": "bucket-owner-full-control",
          "aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management"
        }
      }
    }
  ]
}"#;

#[test]
fn cloudtrail_bucket_policy_admits_only_its_trail_writing_its_prefix() {
    let good = ctx(&[("aws:SourceArn", TRAIL), ("s3:x-amz-acl", "bucket-owner-full-control")]);
    let object = "arn:aws:s3:::trail-bucket/prefix/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/03/f.json.gz";
    let rows: Vec<(Principal, &str, &str, Context, Decision)> = vec![
        (cloudtrail(), "s3:GetBucketAcl", "arn:aws:s3:::trail-bucket", good.clone(), Decision::Allow),
        (cloudtrail(), "s3:PutObject", object, good.clone(), Decision::Allow),
        // Another trail, or no SourceArn at all.
        (
            cloudtrail(),
            "s3:PutObject",
            object,
            ctx(&[
                ("aws:SourceArn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/other"),
                ("s3:x-amz-acl", "bucket-owner-full-control"),
            ]),
            Decision::NotApplicable,
        ),
        (
            cloudtrail(),
            "s3:PutObject",
            object,
            ctx(&[("s3:x-amz-acl", "bucket-owner-full-control")]),
            Decision::NotApplicable,
        ),
        // Without the ACL the console's policy asks for.
        (cloudtrail(), "s3:PutObject", object, ctx(&[("aws:SourceArn", TRAIL)]), Decision::NotApplicable),
        // Outside the account's folder, or another action.
        (
            cloudtrail(),
            "s3:PutObject",
            "arn:aws:s3:::trail-bucket/prefix/AWSLogs/444455556666/x",
            good.clone(),
            Decision::NotApplicable,
        ),
        (cloudtrail(), "s3:DeleteObject", object, good.clone(), Decision::NotApplicable),
        // Another service, an account.
        (
            Principal::Service("config.amazonaws.com".into()),
            "s3:PutObject",
            object,
            good.clone(),
            Decision::NotApplicable,
        ),
        (account(OTHER), "s3:PutObject", object, good.clone(), Decision::NotApplicable),
    ];
    for (i, (who, action, resource, context, want)) in rows.iter().enumerate() {
        assert_eq!(
            decide(CLOUDTRAIL_BUCKET, who, action, resource, context),
            *want,
            "row {i}: {who:?} {action} {resource}"
        );
    }
}

/// One statement lets every member account read its own folder of an organization trail's bucket.
const ORGANIZATION_READ: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "MembersReadTheirOwnLogs",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::org-trail/AWSLogs/o-exampleorgid/${aws:PrincipalAccount}/*",
      "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}
    },
    {
      "Sid": "MembersListTheirOwnFolder",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::org-trail",
      "Condition": {
        "StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"},
        "StringLike": {"s3:prefix": ["AWSLogs/o-exampleorgid/${aws:PrincipalAccount}/*", "AWSLogs/o-exampleorgid/${aws:PrincipalAccount}/"]}
      }
    }
  ]
}"#;

#[test]
fn organization_members_read_only_their_own_folder_with_one_statement() {
    let member = |acct: &str| {
        let mut c = ctx(&[("aws:PrincipalOrgID", "o-exampleorgid"), ("aws:PrincipalAccount", acct)]);
        c.set("aws:PrincipalArn", format!("arn:aws:iam::{acct}:root"));
        c
    };
    let obj =
        |acct: &str| format!("arn:aws:s3:::org-trail/AWSLogs/o-exampleorgid/{acct}/CloudTrail/us-east-1/f.json.gz");
    let a = "777788889999";
    let b = "222233334444";
    assert_eq!(decide(ORGANIZATION_READ, &account(a), "s3:GetObject", &obj(a), &member(a)), Decision::Allow);
    assert_eq!(decide(ORGANIZATION_READ, &account(a), "s3:GetObject", &obj(b), &member(a)), Decision::NotApplicable);
    // A member that joins later needs no change to the policy.
    let new = "555566667777";
    assert_eq!(decide(ORGANIZATION_READ, &account(new), "s3:GetObject", &obj(new), &member(new)), Decision::Allow);
    // Not in the organization.
    let outsider = ctx(&[("aws:PrincipalOrgID", "o-other"), ("aws:PrincipalAccount", OTHER)]);
    assert_eq!(
        decide(ORGANIZATION_READ, &account(OTHER), "s3:GetObject", &obj(OTHER), &outsider),
        Decision::NotApplicable
    );
    // Listing: its own prefix only.
    let mut listing = member(a);
    listing.set("s3:prefix", format!("AWSLogs/o-exampleorgid/{a}/CloudTrail/"));
    assert_eq!(
        decide(ORGANIZATION_READ, &account(a), "s3:ListBucket", "arn:aws:s3:::org-trail", &listing),
        Decision::Allow
    );
    listing.set("s3:prefix", format!("AWSLogs/o-exampleorgid/{b}/"));
    assert_eq!(
        decide(ORGANIZATION_READ, &account(a), "s3:ListBucket", "arn:aws:s3:::org-trail", &listing),
        Decision::NotApplicable
    );
    // Without a PrincipalAccount the variable has no value and the resource matches nothing.
    let mut no_account = Context::new();
    no_account.set("aws:PrincipalOrgID", "o-exampleorgid");
    assert_eq!(decide(ORGANIZATION_READ, &account(a), "s3:GetObject", &obj(a), &no_account), Decision::NotApplicable);
}

#[test]
fn an_explicit_deny_wins_and_not_elements_invert() {
    let policy = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "CrossAccountRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
         "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutsideNetwork", "Effect": "Deny", "Principal": {"AWS": "*"}, "NotAction": "s3:ListBucket",
         "Resource": "arn:aws:s3:::b/*", "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}}}
      ]
    }"#;
    let tls_inside = ctx(&[("aws:SecureTransport", "true"), ("aws:SourceIp", "192.0.2.10")]);
    let plain = ctx(&[("aws:SecureTransport", "false"), ("aws:SourceIp", "192.0.2.10")]);
    let outside = ctx(&[("aws:SecureTransport", "true"), ("aws:SourceIp", "198.51.100.7")]);
    let other = account(OTHER);
    let role_session = arn("arn:aws:sts::444455556666:assumed-role/reader/alice");
    let mine = account(ACCOUNT);
    let anonymous = Principal::Anonymous;
    for (who, action, resource, c, want) in [
        (&other, "s3:GetObject", "arn:aws:s3:::b/k", &tls_inside, Decision::Allow),
        (&role_session, "s3:GetObject", "arn:aws:s3:::b/k", &tls_inside, Decision::Allow),
        (&other, "s3:GetObject", "arn:aws:s3:::b/k", &plain, Decision::Deny),
        (&other, "s3:GetObject", "arn:aws:s3:::b/k", &outside, Decision::Deny),
        (&other, "s3:ListBucket", "arn:aws:s3:::b", &outside, Decision::Allow),
        (&other, "s3:PutObject", "arn:aws:s3:::b/k", &tls_inside, Decision::NotApplicable),
        (&mine, "s3:GetObject", "arn:aws:s3:::b/k", &tls_inside, Decision::NotApplicable),
        (&mine, "s3:GetObject", "arn:aws:s3:::b/k", &plain, Decision::Deny),
        (&anonymous, "s3:GetObject", "arn:aws:s3:::b/k", &plain, Decision::Deny),
        (&anonymous, "s3:GetObject", "arn:aws:s3:::b/k", &tls_inside, Decision::NotApplicable),
    ] {
        assert_eq!(decide(policy, who, action, resource, c), want, "{who:?} {action} {resource} {c:?}");
    }
}

#[test]
fn principals_name_accounts_users_roles_and_their_sessions() {
    let policy = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"*"}}]}}"#
        )
    };
    let c = Context::new();
    let alice = arn("arn:aws:iam::444455556666:user/alice");
    let bob = arn("arn:aws:iam::444455556666:user/bob");
    let session = arn("arn:aws:sts::444455556666:assumed-role/Auditor/session-1");
    let (mine, anonymous, ct) = (account(ACCOUNT), Principal::Anonymous, cloudtrail());
    let rows: Vec<(String, &Principal, Decision)> = vec![
        (policy(r#"{"AWS":"444455556666"}"#), &alice, Decision::Allow),
        (policy(r#"{"AWS":"arn:aws:iam::444455556666:root"}"#), &session, Decision::Allow),
        (policy(r#"{"AWS":"arn:aws:iam::444455556666:root"}"#), &mine, Decision::NotApplicable),
        (policy(r#"{"AWS":"arn:aws:iam::444455556666:user/alice"}"#), &alice, Decision::Allow),
        (policy(r#"{"AWS":"arn:aws:iam::444455556666:user/alice"}"#), &bob, Decision::NotApplicable),
        (policy(r#"{"AWS":"arn:aws:iam::444455556666:role/audit/Auditor"}"#), &session, Decision::Allow),
        (policy(r#"{"AWS":"arn:aws:iam::444455556666:role/Other"}"#), &session, Decision::NotApplicable),
        (policy(r#"{"AWS":["arn:aws:iam::444455556666:user/bob","111122223333"]}"#), &mine, Decision::Allow),
        (policy(r#""*""#), &anonymous, Decision::Allow),
        (policy(r#"{"AWS":"*"}"#), &ct, Decision::Allow),
        (policy(r#"{"Service":"cloudtrail.amazonaws.com"}"#), &alice, Decision::NotApplicable),
        (policy(r#"{"Service":["config.amazonaws.com","cloudtrail.amazonaws.com"]}"#), &ct, Decision::Allow),
    ];
    for (p, who, want) in rows {
        assert_eq!(decide(&p, who, "s3:GetObject", "arn:aws:s3:::b/k", &c), want, "{p} for {who:?}");
    }
    // NotPrincipal with Deny: everyone but the listed principals is denied.
    let deny_others = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:user/alice","444455556666"]},"Action":"s3:*","Resource":"*"}]}"#;
    assert_eq!(decide(deny_others, &alice, "s3:GetObject", "arn:aws:s3:::b/k", &c), Decision::NotApplicable);
    assert_eq!(decide(deny_others, &account(ACCOUNT), "s3:GetObject", "arn:aws:s3:::b/k", &c), Decision::Deny);
}

#[test]
fn kms_key_policy_for_cloudtrail_checks_the_encryption_context() {
    let policy = r#"{
      "Version": "2012-10-17",
      "Id": "Key policy created by CloudTrail",
      "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management"},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}},
        {"Sid": "Allow log decryption", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}, "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}}
      ]
    }"#;
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let good = ctx(&[("aws:SourceArn", TRAIL), ("kms:EncryptionContext:aws:cloudtrail:arn", TRAIL)]);
    let other_account_context = ctx(&[
        ("aws:SourceArn", TRAIL),
        ("kms:encryptioncontext:aws:cloudtrail:arn", "arn:aws:cloudtrail:us-east-1:444455556666:trail/x"),
    ]);
    assert_eq!(decide(policy, &cloudtrail(), "kms:GenerateDataKey", key, &good), Decision::Allow);
    assert_eq!(decide(policy, &cloudtrail(), "kms:GenerateDataKeyWithoutPlaintext", key, &good), Decision::Allow);
    assert_eq!(
        decide(policy, &cloudtrail(), "kms:GenerateDataKey", key, &other_account_context),
        Decision::NotApplicable
    );
    assert_eq!(decide(policy, &cloudtrail(), "kms:Decrypt", key, &good), Decision::NotApplicable);
    assert_eq!(decide(policy, &cloudtrail(), "kms:ScheduleKeyDeletion", key, &good), Decision::NotApplicable);
    let reader = ctx(&[("kms:CallerAccount", ACCOUNT), ("kms:EncryptionContext:aws:cloudtrail:arn", TRAIL)]);
    assert_eq!(
        decide(policy, &arn("arn:aws:iam::111122223333:user/auditor"), "kms:Decrypt", key, &reader),
        Decision::Allow
    );
    let no_context = ctx(&[("kms:CallerAccount", ACCOUNT)]);
    assert_eq!(
        decide(policy, &arn("arn:aws:iam::111122223333:user/auditor"), "kms:Decrypt", key, &no_context),
        Decision::Allow,
        "the account's own statement"
    );
    assert_eq!(
        decide(
            policy,
            &account(OTHER),
            "kms:Decrypt",
            key,
            &ctx(&[("kms:CallerAccount", OTHER), ("kms:EncryptionContext:aws:cloudtrail:arn", TRAIL)])
        ),
        Decision::NotApplicable
    );
}

#[test]
fn variables_dates_and_versions() {
    let home = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["s3:GetObject","s3:PutObject"],
        "Resource":"arn:aws:s3:::home/${aws:username}/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}]}"#;
    let alice = arn("arn:aws:iam::111122223333:user/alice");
    let now = |t: &str| ctx(&[("aws:username", "alice"), ("aws:CurrentTime", t)]);
    assert_eq!(
        decide(home, &alice, "s3:PutObject", "arn:aws:s3:::home/alice/notes", &now("2026-12-03T08:00:00Z")),
        Decision::Allow
    );
    assert_eq!(
        decide(home, &alice, "s3:PutObject", "arn:aws:s3:::home/bob/notes", &now("2026-12-03T08:00:00Z")),
        Decision::NotApplicable
    );
    assert_eq!(
        decide(home, &alice, "s3:PutObject", "arn:aws:s3:::home/alice/notes", &now("2027-01-01T00:00:00Z")),
        Decision::NotApplicable
    );
    // Version 2008-10-17 knows no variables: the text is literal.
    let old = home.replace("2012-10-17", "2008-10-17");
    assert_eq!(
        decide(&old, &alice, "s3:PutObject", "arn:aws:s3:::home/alice/notes", &now("2026-12-03T08:00:00Z")),
        Decision::NotApplicable
    );
    assert_eq!(
        decide(&old, &alice, "s3:PutObject", "arn:aws:s3:::home/${aws:username}/notes", &now("2026-12-03T08:00:00Z")),
        Decision::Allow
    );
    // Variables in condition values.
    let tagged = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*",
        "Condition":{"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}}}]}"#;
    assert_eq!(
        decide(
            tagged,
            &alice,
            "s3:GetObject",
            "x",
            &ctx(&[("aws:SourceAccount", ACCOUNT), ("aws:PrincipalAccount", ACCOUNT)])
        ),
        Decision::Allow
    );
    assert_eq!(
        decide(
            tagged,
            &alice,
            "s3:GetObject",
            "x",
            &ctx(&[("aws:SourceAccount", OTHER), ("aws:PrincipalAccount", ACCOUNT)])
        ),
        Decision::NotApplicable
    );
    // Actions are case-insensitive, resources are not.
    let p = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"S3:get*","Resource":"arn:aws:s3:::B/*"}}"#;
    assert_eq!(decide(p, &alice, "s3:GetObject", "arn:aws:s3:::B/k", &Context::new()), Decision::Allow);
    assert_eq!(decide(p, &alice, "s3:GetObject", "arn:aws:s3:::b/k", &Context::new()), Decision::NotApplicable);
}

#[test]
fn malformed_policies_are_refused_with_a_reason() {
    let rows: &[(&str, &str)] = &[
        ("", "Policies must be valid JSON and the first byte must be '{'"),
        ("[]", "Policies must be valid JSON and the first byte must be '{'"),
        ("{\"Statement\":", "This policy contains invalid Json"),
        (r#"{"Version":"2012-10-17"}"#, "Missing required field Statement"),
        (r#"{"Version":"2012-10-17","Statement":[]}"#, "Could not parse the policy: Statement is empty!"),
        (r#"{"Version":"2013-01-01","Statement":[]}"#, "The policy must contain a valid version string"),
        (r#"{"Statement":[{"Principal":"*","Action":"s3:*","Resource":"*"}]}"#, "Missing required field Effect"),
        (
            r#"{"Statement":[{"Effect":"Permit","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
            "Invalid effect: Permit",
        ),
        (r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#, "Missing required field Principal"),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"s3:*","Resource":"*"}]}"#,
            "Invalid principal in policy",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Group":"x"},"Action":"s3:*","Resource":"*"}]}"#,
            "Invalid principal in policy",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"*"},"Action":"s3:*","Resource":"*"}]}"#,
            "Invalid principal in policy",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}]}"#,
            "Invalid principal in policy",
        ),
        (r#"{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"*"}]}"#, "Missing required field Action"),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"GetObject","Resource":"*"}]}"#,
            "Policy has invalid action",
        ),
        (r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}"#, "Missing required field Resource"),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}]}"#,
            "Invalid policy syntax.",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":null,"Resource":"*"}]}"#,
            "Invalid policy syntax.",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Extra":1}]}"#,
            "Invalid policy syntax.",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}]}"#,
            "Invalid Condition type : StringEqualz",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.300"}}}]}"#,
            "Invalid IP address in Conditions",
        ),
    ];
    for (doc, message) in rows {
        assert_eq!(Policy::parse(doc, &Any).unwrap_err().message, *message, "{doc}");
    }
    let big = format!(r#"{{"Id":"{}","Statement":[]}}"#, "x".repeat(20 * 1024));
    let err = Policy::parse(&big, &Any).unwrap_err();
    assert!(err.too_large);
    assert_eq!(err.message, "Normalized policy document exceeds the maximum allowed size of 20480 bytes");
    // Insignificant whitespace does not count.
    let spaced = format!(
        "{{\"Statement\":{{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}{}}}",
        " ".repeat(30_000)
    );
    assert!(Policy::parse(&spaced, &Any).is_ok());
    // Repeated Sids are accepted, as S3 accepts them.
    let repeated = r#"{"Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
    assert_eq!(Policy::parse(repeated, &Any).unwrap().statements.len(), 2);
}
