//! Amazon Resource Names: parsing, and the ARNs cairn mints for its own resources.

use crate::{names, Error, Result};

/// A parsed `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

/// The kind of CloudTrail resource an ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Trail,
    EventDataStore,
    Channel,
    Dashboard,
}

impl Arn {
    pub fn parse(s: &str) -> Result<Arn> {
        let invalid = || Error::InvalidArn(format!("{s:?} is not a valid ARN"));
        let mut it = s.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
            (it.next(), it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(invalid());
        };
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return Err(invalid());
        }
        Ok(Arn {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }

    /// A CloudTrail resource ARN: `arn:aws:cloudtrail:<region>:<account>:<kind>/<id>`.
    pub fn cloudtrail_resource(&self) -> Option<(ResourceKind, &str)> {
        if self.service != "cloudtrail" || !names::is_region(&self.region) || !names::is_account_id(&self.account) {
            return None;
        }
        let (kind, id) = self.resource.split_once('/')?;
        let kind = match kind {
            "trail" => ResourceKind::Trail,
            "eventdatastore" => ResourceKind::EventDataStore,
            "channel" => ResourceKind::Channel,
            "dashboard" => ResourceKind::Dashboard,
            _ => return None,
        };
        (!id.is_empty()).then_some((kind, id))
    }
}

pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
}

/// A trail is named either by its name or by its ARN; this tells which, validating either form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailRef {
    Name(String),
    Arn { region: String, account: String, name: String },
}

impl TrailRef {
    pub fn parse(s: &str) -> Result<TrailRef> {
        if s.starts_with("arn:") {
            let arn = Arn::parse(s)?;
            return match arn.cloudtrail_resource() {
                Some((ResourceKind::Trail, name)) => {
                    names::validate_trail_name(name)?;
                    Ok(TrailRef::Arn { region: arn.region.clone(), account: arn.account.clone(), name: name.into() })
                }
                _ => Err(Error::InvalidArn(format!("{s:?} is not a valid trail ARN"))),
            };
        }
        names::validate_trail_name(s)?;
        Ok(TrailRef::Name(s.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_refs() {
        assert_eq!(TrailRef::parse("my-trail").unwrap(), TrailRef::Name("my-trail".into()));
        assert_eq!(
            TrailRef::parse("arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail").unwrap(),
            TrailRef::Arn { region: "us-east-2".into(), account: "123456789012".into(), name: "MyTrail".into() }
        );
        assert!(matches!(
            TrailRef::parse("arn:aws:cloudtrail:us-east-2:1234:trail/MyTrail"),
            Err(Error::InvalidArn(_))
        ));
        assert!(matches!(TrailRef::parse("arn:aws:s3:::bucket"), Err(Error::InvalidArn(_))));
        assert!(matches!(
            TrailRef::parse("arn:aws:cloudtrail:us-east-2:123456789012:trail/a"),
            Err(Error::InvalidTrailName(_))
        ));
        assert!(matches!(TrailRef::parse("x"), Err(Error::InvalidTrailName(_))));
        let a = Arn::parse("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/abc").unwrap();
        assert_eq!(a.cloudtrail_resource(), Some((ResourceKind::EventDataStore, "abc")));
    }
}
