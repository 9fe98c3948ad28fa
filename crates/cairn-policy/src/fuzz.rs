//! The entry point of the `policy` fuzz target in `fuzz/` (cargo-fuzz), shared with the deterministic mutation test
//! below so that every test run exercises it: parsing any text, and evaluating whatever parses, must never panic.

use crate::{Context, Dialect, Policy, PolicyError, Principal, Request};

/// Any action and resource, at S3's size limit.
struct Permissive;

impl Dialect for Permissive {
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

/// Parses `data` as a policy; when it parses, evaluates it for several principals against a context whose values
/// come from the input too (so variables, wildcards and every operator meet arbitrary text).
pub fn policy(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(p) = Policy::parse(&text, &Permissive) else { return };
    let mut context = Context::new();
    let tail: String = text.chars().rev().take(40).collect();
    for key in ["aws:SourceArn", "aws:SourceIp", "aws:CurrentTime", "aws:username", "aws:PrincipalAccount", "s3:prefix"]
    {
        context.set(key, tail.clone());
    }
    for c in p.statements.iter().flat_map(|s| &s.conditions) {
        context.set_all(&c.key, c.values.iter().rev().cloned().collect());
    }
    let principals = [
        Principal::Aws { account: "111122223333".into(), arn: "arn:aws:iam::111122223333:root".into() },
        Principal::Aws { account: "444455556666".into(), arn: "arn:aws:sts::444455556666:assumed-role/r/s".into() },
        Principal::Service("cloudtrail.amazonaws.com".into()),
        Principal::Anonymous,
    ];
    for principal in &principals {
        for (action, resource) in [("s3:GetObject", "arn:aws:s3:::b/k"), ("kms:Decrypt", "*"), ("x:y", tail.as_str())] {
            let _ = p.evaluate(&Request { principal, action, resource, context: &context });
        }
    }
}

#[cfg(test)]
mod tests {
    const SEEDS: &[&[u8]] = &[
        br#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/AWSLogs/${aws:PrincipalAccount}/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"},"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:1:trail/*"}}}]}"#,
        br#"{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/x"]},"NotAction":"s3:Get*","NotResource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"s3:prefix":["a*?","${*}${?}${aws:username, 'x'}"]},"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]}}}}"#,
        br#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},"NumericLessThan":{"k":[1,2.5,-3e2]},"Bool":{"aws:SecureTransport":true},"Null":{"x":"false"}}}]}"#,
    ];

    #[test]
    fn the_target_survives_mutated_seeds() {
        let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut parsed = 0;
        for _ in 0..20_000 {
            let mut input = SEEDS[next() as usize % SEEDS.len()].to_vec();
            for _ in 0..(next() % 4 + 1) {
                let len = input.len().max(1);
                match next() % 5 {
                    0 if !input.is_empty() => {
                        let i = next() as usize % input.len();
                        input[i] ^= 1 << (next() % 8);
                    }
                    1 => input.truncate(next() as usize % len),
                    2 => input.insert(next() as usize % len.min(input.len() + 1), next() as u8),
                    3 => {
                        let other = SEEDS[next() as usize % SEEDS.len()];
                        let at = next() as usize % other.len();
                        input.extend_from_slice(&other[at..]);
                    }
                    _ => {
                        input.insert(next() as usize % len.min(input.len() + 1), b"{}[]\"*?$:,/"[next() as usize % 11])
                    }
                }
            }
            let text = String::from_utf8_lossy(&input);
            parsed += usize::from(crate::Policy::parse(&text, &super::Permissive).is_ok());
            super::policy(&input);
        }
        for seed in SEEDS {
            assert!(crate::Policy::parse(std::str::from_utf8(seed).unwrap(), &super::Permissive).is_ok());
        }
        assert!(parsed > 100, "mutations should often still parse, so evaluation is exercised: {parsed}");
    }
}
