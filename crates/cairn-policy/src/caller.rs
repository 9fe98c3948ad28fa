//! Who makes a request and the global condition keys (`aws:*`) that follow from it, as every service holding a
//! resource policy sets them.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::eval::{Context, Principal};

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A credential of an account: its root, a user or a role session.
    Account {
        account: String,
        arn: String,
        /// The account's organization, if it is in one.
        organization: Option<String>,
    },
    /// A service principal acting for a resource (`cloudtrail.amazonaws.com` delivering for a trail).
    Service { name: String, source_arn: String, source_account: String },
    /// An unsigned request.
    Anonymous,
}

impl Caller {
    pub fn account(&self) -> Option<&str> {
        match self {
            Caller::Account { account, .. } => Some(account),
            _ => None,
        }
    }

    /// The principal a policy's `Principal` element is matched against.
    pub fn principal(&self) -> Principal {
        match self {
            Caller::Account { account, arn, .. } => Principal::Aws { account: account.clone(), arn: arn.clone() },
            Caller::Service { name, .. } => Principal::Service(name.clone()),
            Caller::Anonymous => Principal::Anonymous,
        }
    }

    /// Whether this is the root of `owner`.
    pub fn is_root_of(&self, owner: &str) -> bool {
        matches!(self, Caller::Account { account, arn, .. } if account == owner && arn.ends_with(":root"))
    }
}

/// One request's facts that conditions can test.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub caller: Caller,
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    pub now: OffsetDateTime,
}

impl RequestFacts {
    /// The global condition keys of the request (`aws:*`), and `extra` (the service's own keys).
    pub fn context(&self, extra: &[(&str, String)]) -> Context {
        let mut c = Context::new();
        if let Ok(now) = self.now.format(&time::format_description::well_known::Rfc3339) {
            c.set("aws:CurrentTime", now);
        }
        c.set("aws:EpochTime", self.now.unix_timestamp().to_string());
        c.set("aws:SecureTransport", self.secure_transport.to_string());
        if let Some(ip) = self.source_ip {
            c.set("aws:SourceIp", ip.to_string());
        }
        match &self.caller {
            Caller::Account { account, arn, organization } => {
                c.set("aws:PrincipalAccount", account.clone());
                c.set("aws:PrincipalArn", arn.clone());
                if let Some(o) = organization {
                    c.set("aws:PrincipalOrgID", o.clone());
                }
                let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
                let (kind, userid) = match resource.split_once('/') {
                    Some(("user", name)) => {
                        let name = name.rsplit('/').next().unwrap_or(name);
                        c.set("aws:username", name.to_string());
                        ("User", format!("AIDA{}", short_id(arn)))
                    }
                    Some(("assumed-role", rest)) => {
                        let session = rest.split_once('/').map_or(rest, |(_, s)| s);
                        ("AssumedRole", format!("AROA{}:{session}", short_id(arn)))
                    }
                    _ => ("Account", account.clone()),
                };
                c.set("aws:PrincipalType", kind);
                c.set("aws:userid", userid);
            }
            Caller::Service { name, source_arn, source_account } => {
                c.set("aws:PrincipalServiceName", name.clone());
                c.set("aws:SourceArn", source_arn.clone());
                c.set("aws:SourceAccount", source_account.clone());
                c.set("aws:PrincipalType", "Service");
            }
            Caller::Anonymous => {
                c.set("aws:PrincipalType", "Anonymous");
                c.set("aws:userid", "anonymous");
            }
        }
        for (k, v) in extra {
            c.set(k, v.clone());
        }
        c
    }
}

/// A stable, IAM-looking unique-id suffix for a principal ARN.
fn short_id(arn: &str) -> String {
    // FNV-1a, twice with different seeds: stable across versions and platforms, as an id must be.
    let fnv = |seed: u64| arn.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{:08X}{:08X}", fnv(0xcbf2_9ce4_8422_2325) as u32, fnv(0x8422_2325_cbf2_9ce4) as u32)
}
