//! The KMS operations cairn serves, by their `X-Amz-Target` names (`TrentService.<Name>`), with which CloudTrail
//! records as read-only.

macro_rules! operations {
    ($($op:ident => $read_only:literal,)*) => {
        /// A KMS operation.
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
        }
    };
}

operations! {
    CancelKeyDeletion => false,
    CreateAlias => false,
    CreateKey => false,
    Decrypt => true,
    DeleteAlias => false,
    DescribeKey => true,
    DisableKey => false,
    EnableKey => false,
    Encrypt => true,
    GenerateDataKey => true,
    GenerateDataKeyWithoutPlaintext => true,
    GetKeyPolicy => true,
    ListAliases => true,
    ListKeyPolicies => true,
    ListKeys => true,
    ListResourceTags => true,
    PutKeyPolicy => false,
    ReEncrypt => true,
    ScheduleKeyDeletion => false,
    TagResource => false,
    UntagResource => false,
    UpdateAlias => false,
}

/// The JSON protocol's target prefix of KMS.
pub const TARGET_PREFIX: &str = "TrentService.";

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
                    .join("../../../shared/reference/aws-models/kms-2014-11-01.service-2.json"),
            )
            .unwrap_or_else(|_| r#"{"operations":{}}"#.to_string()),
        )
        .unwrap();
        let ops = model["operations"].as_object().unwrap();
        for op in Operation::ALL {
            assert_eq!(Operation::from_target(&format!("TrentService.{}", op.name())), Some(*op));
            assert!(ops.is_empty() || ops.contains_key(op.name()), "{} is not in the KMS model", op.name());
        }
        assert_eq!(Operation::from_target("TrentService.Nope"), None);
        assert_eq!(Operation::from_target("CloudTrail_20131101.ListTrails"), None);
    }
}
