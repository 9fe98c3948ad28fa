//! The SNS operations cairn answers, by name.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateTopic,
    DeleteTopic,
    ListTopics,
    GetTopicAttributes,
    SetTopicAttributes,
    Subscribe,
    ConfirmSubscription,
    Unsubscribe,
    ListSubscriptions,
    ListSubscriptionsByTopic,
    GetSubscriptionAttributes,
    SetSubscriptionAttributes,
    Publish,
    TagResource,
    UntagResource,
    ListTagsForResource,
}

impl Operation {
    pub const ALL: [Operation; 16] = [
        Operation::CreateTopic,
        Operation::DeleteTopic,
        Operation::ListTopics,
        Operation::GetTopicAttributes,
        Operation::SetTopicAttributes,
        Operation::Subscribe,
        Operation::ConfirmSubscription,
        Operation::Unsubscribe,
        Operation::ListSubscriptions,
        Operation::ListSubscriptionsByTopic,
        Operation::GetSubscriptionAttributes,
        Operation::SetSubscriptionAttributes,
        Operation::Publish,
        Operation::TagResource,
        Operation::UntagResource,
        Operation::ListTagsForResource,
    ];

    pub fn name(self) -> &'static str {
        const NAMES: [&str; 16] = [
            "CreateTopic",
            "DeleteTopic",
            "ListTopics",
            "GetTopicAttributes",
            "SetTopicAttributes",
            "Subscribe",
            "ConfirmSubscription",
            "Unsubscribe",
            "ListSubscriptions",
            "ListSubscriptionsByTopic",
            "GetSubscriptionAttributes",
            "SetSubscriptionAttributes",
            "Publish",
            "TagResource",
            "UntagResource",
            "ListTagsForResource",
        ];
        NAMES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Whether the operation only reads (recorded with `readOnly: true`).
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Operation::ListTopics
                | Operation::GetTopicAttributes
                | Operation::ListSubscriptions
                | Operation::ListSubscriptionsByTopic
                | Operation::GetSubscriptionAttributes
                | Operation::ListTagsForResource
        )
    }

    /// Whether CloudTrail records the operation as a data event (Publish), not a management event.
    pub fn is_data(self) -> bool {
        self == Operation::Publish
    }

    /// The action a topic policy names for the operation.
    pub fn action(self) -> &'static str {
        match self {
            Operation::GetTopicAttributes => "SNS:GetTopicAttributes",
            Operation::SetTopicAttributes => "SNS:SetTopicAttributes",
            Operation::DeleteTopic => "SNS:DeleteTopic",
            Operation::Subscribe => "SNS:Subscribe",
            Operation::ListSubscriptionsByTopic => "SNS:ListSubscriptionsByTopic",
            Operation::Publish => "SNS:Publish",
            Operation::TagResource => "SNS:TagResource",
            Operation::UntagResource => "SNS:UntagResource",
            Operation::ListTagsForResource => "SNS:ListTagsForResource",
            _ => "SNS:Receive",
        }
    }
}
