//! The CloudWatch operations cairn answers, by name.

macro_rules! operations {
    ($($op:ident => $read_only:literal;)*) => {
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

            /// Whether the operation only reads (recorded with `readOnly: true`).
            pub fn is_read_only(self) -> bool {
                match self {
                    $(Operation::$op => $read_only,)*
                }
            }

            /// Whether CloudTrail records the operation as a data event: metric data written and read.
            pub fn is_data(self) -> bool {
                matches!(
                    self,
                    Operation::PutMetricData | Operation::GetMetricData | Operation::GetMetricStatistics | Operation::ListMetrics
                )
            }

            pub fn from_name(name: &str) -> Option<Operation> {
                Operation::ALL.iter().copied().find(|op| op.name() == name)
            }
        }
    };
}

operations! {
    PutMetricData => false;
    GetMetricData => true;
    GetMetricStatistics => true;
    ListMetrics => true;
    PutMetricAlarm => false;
    DescribeAlarms => true;
    DescribeAlarmsForMetric => true;
    DeleteAlarms => false;
    DescribeAlarmHistory => true;
    SetAlarmState => false;
    EnableAlarmActions => false;
    DisableAlarmActions => false;
    TagResource => false;
    UntagResource => false;
    ListTagsForResource => true;
}
