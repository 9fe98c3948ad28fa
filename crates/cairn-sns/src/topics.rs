//! SNS's operations: topics and their attributes and policies, subscriptions and their confirmation, Publish, tags.
//! The topic's account may do anything to it (cairn has no IAM); other callers, and services publishing for
//! resources, need the topic policy to allow the action.

use cairn_api::wire::Node;
use cairn_api::{ApiError, ErrorCode};
use cairn_policy::{Caller, Decision, Dialect, Policy, PolicyError, Request, RequestFacts};
use serde_json::{json, Map, Value};

use crate::message::{signed, Unsigned};
use crate::read::{self, required};
use crate::retry::RetryPolicy;
use crate::store::{Delivery, Subscription, Topic};
use crate::{invalid, not_found, Call, Operation, Sns};

/// SNS's message size limit, attributes included.
const MAX_MESSAGE_BYTES: usize = 262_144;
const MAX_POLICY_BYTES: usize = 30 * 1024;
const PAGE: usize = 100;
const MAX_TAGS: usize = 50;
/// Attributes a topic may be created or updated with.
const TOPIC_ATTRIBUTES: [&str; 7] =
    ["DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "SignatureVersion", "TracingConfig", "FifoTopic"];
const SUBSCRIPTION_ATTRIBUTES: [&str; 3] = ["RawMessageDelivery", "DeliveryPolicy", "FilterPolicy"];

pub(crate) fn call(sns: &Sns, call: &Call<'_>, op: Operation, input: &Value) -> Result<Option<Node>, ApiError> {
    use Operation as Op;
    match op {
        Op::CreateTopic => create_topic(sns, call, input).map(Some),
        Op::DeleteTopic => {
            let topic = topic(sns, call, input, op)?;
            sns.store.delete_topic(&topic.arn)?;
            Ok(None)
        }
        Op::ListTopics => list_topics(sns, call, input).map(Some),
        Op::GetTopicAttributes => {
            let topic = topic(sns, call, input, op)?;
            Ok(Some(Node::object().with("Attributes", topic_attributes(sns, &topic)?)))
        }
        Op::SetTopicAttributes => set_topic_attributes(sns, call, input).map(|()| None),
        Op::Subscribe => subscribe(sns, call, input).map(Some),
        Op::ConfirmSubscription => confirm(sns, input, Some(call), call.now_ms).map(Some),
        Op::Unsubscribe => unsubscribe(sns, input, Some(call), call.now_ms).map(|()| None),
        Op::ListSubscriptions => {
            let subs = sns.store.subscriptions(None, Some((call.facts.caller.account().unwrap_or(""), call.region)))?;
            page_of_subscriptions(&subs, input, "Subscriptions").map(Some)
        }
        Op::ListSubscriptionsByTopic => {
            let topic = topic(sns, call, input, op)?;
            let subs = sns.store.subscriptions(Some(&topic.arn), None)?;
            page_of_subscriptions(&subs, input, "Subscriptions").map(Some)
        }
        Op::GetSubscriptionAttributes => {
            let s = subscription(sns, call, input)?;
            let topic = sns.store.topic(&s.topic_arn)?;
            Ok(Some(Node::object().with("Attributes", subscription_attributes(&s, topic.as_ref()))))
        }
        Op::SetSubscriptionAttributes => set_subscription_attributes(sns, call, input).map(|()| None),
        Op::Publish => publish(sns, call, input).map(Some),
        Op::TagResource | Op::UntagResource | Op::ListTagsForResource => tags(sns, call, op, input),
    }
}

fn arn_of(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sns:{region}:{account}:{name}")
}

fn valid_topic_name(name: &str) -> bool {
    (1..=256).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The default topic policy: the owner's account may do everything, through any principal acting for it.
fn default_policy(arn: &str, account: &str) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                       "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

/// The rules SNS adds to the policy language.
struct TopicPolicyDialect;

impl Dialect for TopicPolicyDialect {
    fn max_bytes(&self) -> usize {
        MAX_POLICY_BYTES
    }

    fn check_action(&self, action: &str) -> Result<(), PolicyError> {
        match action.split_once(':') {
            Some((service, _)) if service.eq_ignore_ascii_case("sns") => Ok(()),
            _ if action == "*" => Ok(()),
            _ => Err(PolicyError::new(format!("Policy statement action out of service scope: {action}"))),
        }
    }

    fn check_resource(&self, resource: &str) -> Result<(), PolicyError> {
        if resource == "*" || resource.starts_with("arn:aws:sns:") {
            Ok(())
        } else {
            Err(PolicyError::new(format!("Invalid resource {resource}: it must be an SNS topic ARN")))
        }
    }
}

fn parse_policy(text: &str) -> Result<Policy, ApiError> {
    Policy::parse(text, &TopicPolicyDialect).map_err(|e| invalid(format!("Policy Error: {e}")))
}

/// What a topic's policy says about a caller doing `action`, with `extra` condition keys.
fn policy_decision(topic: &Topic, facts: &RequestFacts, action: &str, extra: &[(&str, String)]) -> Decision {
    let text = topic.attributes.get("Policy").and_then(Value::as_str).map(str::to_string);
    let text = text.unwrap_or_else(|| default_policy(&topic.arn, &topic.account));
    let Ok(policy) = Policy::parse(&text, &TopicPolicyDialect) else { return Decision::NotApplicable };
    let context = facts.context(extra);
    policy.evaluate(&Request { principal: &facts.caller.principal(), action, resource: &topic.arn, context: &context })
}

/// The topic an operation names, after checking the caller may act on it.
fn topic(sns: &Sns, call: &Call<'_>, input: &Value, op: Operation) -> Result<Topic, ApiError> {
    let arn = required(input, "TopicArn")?;
    find_topic(sns, call, arn, op)
}

fn find_topic(sns: &Sns, call: &Call<'_>, arn: &str, op: Operation) -> Result<Topic, ApiError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" || !valid_topic_name(parts[5]) {
        return Err(invalid("TopicArn"));
    }
    if parts[3] != call.region {
        return Err(invalid(format!("TopicArn Reason: the topic is in {}, not {}", parts[3], call.region)));
    }
    let topic = sns.store.topic(arn)?.ok_or_else(|| not_found("Topic does not exist"))?;
    authorize(&topic, call.facts, op)?;
    Ok(topic)
}

fn authorize(topic: &Topic, facts: &RequestFacts, op: Operation) -> Result<(), ApiError> {
    if facts.caller.account() == Some(topic.account.as_str()) {
        return Ok(());
    }
    if policy_decision(topic, facts, op.action(), &[]) == Decision::Allow {
        return Ok(());
    }
    let who = match &facts.caller {
        Caller::Account { arn, .. } => arn.clone(),
        Caller::Service { name, .. } => name.clone(),
        Caller::Anonymous => "anonymous".into(),
    };
    Err(ApiError::new(
        ErrorCode::SnsAuthorizationError,
        format!("User: {who} is not authorized to perform: {} on resource: {}", op.action(), topic.arn),
    ))
}

/// Checks a topic attribute's value as SNS does; answers it as stored.
fn check_topic_attribute(name: &str, value: &str) -> Result<Value, ApiError> {
    match name {
        "DisplayName" if value.chars().count() > 100 => Err(invalid("DisplayName Reason: at most 100 characters")),
        "Policy" => parse_policy(value).map(|_| json!(value)),
        "DeliveryPolicy" => {
            let v: Value = serde_json::from_str(value).map_err(|e| invalid(format!("DeliveryPolicy: {e}")))?;
            let http = &v["http"];
            if !http["defaultHealthyRetryPolicy"].is_null() {
                RetryPolicy::parse(&http["defaultHealthyRetryPolicy"])
                    .map_err(|e| invalid(format!("DeliveryPolicy: {e}")))?;
            }
            Ok(json!(value))
        }
        "SignatureVersion" if value != "2" => {
            Err(invalid("SignatureVersion Reason: cairn signs messages with SignatureVersion 2 (SHA256withRSA)"))
        }
        "FifoTopic" if value == "true" => Err(invalid("Attributes Reason: cairn has standard topics only, not FIFO")),
        "TracingConfig" if value != "PassThrough" && value != "Active" => {
            Err(invalid("TracingConfig Reason: must be PassThrough or Active"))
        }
        "DisplayName" | "KmsMasterKeyId" | "SignatureVersion" | "FifoTopic" | "TracingConfig" => Ok(json!(value)),
        other => Err(invalid(format!("Attributes Reason: Unknown attribute {other}"))),
    }
}

fn tag_pairs(input: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let list = match &input["Tags"] {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a.clone(),
        Value::String(s) if s.is_empty() => Vec::new(),
        _ => return Err(invalid("Tags Reason: must be a list")),
    };
    let mut tags = Vec::new();
    for t in &list {
        let k = required(t, "Key")?;
        let v = required(t, "Value")?;
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(invalid("Tags Reason: keys are 1 to 128 characters, values at most 256"));
        }
        tags.push((k.to_string(), v.to_string()));
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::new(
            ErrorCode::SnsTagLimitExceeded,
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    Ok(tags)
}

fn create_topic(sns: &Sns, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let name = required(input, "Name")?;
    if !valid_topic_name(name) {
        return Err(invalid("Topic Name"));
    }
    let account = call.facts.caller.account().unwrap_or("").to_string();
    let arn = arn_of(call.region, &account, name);
    let mut attributes = Map::new();
    for (k, v) in read::map(input, "Attributes")? {
        if !TOPIC_ATTRIBUTES.contains(&k.as_str()) {
            return Err(invalid(format!("Attributes Reason: Unknown attribute {k}")));
        }
        attributes.insert(k.clone(), check_topic_attribute(&k, &v)?);
    }
    let tags = tag_pairs(input)?;
    let topic =
        Topic { arn: arn.clone(), account, region: call.region.to_string(), name: name.to_string(), attributes };
    if !sns.store.create_topic(&topic, &tags)? {
        // Creating an existing topic is idempotent, but only with the same attributes and tags.
        let existing = sns.store.topic(&arn)?.ok_or_else(|| not_found("Topic does not exist"))?;
        if !topic.attributes.is_empty() && existing.attributes != topic.attributes {
            return Err(invalid("Attributes Reason: Topic already exists with different attributes"));
        }
        if !tags.is_empty() && sns.store.tags(&arn)? != sorted(tags) {
            return Err(invalid("Tags Reason: Topic already exists with different tags"));
        }
    }
    Ok(Node::object().with("TopicArn", arn))
}

fn sorted(mut tags: Vec<(String, String)>) -> Vec<(String, String)> {
    tags.sort();
    tags
}

fn page_token(input: &Value) -> Result<usize, ApiError> {
    match read::text(input, "NextToken")? {
        None => Ok(0),
        Some(t) => cairn_api::token::decode("sns", t).and_then(|p| p.parse().ok()).ok_or_else(|| invalid("NextToken")),
    }
}

fn list_topics(sns: &Sns, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let from = page_token(input)?;
    let topics = sns.store.topics(call.facts.caller.account().unwrap_or(""), call.region)?;
    let page: Vec<Node> =
        topics.iter().skip(from).take(PAGE).map(|t| Node::object().with("TopicArn", t.arn.as_str())).collect();
    let next =
        (from + page.len() < topics.len()).then(|| cairn_api::token::encode("sns", &(from + page.len()).to_string()));
    Ok(Node::object().with("Topics", Node::List(page)).with("NextToken", next))
}

/// The topic's effective delivery policy for HTTP endpoints.
fn effective_delivery_policy(topic: &Topic) -> Value {
    let set: Value = topic
        .attributes
        .get("DeliveryPolicy")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let http = &set["http"];
    let retry = RetryPolicy::parse(&http["defaultHealthyRetryPolicy"]).unwrap_or_default();
    let mut out = json!({"http": {
        "defaultHealthyRetryPolicy": retry.to_json(),
        "disableSubscriptionOverrides": http["disableSubscriptionOverrides"].as_bool().unwrap_or(false),
        "defaultRequestPolicy": {"headerContentType": http["defaultRequestPolicy"]["headerContentType"].as_str().unwrap_or("text/plain; charset=UTF-8")}
    }});
    if !http["defaultThrottlePolicy"].is_null() {
        out["http"]["defaultThrottlePolicy"] = http["defaultThrottlePolicy"].clone();
    }
    out
}

fn topic_attributes(sns: &Sns, topic: &Topic) -> Result<Node, ApiError> {
    let subs = sns.store.subscriptions(Some(&topic.arn), None)?;
    let confirmed = subs.iter().filter(|s| s.confirmed).count();
    let mut attrs: Vec<(String, Node)> = vec![
        (
            "Policy".into(),
            Node::str(
                topic
                    .attributes
                    .get("Policy")
                    .and_then(Value::as_str)
                    .map_or_else(|| default_policy(&topic.arn, &topic.account), str::to_string),
            ),
        ),
        ("Owner".into(), Node::str(topic.account.as_str())),
        ("SubscriptionsPending".into(), Node::str((subs.len() - confirmed).to_string())),
        ("TopicArn".into(), Node::str(topic.arn.as_str())),
        ("EffectiveDeliveryPolicy".into(), Node::str(effective_delivery_policy(topic).to_string())),
        ("SubscriptionsConfirmed".into(), Node::str(confirmed.to_string())),
        ("DisplayName".into(), Node::str(topic.attributes.get("DisplayName").and_then(Value::as_str).unwrap_or(""))),
        ("SubscriptionsDeleted".into(), Node::str("0")),
        ("SignatureVersion".into(), Node::str("2")),
    ];
    for k in ["DeliveryPolicy", "KmsMasterKeyId", "TracingConfig", "FifoTopic"] {
        if let Some(v) = topic.attributes.get(k).and_then(Value::as_str) {
            attrs.push((k.into(), Node::str(v)));
        }
    }
    Ok(Node::Map(attrs))
}

fn set_topic_attributes(sns: &Sns, call: &Call<'_>, input: &Value) -> Result<(), ApiError> {
    let mut topic = topic(sns, call, input, Operation::SetTopicAttributes)?;
    let name = required(input, "AttributeName")?;
    let value = read::text(input, "AttributeValue")?.unwrap_or("");
    if !TOPIC_ATTRIBUTES.contains(&name) || name == "FifoTopic" {
        return Err(invalid("AttributeName"));
    }
    if value.is_empty() && name != "DisplayName" {
        topic.attributes.remove(name);
    } else {
        topic.attributes.insert(name.to_string(), check_topic_attribute(name, value)?);
    }
    sns.store.set_topic_attributes(&topic.arn, &topic.attributes)?;
    Ok(())
}

fn token() -> String {
    // SNS's tokens are long hex strings; two UUIDs' worth of randomness.
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn timestamp(ms: i64) -> String {
    cairn_api::wire::iso8601(ms)
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The retry policy and headers of deliveries to a subscription.
fn delivery_meta(topic: &Topic, s: &Subscription, kind: &str, message_id: &str, raw: bool) -> String {
    let effective = effective_delivery_policy(topic);
    let overridable = !effective["http"]["disableSubscriptionOverrides"].as_bool().unwrap_or(false);
    let own: Value = s
        .attributes
        .get("DeliveryPolicy")
        .and_then(Value::as_str)
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(Value::Null);
    let retry = if overridable && !own["healthyRetryPolicy"].is_null() {
        RetryPolicy::parse(&own["healthyRetryPolicy"]).unwrap_or_default().to_json()
    } else {
        effective["http"]["defaultHealthyRetryPolicy"].clone()
    };
    let content_type = own["requestPolicy"]["headerContentType"]
        .as_str()
        .or(effective["http"]["defaultRequestPolicy"]["headerContentType"].as_str())
        .unwrap_or("text/plain; charset=UTF-8");
    let mut headers = json!({
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic.arn,
        "Content-Type": content_type,
        "User-Agent": "Amazon Simple Notification Service Agent",
    });
    if kind == "Notification" {
        headers["x-amz-sns-subscription-arn"] = json!(s.arn);
    }
    if raw {
        headers["x-amz-sns-rawdelivery"] = json!("true");
    }
    json!({"headers": headers, "retry": retry}).to_string()
}

/// A confirmation request (or unsubscribe notice) for a subscription.
fn confirmation(sns: &Sns, topic: &Topic, s: &Subscription, kind: &str, now_ms: i64) -> Delivery {
    let message_id = uuid::Uuid::new_v4().to_string();
    let subscribe_url =
        sns.url(&format!("?Action=ConfirmSubscription&TopicArn={}&Token={}", encode(&topic.arn), encode(&s.token)));
    let message = if kind == "SubscriptionConfirmation" {
        format!(
            "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
            topic.arn
        )
    } else {
        format!(
            "You have chosen to deactivate subscription {}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
            s.arn
        )
    };
    let ts = timestamp(now_ms);
    let unsigned = Unsigned {
        kind,
        message_id: &message_id,
        topic_arn: &topic.arn,
        subject: None,
        message: &message,
        timestamp: &ts,
        token: Some(&s.token),
        subscribe_url: Some(&subscribe_url),
        unsubscribe_url: None,
        attributes: None,
    };
    Delivery {
        id: 0,
        subscription_arn: s.arn.clone(),
        endpoint: s.endpoint.clone(),
        kind: kind.to_string(),
        body: signed(&unsigned, &sns.key, &sns.url(crate::CERTIFICATE_FILE)),
        meta: delivery_meta(topic, s, kind, &message_id, false),
        attempts: 0,
        due_ms: now_ms,
    }
}

fn subscribe(sns: &Sns, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    let topic = topic(sns, call, input, Operation::Subscribe)?;
    let protocol = required(input, "Protocol")?;
    if protocol != "http" && protocol != "https" {
        return Err(invalid(format!("Invalid protocol type: {protocol} (cairn delivers to http and https endpoints)")));
    }
    let endpoint = read::text(input, "Endpoint")?.unwrap_or("");
    let valid =
        endpoint.strip_prefix(&format!("{protocol}://")).is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !valid {
        return Err(invalid(format!("Endpoint Reason: {protocol} endpoints must start with {protocol}://")));
    }
    let mut attributes = Map::new();
    for (k, v) in read::map(input, "Attributes")? {
        check_subscription_attribute(&k, &v)?;
        attributes.insert(k, json!(v));
    }
    let return_arn = read::boolean(input, "ReturnSubscriptionArn")?.unwrap_or(false);
    let existing = sns
        .store
        .subscriptions(Some(&topic.arn), None)?
        .into_iter()
        .find(|s| s.protocol == protocol && s.endpoint == endpoint);
    let s = match existing {
        Some(s) => s,
        None => {
            let s = Subscription {
                arn: format!("{}:{}", topic.arn, uuid::Uuid::new_v4()),
                topic_arn: topic.arn.clone(),
                owner: call.facts.caller.account().unwrap_or("").to_string(),
                protocol: protocol.to_string(),
                endpoint: endpoint.to_string(),
                token: token(),
                confirmed: false,
                attributes,
            };
            let request = confirmation(sns, &topic, &s, "SubscriptionConfirmation", call.now_ms);
            sns.store.add_subscription(&s, &[request])?;
            s
        }
    };
    let answer = if s.confirmed || return_arn { s.arn } else { "pending confirmation".to_string() };
    Ok(Node::object().with("SubscriptionArn", answer))
}

fn check_subscription_attribute(name: &str, value: &str) -> Result<(), ApiError> {
    match name {
        "RawMessageDelivery" if value != "true" && value != "false" => {
            Err(invalid("RawMessageDelivery: must be true or false"))
        }
        "DeliveryPolicy" => {
            let v: Value = serde_json::from_str(value).map_err(|e| invalid(format!("DeliveryPolicy: {e}")))?;
            if !v["healthyRetryPolicy"].is_null() {
                RetryPolicy::parse(&v["healthyRetryPolicy"]).map_err(|e| invalid(format!("DeliveryPolicy: {e}")))?;
            }
            Ok(())
        }
        "FilterPolicy" => Err(invalid("FilterPolicy: cairn does not apply subscription filter policies")),
        n if !SUBSCRIPTION_ATTRIBUTES.contains(&n) => Err(invalid(format!("Attributes Reason: Unknown attribute {n}"))),
        _ => Ok(()),
    }
}

/// ConfirmSubscription, signed (`call`) or through the SubscribeURL link (unsigned).
pub(crate) fn confirm(sns: &Sns, input: &Value, call: Option<&Call<'_>>, _now_ms: i64) -> Result<Node, ApiError> {
    let arn = required(input, "TopicArn")?;
    let token = required(input, "Token")?;
    let topic = match call {
        Some(c) => find_topic(sns, c, arn, Operation::Subscribe)?,
        None => sns.store.topic(arn)?.ok_or_else(|| not_found("Topic does not exist"))?,
    };
    let s = sns
        .store
        .subscriptions(Some(&topic.arn), None)?
        .into_iter()
        .find(|s| s.token == token)
        .ok_or_else(|| invalid("Token"))?;
    if !s.confirmed {
        sns.store.confirm(&s.arn)?;
        if let Some(v) = read::text(input, "AuthenticateOnUnsubscribe")? {
            let mut attributes = s.attributes.clone();
            attributes.insert("AuthenticateOnUnsubscribe".into(), json!(v.eq_ignore_ascii_case("true")));
            sns.store.set_subscription_attributes(&s.arn, &attributes)?;
        }
    }
    Ok(Node::object().with("SubscriptionArn", s.arn))
}

/// The subscription an operation names, after checking the caller owns it or its topic.
fn subscription(sns: &Sns, call: &Call<'_>, input: &Value) -> Result<Subscription, ApiError> {
    let arn = required(input, "SubscriptionArn")?;
    if !arn.starts_with("arn:aws:sns:") || arn.matches(':').count() != 6 {
        return Err(invalid("SubscriptionArn"));
    }
    let s = sns.store.subscription(arn)?.ok_or_else(|| not_found("Subscription does not exist"))?;
    let account = call.facts.caller.account().unwrap_or("");
    let topic_owner = s.topic_arn.split(':').nth(4).unwrap_or("");
    if account != s.owner && account != topic_owner {
        return Err(ApiError::new(
            ErrorCode::SnsAuthorizationError,
            format!("User: {account} is not authorized to act on subscription {arn}"),
        ));
    }
    Ok(s)
}

/// Unsubscribe, signed (`call`) or through the UnsubscribeURL link (unsigned, unless the subscription requires
/// authentication to unsubscribe).
pub(crate) fn unsubscribe(sns: &Sns, input: &Value, call: Option<&Call<'_>>, now_ms: i64) -> Result<(), ApiError> {
    let s = match call {
        Some(c) => subscription(sns, c, input)?,
        None => {
            let arn = required(input, "SubscriptionArn")?;
            let s = sns.store.subscription(arn)?.ok_or_else(|| not_found("Subscription does not exist"))?;
            if s.attributes.get("AuthenticateOnUnsubscribe").and_then(Value::as_bool) == Some(true) {
                return Err(ApiError::new(
                    ErrorCode::SnsAuthorizationError,
                    "This subscription requires a signed Unsubscribe call",
                ));
            }
            s
        }
    };
    let farewell = match sns.store.topic(&s.topic_arn)? {
        Some(t) if s.confirmed => vec![confirmation(sns, &t, &s, "UnsubscribeConfirmation", now_ms)],
        _ => Vec::new(),
    };
    sns.store.delete_subscription(&s.arn, &farewell)?;
    Ok(())
}

fn page_of_subscriptions(subs: &[Subscription], input: &Value, member: &str) -> Result<Node, ApiError> {
    let from = page_token(input)?;
    let page: Vec<Node> = subs
        .iter()
        .skip(from)
        .take(PAGE)
        .map(|s| {
            Node::object()
                .with("SubscriptionArn", if s.confirmed { s.arn.as_str() } else { "PendingConfirmation" })
                .with("Owner", s.owner.as_str())
                .with("Protocol", s.protocol.as_str())
                .with("Endpoint", s.endpoint.as_str())
                .with("TopicArn", s.topic_arn.as_str())
        })
        .collect();
    let next =
        (from + page.len() < subs.len()).then(|| cairn_api::token::encode("sns", &(from + page.len()).to_string()));
    Ok(Node::object().with(member, Node::List(page)).with("NextToken", next))
}

fn subscription_attributes(s: &Subscription, topic: Option<&Topic>) -> Node {
    let mut attrs: Vec<(String, Node)> = vec![
        ("Owner".into(), Node::str(s.owner.as_str())),
        (
            "RawMessageDelivery".into(),
            Node::str(s.attributes.get("RawMessageDelivery").and_then(Value::as_str).unwrap_or("false")),
        ),
        ("TopicArn".into(), Node::str(s.topic_arn.as_str())),
        ("Endpoint".into(), Node::str(s.endpoint.as_str())),
        ("Protocol".into(), Node::str(s.protocol.as_str())),
        ("PendingConfirmation".into(), Node::str((!s.confirmed).to_string())),
        ("ConfirmationWasAuthenticated".into(), Node::str("false")),
        ("SubscriptionArn".into(), Node::str(s.arn.as_str())),
    ];
    if let Some(t) = topic {
        let meta: Value = serde_json::from_str(&delivery_meta(t, s, "Notification", "", false)).unwrap_or(Value::Null);
        attrs.push((
            "EffectiveDeliveryPolicy".into(),
            Node::str(json!({"healthyRetryPolicy": meta["retry"]}).to_string()),
        ));
    }
    if let Some(p) = s.attributes.get("DeliveryPolicy").and_then(Value::as_str) {
        attrs.push(("DeliveryPolicy".into(), Node::str(p)));
    }
    Node::Map(attrs)
}

fn set_subscription_attributes(sns: &Sns, call: &Call<'_>, input: &Value) -> Result<(), ApiError> {
    let s = subscription(sns, call, input)?;
    let name = required(input, "AttributeName")?;
    let value = read::text(input, "AttributeValue")?.unwrap_or("");
    check_subscription_attribute(name, value)?;
    let mut attributes = s.attributes.clone();
    attributes.insert(name.to_string(), json!(value));
    sns.store.set_subscription_attributes(&s.arn, &attributes)?;
    Ok(())
}

/// Message attributes as notifications carry them: `{"name": {"Type": ..., "Value": ...}}`.
fn message_attributes(input: &Value) -> Result<(Map<String, Value>, usize), ApiError> {
    let mut out = Map::new();
    let mut bytes = 0;
    let Some(map) = input["MessageAttributes"].as_object() else { return Ok((out, 0)) };
    if map.len() > 10 {
        return Err(invalid("MessageAttributes Reason: at most 10 message attributes"));
    }
    for (name, v) in map {
        let ty = required(v, "DataType")?;
        let base = ty.split('.').next().unwrap_or("");
        if !["String", "Number", "Binary"].contains(&base) || name.is_empty() || name.len() > 256 {
            return Err(invalid(format!("The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")));
        }
        let value = if base == "Binary" { required(v, "BinaryValue")? } else { required(v, "StringValue")? };
        if base == "Number" && value.parse::<f64>().is_err() {
            return Err(invalid(format!("The message attribute '{name}' with type 'Number' must hold a number.")));
        }
        bytes += name.len() + ty.len() + value.len();
        out.insert(name.clone(), json!({"Type": ty, "Value": value}));
    }
    Ok((out, bytes))
}

fn publish(sns: &Sns, call: &Call<'_>, input: &Value) -> Result<Node, ApiError> {
    if read::text(input, "PhoneNumber")?.is_some() {
        return Err(invalid("PhoneNumber Reason: cairn does not send SMS"));
    }
    let arn = match (read::text(input, "TopicArn")?, read::text(input, "TargetArn")?) {
        (Some(t), None) | (None, Some(t)) => t,
        (Some(_), Some(_)) => return Err(invalid("TopicArn or TargetArn Reason: both may not be specified")),
        (None, None) => return Err(invalid("TopicArn or TargetArn Reason: no value for required parameter")),
    };
    let topic = find_topic(sns, call, arn, Operation::Publish)?;
    let message = read::text(input, "Message")?.unwrap_or("");
    if message.is_empty() {
        return Err(invalid("Empty message"));
    }
    let subject = read::text(input, "Subject")?;
    if let Some(s) = subject {
        if s.is_empty() || s.chars().count() > 100 || !s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
            return Err(invalid("Subject"));
        }
    }
    let (attributes, attribute_bytes) = message_attributes(input)?;
    if message.len() + attribute_bytes > MAX_MESSAGE_BYTES {
        return Err(invalid("Message too long"));
    }
    let structure = read::text(input, "MessageStructure")?;
    let per_protocol = match structure {
        None => None,
        Some("json") => {
            let v: Value = serde_json::from_str(message)
                .map_err(|_| invalid("Message Structure - JSON message body failed to parse"))?;
            if !v["default"].is_string() {
                return Err(invalid("Message Structure - No default entry in JSON message body"));
            }
            Some(v)
        }
        Some(_) => return Err(invalid("MessageStructure Reason: must be json")),
    };
    let id = enqueue(sns, &topic, subject, message, per_protocol.as_ref(), &attributes, call.now_ms)?;
    Ok(Node::object().with("MessageId", id))
}

/// Queues a message to every confirmed subscription of a topic; answers its id.
fn enqueue(
    sns: &Sns,
    topic: &Topic,
    subject: Option<&str>,
    message: &str,
    per_protocol: Option<&Value>,
    attributes: &Map<String, Value>,
    now_ms: i64,
) -> Result<String, ApiError> {
    let message_id = uuid::Uuid::new_v4().to_string();
    let ts = timestamp(now_ms);
    let mut deliveries = Vec::new();
    for s in sns.store.subscriptions(Some(&topic.arn), None)?.into_iter().filter(|s| s.confirmed) {
        let text =
            per_protocol.and_then(|v| v[s.protocol.as_str()].as_str().or(v["default"].as_str())).unwrap_or(message);
        let raw = s.attributes.get("RawMessageDelivery").and_then(Value::as_str) == Some("true");
        let unsubscribe_url = sns.url(&format!("?Action=Unsubscribe&SubscriptionArn={}", encode(&s.arn)));
        let body = if raw {
            text.to_string()
        } else {
            let unsigned = Unsigned {
                kind: "Notification",
                message_id: &message_id,
                topic_arn: &topic.arn,
                subject,
                message: text,
                timestamp: &ts,
                token: None,
                subscribe_url: None,
                unsubscribe_url: Some(&unsubscribe_url),
                attributes: Some(attributes),
            };
            signed(&unsigned, &sns.key, &sns.url(crate::CERTIFICATE_FILE))
        };
        deliveries.push(Delivery {
            id: 0,
            subscription_arn: s.arn.clone(),
            endpoint: s.endpoint.clone(),
            kind: "Notification".into(),
            body,
            meta: delivery_meta(topic, &s, "Notification", &message_id, raw),
            attempts: 0,
            due_ms: now_ms,
        });
    }
    sns.store.enqueue(&deliveries)?;
    Ok(message_id)
}

/// Publishes for a service, after [`service_may_publish`].
pub(crate) fn publish_to(
    sns: &Sns,
    topic: &Topic,
    subject: Option<&str>,
    message: &str,
    per_protocol: Option<&Value>,
    now_ms: i64,
) -> Result<String, ApiError> {
    enqueue(sns, topic, subject, message, per_protocol, &Map::new(), now_ms)
}

/// The topic, if `service` acting for `source_arn` may publish to it by its policy.
pub(crate) fn service_may_publish(
    sns: &Sns,
    topic_arn: &str,
    service: &str,
    source_arn: &str,
    source_account: &str,
    now_ms: i64,
) -> Result<Topic, ApiError> {
    let topic = sns.store.topic(topic_arn)?.ok_or_else(|| not_found(format!("Topic {topic_arn} does not exist")))?;
    let facts = RequestFacts {
        caller: Caller::Service {
            name: service.into(),
            source_arn: source_arn.into(),
            source_account: source_account.into(),
        },
        source_ip: None,
        secure_transport: true,
        now: time::OffsetDateTime::from_unix_timestamp_nanos(now_ms as i128 * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    };
    // CloudWatch sets the legacy AWS:SourceOwner key the default policy tests; CloudTrail does not.
    let extra: Vec<(&str, String)> = if service == "cloudwatch.amazonaws.com" {
        vec![("aws:SourceOwner", source_account.to_string())]
    } else {
        Vec::new()
    };
    if policy_decision(&topic, &facts, "SNS:Publish", &extra) != Decision::Allow {
        return Err(ApiError::new(
            ErrorCode::SnsAuthorizationError,
            format!("{service} is not authorized to perform: SNS:Publish on resource: {topic_arn}"),
        ));
    }
    Ok(topic)
}

fn tags(sns: &Sns, call: &Call<'_>, op: Operation, input: &Value) -> Result<Option<Node>, ApiError> {
    let arn = required(input, "ResourceArn")?;
    let topic = sns
        .store
        .topic(arn)?
        .ok_or_else(|| ApiError::new(ErrorCode::SnsResourceNotFound, "Resource does not exist"))?;
    let _ = find_topic(sns, call, &topic.arn, op)?;
    match op {
        Operation::TagResource => {
            let add = tag_pairs(input)?;
            let existing = sns.store.tags(arn)?;
            let keys: std::collections::BTreeSet<&str> =
                existing.iter().map(|(k, _)| k.as_str()).chain(add.iter().map(|(k, _)| k.as_str())).collect();
            if keys.len() > MAX_TAGS {
                return Err(ApiError::new(
                    ErrorCode::SnsTagLimitExceeded,
                    "Could not complete request: tag quota of per resource exceeded",
                ));
            }
            sns.store.retag(arn, &add, &[])?;
            Ok(Some(Node::object()))
        }
        Operation::UntagResource => {
            sns.store.retag(arn, &[], &read::texts(input, "TagKeys")?)?;
            Ok(Some(Node::object()))
        }
        _ => {
            let tags = sns.store.tags(arn)?;
            Ok(Some(Node::object().with(
                "Tags",
                Node::list(tags.into_iter().map(|(k, v)| Node::object().with("Key", k).with("Value", v))),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_escapes() {
        assert!(valid_topic_name("alerts-1_x"));
        assert!(!valid_topic_name("a.b"));
        assert_eq!(encode("arn:aws:sns:x"), "arn%3Aaws%3Asns%3Ax");
    }
}
