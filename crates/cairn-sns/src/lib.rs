//! cairn's SNS: topics (attributes, the topic policy evaluated by `cairn-policy`, tags), `http` and `https`
//! subscriptions with SNS's confirmation handshake, and Publish. Every message to an endpoint is queued durably with
//! its retry policy before the call answers; the server's worker takes due deliveries ([`Sns::due`]) and reports
//! each outcome. Messages are signed with SignatureVersion 2 by a key kept in the data directory, whose self-signed
//! certificate is served at SigningCertURL.

mod message;
mod operation;
pub mod retry;
mod store;
mod topics;

use std::path::Path;
use std::sync::RwLock;

use cairn_api::wire::{self, Node};
use cairn_api::{ApiError, ErrorCode};
use cairn_integrity::SigningKey;
use cairn_policy::RequestFacts;
use serde_json::Value;

pub use message::{string_to_sign, Unsigned};
pub use operation::Operation;
pub use store::{Delivery, Subscription, Topic};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("SNS storage: {0}")]
    Storage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn db(e: rusqlite::Error) -> Error {
    Error::Storage(e.to_string())
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::new(ErrorCode::SnsInternalError, e.to_string())
    }
}

/// Who calls (as policies see them), where, and when.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub facts: &'a RequestFacts,
    pub region: &'a str,
    pub now_ms: i64,
}

/// The path under which cairn serves SNS's unsigned URLs: the certificate, and the confirm and unsubscribe links.
/// Bucket names cannot hold `_`, so no S3 path collides with it.
pub const PUBLIC_PATH: &str = "/_sns/";
/// The certificate's file name under [`PUBLIC_PATH`].
pub const CERTIFICATE_FILE: &str = "SimpleNotificationService-cairn.pem";

#[derive(Debug)]
pub struct Sns {
    store: store::Store,
    key: SigningKey,
    certificate: String,
    /// The URL endpoints reach cairn at (`http://127.0.0.1:4573`), for the URLs in messages.
    public_url: RwLock<String>,
}

impl Sns {
    /// Opens the store in `dir` and the signing key kept there (created on first use).
    pub fn open(dir: &Path) -> Result<Sns> {
        let store = store::Store::open(dir)?;
        let key = cairn_integrity::load_or_create(dir, "signing-key.der").map_err(|e| Error::Storage(e.to_string()))?;
        let certificate = message::pem(&message::certificate(&key, "sns.amazonaws.com"));
        Ok(Sns { store, key, certificate, public_url: RwLock::new("http://localhost".into()) })
    }

    /// Where endpoints reach cairn: set once the listener is bound.
    pub fn set_public_url(&self, url: &str) {
        *self.public_url.write().unwrap_or_else(|p| p.into_inner()) = url.trim_end_matches('/').to_string();
    }

    fn url(&self, query: &str) -> String {
        let base = self.public_url.read().unwrap_or_else(|p| p.into_inner()).clone();
        format!("{base}{PUBLIC_PATH}{query}")
    }

    /// The PEM certificate that verifies message signatures.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate
    }

    /// Runs an operation; `None` is an operation without output.
    pub fn call(&self, call: &Call<'_>, op: Operation, input: &Value) -> Result<Option<Node>, ApiError> {
        topics::call(self, call, op, input)
    }

    /// Whether `service` (for `source_arn` of `source_account`) may publish to a topic: the topic exists and its
    /// policy allows it. The error is SNS's.
    pub fn service_may_publish(
        &self,
        topic_arn: &str,
        service: &str,
        source_arn: &str,
        source_account: &str,
        now_ms: i64,
    ) -> Result<(), ApiError> {
        topics::service_may_publish(self, topic_arn, service, source_arn, source_account, now_ms).map(|_| ())
    }

    /// Publishes a message as a service (CloudTrail's log file notices, CloudWatch's alarm notifications) after the
    /// topic policy allowed it; answers the message id.
    #[allow(clippy::too_many_arguments)]
    pub fn publish_as_service(
        &self,
        topic_arn: &str,
        service: &str,
        source_arn: &str,
        source_account: &str,
        subject: Option<&str>,
        message: &str,
        now_ms: i64,
    ) -> Result<String, ApiError> {
        let topic = topics::service_may_publish(self, topic_arn, service, source_arn, source_account, now_ms)?;
        topics::publish_to(self, &topic, subject, message, None, now_ms)
    }

    /// Deliveries due at `now_ms`.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>> {
        self.store.due(now_ms, limit)
    }

    /// When the next queued delivery is due.
    pub fn next_due(&self) -> Result<Option<i64>> {
        self.store.next_due()
    }

    /// The endpoint took the message.
    pub fn delivered(&self, d: &Delivery) -> Result<()> {
        self.store.finish(d.id)
    }

    /// The endpoint did not take the message: it is retried per its policy, or dropped when retries are spent
    /// (answered: true when dropped).
    pub fn failed(&self, d: &Delivery, now_ms: i64) -> Result<bool> {
        let meta: Value = serde_json::from_str(&d.meta).unwrap_or(Value::Null);
        let policy = retry::RetryPolicy::parse(&meta["retry"]).unwrap_or_default();
        match policy.delay_s(d.attempts + 1) {
            Some(delay) => self.store.retry(d.id, now_ms + delay * 1000).map(|()| false),
            None => self.store.finish(d.id).map(|()| true),
        }
    }

    /// The unsigned confirmation link (`SubscribeURL`): ConfirmSubscription with the query's TopicArn and Token.
    pub fn confirm_by_url(&self, query: &Value, now_ms: i64) -> Result<Node, ApiError> {
        topics::confirm(self, query, None, now_ms)
    }

    /// The unsigned unsubscribe link (`UnsubscribeURL`).
    pub fn unsubscribe_by_url(&self, query: &Value, now_ms: i64) -> Result<(), ApiError> {
        topics::unsubscribe(self, query, None, now_ms)
    }
}

pub(crate) fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, format!("Invalid parameter: {message}"))
}

pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::SnsNotFound, message)
}

/// Readers of request members answering SNS's errors.
pub(crate) mod read {
    use super::*;

    fn bad(e: wire::BadMember) -> ApiError {
        invalid(format!("{} Reason: must be {}", e.member, e.expected))
    }

    pub fn text<'v>(v: &'v Value, m: &str) -> Result<Option<&'v str>, ApiError> {
        wire::text(v, m).map_err(bad)
    }

    pub fn required<'v>(v: &'v Value, m: &str) -> Result<&'v str, ApiError> {
        text(v, m)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::QueryValidation,
                format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", lower_first(m)),
            )
        })
    }

    pub fn boolean(v: &Value, m: &str) -> Result<Option<bool>, ApiError> {
        wire::boolean(v, m).map_err(bad)
    }

    pub fn texts(v: &Value, m: &str) -> Result<Vec<String>, ApiError> {
        wire::texts(v, m).map(Option::unwrap_or_default).map_err(bad)
    }

    /// A map member (`Attributes.entry.N.key`): text values only.
    pub fn map(v: &Value, m: &str) -> Result<Vec<(String, String)>, ApiError> {
        match &v[m] {
            Value::Null => Ok(Vec::new()),
            Value::String(s) if s.is_empty() => Ok(Vec::new()),
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_string()))
                        .ok_or_else(|| invalid(format!("{m} Reason: {k} must be a string")))
                })
                .collect(),
            _ => Err(invalid(format!("{m} Reason: must be a map"))),
        }
    }

    fn lower_first(m: &str) -> String {
        let mut c = m.chars();
        c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
    }
}
