//! The CloudWatch Logs operations cairn serves, by their `X-Amz-Target` names (`Logs_20140328.<Name>`), with how
//! CloudTrail records each: read-only or not, and whether it is a data event (reading or writing log events).

macro_rules! operations {
    ($($op:ident => $read_only:literal, $data:literal,)*) => {
        /// A CloudWatch Logs operation.
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

            /// Whether CloudTrail records the call with `readOnly: true`.
            pub fn is_read_only(self) -> bool {
                match self {
                    $(Operation::$op => $read_only,)*
                }
            }

            /// Whether CloudTrail records the call as a data event (log events in or out), not a management event.
            pub fn is_data(self) -> bool {
                match self {
                    $(Operation::$op => $data,)*
                }
            }
        }
    };
}

operations! {
    CreateLogGroup => false, false,
    DeleteLogGroup => false, false,
    DescribeLogGroups => true, false,
    PutRetentionPolicy => false, false,
    DeleteRetentionPolicy => false, false,
    CreateLogStream => false, false,
    DeleteLogStream => false, false,
    DescribeLogStreams => true, false,
    PutLogEvents => false, true,
    GetLogEvents => true, true,
    FilterLogEvents => true, true,
    PutMetricFilter => false, false,
    DescribeMetricFilters => true, false,
    DeleteMetricFilter => false, false,
    TestMetricFilter => true, false,
    TagResource => false, false,
    UntagResource => false, false,
    ListTagsForResource => true, false,
    TagLogGroup => false, false,
    UntagLogGroup => false, false,
    ListTagsLogGroup => true, false,
}

/// The JSON protocol's target prefix of CloudWatch Logs.
pub const TARGET_PREFIX: &str = "Logs_20140328.";

impl Operation {
    /// The operation an `X-Amz-Target` header names.
    pub fn from_target(target: &str) -> Option<Operation> {
        let name = target.strip_prefix(TARGET_PREFIX)?;
        Operation::ALL.iter().copied().find(|op| op.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_operations_of_the_model() {
        let model: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/reference/aws-models/logs-2014-03-28.service-2.json"),
            )
            .unwrap_or_else(|_| r#"{"operations":{}}"#.to_string()),
        )
        .unwrap();
        let ops = model["operations"].as_object().unwrap();
        for op in Operation::ALL {
            assert_eq!(Operation::from_target(&format!("Logs_20140328.{}", op.name())), Some(*op));
            assert!(ops.is_empty() || ops.contains_key(op.name()), "{} is not in the Logs model", op.name());
        }
        assert_eq!(Operation::from_target("Logs_20140328.Nope"), None);
        assert_eq!(Operation::from_target("TrentService.ListKeys"), None);
    }
}
