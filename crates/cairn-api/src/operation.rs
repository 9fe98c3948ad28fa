//! The operations of the CloudTrail API and the `X-Amz-Target` router that names them.

/// The JSON 1.1 target prefix of CloudTrail, as sent in `X-Amz-Target`.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
/// The short form of the target prefix, which CloudTrail also accepts.
pub const SHORT_TARGET_PREFIX: &str = "CloudTrail_20131101.";

macro_rules! operations {
    ($($op:ident,)*) => {
        /// Every operation of the CloudTrail API model.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($op,)*
        }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$op,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$op => stringify!($op),)*
                }
            }

            pub fn from_name(name: &str) -> Option<Operation> {
                match name {
                    $(stringify!($op) => Some(Operation::$op),)*
                    _ => None,
                }
            }
        }
    };
}

operations! {
    AddTags,
    CancelQuery,
    CreateChannel,
    CreateDashboard,
    CreateEventDataStore,
    CreateTrail,
    DeleteChannel,
    DeleteDashboard,
    DeleteEventDataStore,
    DeleteResourcePolicy,
    DeleteTrail,
    DeregisterOrganizationDelegatedAdmin,
    DescribeQuery,
    DescribeTrails,
    DisableFederation,
    EnableFederation,
    GenerateQuery,
    GetChannel,
    GetDashboard,
    GetEventConfiguration,
    GetEventDataStore,
    GetEventSelectors,
    GetImport,
    GetInsightSelectors,
    GetQueryResults,
    GetResourcePolicy,
    GetTrail,
    GetTrailStatus,
    ListChannels,
    ListDashboards,
    ListEventDataStores,
    ListImportFailures,
    ListImports,
    ListInsightsData,
    ListInsightsMetricData,
    ListPublicKeys,
    ListQueries,
    ListTags,
    ListTrails,
    LookupEvents,
    PutEventConfiguration,
    PutEventSelectors,
    PutInsightSelectors,
    PutResourcePolicy,
    RegisterOrganizationDelegatedAdmin,
    RemoveTags,
    RestoreEventDataStore,
    SearchSampleQueries,
    StartDashboardRefresh,
    StartEventDataStoreIngestion,
    StartImport,
    StartLogging,
    StartQuery,
    StopEventDataStoreIngestion,
    StopImport,
    StopLogging,
    UpdateChannel,
    UpdateDashboard,
    UpdateEventDataStore,
    UpdateTrail,
}

impl Operation {
    /// Parses an `X-Amz-Target` header value in its full or short form.
    pub fn from_target(target: &str) -> Option<Operation> {
        let name = target.strip_prefix(TARGET_PREFIX).or_else(|| target.strip_prefix(SHORT_TARGET_PREFIX))?;
        Operation::from_name(name)
    }

    /// Operations that only read state (`readOnly` in their CloudTrail events).
    pub fn is_read_only(self) -> bool {
        let n = self.name();
        ["Describe", "Get", "List", "Lookup", "Search"].iter().any(|p| n.starts_with(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_operations_round_trip_through_targets() {
        assert_eq!(Operation::ALL.len(), 60);
        for op in Operation::ALL {
            assert_eq!(Operation::from_target(&format!("{TARGET_PREFIX}{}", op.name())), Some(*op));
            assert_eq!(Operation::from_target(&format!("{SHORT_TARGET_PREFIX}{}", op.name())), Some(*op));
        }
        assert_eq!(Operation::from_target("CloudTrail_20131101.NoSuchThing"), None);
        assert_eq!(Operation::from_target("DescribeTrails"), None);
        assert_eq!(Operation::from_target("com.amazonaws.other.Svc.DescribeTrails"), None);
    }
}
