//! The CloudWatch Logs API over AWS JSON 1.1: each operation's input, checks, effect and output, with the limits and
//! errors of AWS's model. Log groups belong to an account and region; everything else hangs off a group.

use std::collections::BTreeMap;

use cairn_api::{parse_input, ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::pattern::{FilterPattern, PatternKind};
use crate::store::{EventQuery, Group, MetricFilter};
use crate::{Logs, Operation};

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Who calls, where and when.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub now_ms: i64,
}

const GROUP_PATTERN: &str = "[\\.\\-_/#A-Za-z0-9]+";
const RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const MAX_GROUPS: usize = 1_000_000;
const MAX_TAGS: usize = 50;
const MAX_METRIC_FILTERS: usize = 100;
const MAX_REGEX_FILTERS: usize = 5;
const MAX_DIMENSIONS: usize = 3;
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD_BYTES: usize = 26;
const MAX_EVENT_BYTES: usize = 1_048_576 - EVENT_OVERHEAD_BYTES;
const TOO_NEW_MS: i64 = 2 * 3_600_000;
const TOO_OLD_MS: i64 = 14 * 86_400_000;
const MAX_SPAN_MS: i64 = 24 * 3_600_000;
const MAX_EVENTS_PAGE: usize = 10_000;
const MAX_PAGE_BYTES: usize = 1_048_576;
/// Most events one FilterLogEvents page reads before it answers (with a token to go on from).
const MAX_SCANNED: usize = 100_000;
const CLASSES: [&str; 4] = ["STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS"];

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, message)
}

/// AWS's wording of a constraint a member fails.
fn constraint(member: &str, value: impl std::fmt::Display, what: &str) -> ApiError {
    invalid(format!("1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {what}"))
}

fn required<T>(value: Option<T>, member: &str) -> Result<T> {
    value.ok_or_else(|| {
        invalid(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn length(member: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min {
        return Err(constraint(member, value, &format!("Member must have length greater than or equal to {min}")));
    }
    if n > max {
        return Err(constraint(member, value, &format!("Member must have length less than or equal to {max}")));
    }
    Ok(())
}

fn group_name(member: &str, name: &str) -> Result<()> {
    length(member, name, 1, 512)?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c)) {
        return Err(constraint(
            member,
            name,
            &format!("Member must satisfy regular expression pattern: {GROUP_PATTERN}"),
        ));
    }
    Ok(())
}

/// Names of streams, metric filters: 1-512 characters, no `:` or `*`.
fn plain_name(member: &str, name: &str) -> Result<()> {
    length(member, name, 1, 512)?;
    if name.contains([':', '*']) {
        return Err(constraint(member, name, "Member must satisfy regular expression pattern: [^:*]*"));
    }
    Ok(())
}

fn limit(member: &str, given: Option<i64>, max: usize) -> Result<usize> {
    match given {
        None => Ok(max),
        Some(n) if n < 1 => Err(constraint(member, n, "Member must have value greater than or equal to 1")),
        Some(n) if n as usize > max => {
            Err(constraint(member, n, &format!("Member must have value less than or equal to {max}")))
        }
        Some(n) => Ok(n as usize),
    }
}

fn not_found_group() -> ApiError {
    ApiError::new(ErrorCode::ResourceNotFound, "The specified log group does not exist.")
}

fn out(v: Value) -> Result<Vec<u8>> {
    serde_json::to_vec(&v).map_err(|e| ApiError::internal(format!("serializing an answer: {e}")))
}

fn empty() -> Result<Vec<u8>> {
    Ok(b"{}".to_vec())
}

fn storage(e: crate::Error) -> ApiError {
    ApiError::internal(e.to_string())
}

/// Tokens carry a position: the prefix says which operation issued them.
fn token(prefix: &str, parts: &[i64]) -> String {
    let plain: Vec<String> = parts.iter().map(i64::to_string).collect();
    cairn_api::token::encode(prefix, &plain.join("/"))
}

fn read_token(prefix: &str, given: &str, n: usize) -> Result<Vec<i64>> {
    let bad = || invalid("The specified nextToken is invalid.");
    let plain = cairn_api::token::decode(prefix, given).ok_or_else(bad)?;
    let parts: Vec<i64> = plain.split('/').map(str::parse).collect::<std::result::Result<_, _>>().map_err(|_| bad())?;
    if parts.len() != n {
        return Err(bad());
    }
    Ok(parts)
}

impl Logs {
    /// Runs one operation on `body`, answering AWS's output or error.
    pub fn call(&self, call: &Call, op: Operation, body: &[u8]) -> Result<Vec<u8>> {
        match op {
            Operation::CreateLogGroup => self.create_log_group(call, parse_input(body)?),
            Operation::DeleteLogGroup => self.delete_log_group(call, parse_input(body)?),
            Operation::DescribeLogGroups => self.describe_log_groups(call, parse_input(body)?),
            Operation::PutRetentionPolicy => self.put_retention_policy(call, parse_input(body)?),
            Operation::DeleteRetentionPolicy => self.delete_retention_policy(call, parse_input(body)?),
            Operation::CreateLogStream => self.create_log_stream(call, parse_input(body)?),
            Operation::DeleteLogStream => self.delete_log_stream(call, parse_input(body)?),
            Operation::DescribeLogStreams => self.describe_log_streams(call, parse_input(body)?),
            Operation::PutLogEvents => self.put_log_events(call, parse_input(body)?),
            Operation::GetLogEvents => self.get_log_events(call, parse_input(body)?),
            Operation::FilterLogEvents => self.filter_log_events(call, parse_input(body)?),
            Operation::PutMetricFilter => self.put_metric_filter(call, parse_input(body)?),
            Operation::DescribeMetricFilters => self.describe_metric_filters(call, parse_input(body)?),
            Operation::DeleteMetricFilter => self.delete_metric_filter(call, parse_input(body)?),
            Operation::TestMetricFilter => test_metric_filter(parse_input(body)?),
            Operation::TagResource => self.tag_resource(call, parse_input(body)?),
            Operation::UntagResource => self.untag_resource(call, parse_input(body)?),
            Operation::ListTagsForResource => self.list_tags_for_resource(call, parse_input(body)?),
            Operation::TagLogGroup => self.tag_log_group(call, parse_input(body)?),
            Operation::UntagLogGroup => self.untag_log_group(call, parse_input(body)?),
            Operation::ListTagsLogGroup => self.list_tags_log_group(call, parse_input(body)?),
        }
    }

    /// The group a request names: its name, or an identifier (name or ARN), exactly one of them.
    fn named_group(&self, call: &Call, name: Option<&str>, identifier: Option<&str>) -> Result<Group> {
        let name = match (name, identifier) {
            (Some(_), Some(_)) => return Err(invalid("LogGroupName and LogGroupIdentifier are mutually exclusive")),
            (None, None) => return Err(invalid("Either LogGroupName or LogGroupIdentifier must be specified")),
            (Some(n), None) => {
                group_name("logGroupName", n)?;
                n.to_string()
            }
            (None, Some(id)) => {
                length("logGroupIdentifier", id, 1, 2048)?;
                match id.strip_prefix("arn:") {
                    Some(_) => self.group_of_arn(call, id)?,
                    None => id.to_string(),
                }
            }
        };
        self.store.group(call.account, call.region, &name).map_err(storage)?.ok_or_else(not_found_group)
    }

    /// The group name an ARN of this account and region names (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`).
    fn group_of_arn(&self, call: &Call, arn: &str) -> Result<String> {
        let (account, region, name) =
            crate::parse_group_arn(arn).ok_or_else(|| invalid(format!("{arn} is not the ARN of a log group")))?;
        if region != call.region || account != call.account {
            return Err(not_found_group());
        }
        Ok(name.to_string())
    }

    fn group(&self, call: &Call, name: Option<String>) -> Result<Group> {
        let name = required(name, "logGroupName")?;
        self.named_group(call, Some(&name), None)
    }

    fn create_log_group(&self, call: &Call, req: CreateLogGroup) -> Result<Vec<u8>> {
        let name = required(req.log_group_name, "logGroupName")?;
        group_name("logGroupName", &name)?;
        if name.starts_with("aws/") {
            return Err(invalid(format!("Log group name {name} cannot start with aws/")));
        }
        if let Some(k) = &req.kms_key_id {
            length("kmsKeyId", k, 0, 256)?;
            if !(k.starts_with("arn:aws:kms:") && k.contains(":key/")) {
                return Err(invalid(format!("{k} is not the ARN of a KMS key")));
            }
        }
        let class = req.log_group_class.unwrap_or_else(|| "STANDARD".into());
        if !CLASSES.contains(&class.as_str()) {
            return Err(constraint(
                "logGroupClass",
                &class,
                &format!("Member must satisfy enum value set: {CLASSES:?}"),
            ));
        }
        let tags = match req.tags {
            Some(tags) => checked_tags(tags, 1)?,
            None => Vec::new(),
        };
        if self.store.group_count(call.account, call.region).map_err(storage)? >= MAX_GROUPS {
            return Err(ApiError::new(ErrorCode::LimitExceeded, "Resource limit exceeded."));
        }
        let group = Group {
            id: 0,
            account: call.account.to_string(),
            region: call.region.to_string(),
            name,
            created_ms: call.now_ms,
            retention_days: None,
            kms_key_id: req.kms_key_id,
            class,
            deletion_protection: req.deletion_protection_enabled.unwrap_or(false),
        };
        if !self.store.create_group(&group, &tags).map_err(storage)? {
            return Err(ApiError::new(ErrorCode::LogsResourceAlreadyExists, "The specified log group already exists"));
        }
        empty()
    }

    fn delete_log_group(&self, call: &Call, req: GroupOnly) -> Result<Vec<u8>> {
        let g = self.group(call, req.log_group_name)?;
        if g.deletion_protection {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("Log group {} has deletion protection enabled and cannot be deleted", g.name),
            ));
        }
        self.store.delete_group(g.id).map_err(storage)?;
        empty()
    }

    fn describe_log_groups(&self, call: &Call, req: DescribeLogGroups) -> Result<Vec<u8>> {
        let limit = limit("limit", req.limit, 50)?;
        if req.log_group_name_prefix.is_some() && req.log_group_name_pattern.is_some() {
            return Err(invalid("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive"));
        }
        if let Some(p) = &req.log_group_name_prefix {
            group_name("logGroupNamePrefix", p)?;
        }
        let after = match &req.next_token {
            Some(t) => String::from_utf8(
                cairn_api::token::decode("g", t)
                    .ok_or_else(|| invalid("The specified nextToken is invalid."))?
                    .into_bytes(),
            )
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
            None => String::new(),
        };
        let prefix = req.log_group_name_prefix.clone().unwrap_or_default();
        let pattern = req.log_group_name_pattern.clone().unwrap_or_default();
        let mut groups = Vec::new();
        let mut cursor = after;
        // Name patterns are a substring test: read on until the page is full.
        loop {
            let batch = self.store.groups(call.account, call.region, &prefix, &cursor, 500).map_err(storage)?;
            let done = batch.len() < 500;
            for g in batch {
                cursor = g.name.clone();
                let class_ok = req.log_group_class.as_deref().is_none_or(|c| c == g.class);
                if g.name.contains(pattern.as_str()) && class_ok {
                    groups.push(g);
                    if groups.len() > limit {
                        break;
                    }
                }
            }
            if done || groups.len() > limit {
                break;
            }
        }
        let more = groups.len() > limit;
        groups.truncate(limit);
        let mut listed = Vec::with_capacity(groups.len());
        for g in &groups {
            let (bytes, filters) = self.store.group_stats(g.id).map_err(storage)?;
            let mut v = json!({
                "logGroupName": g.name,
                "creationTime": g.created_ms,
                "metricFilterCount": filters,
                "arn": g.arn(),
                "storedBytes": bytes,
                "logGroupClass": g.class,
                "logGroupArn": g.group_arn(),
                "deletionProtectionEnabled": g.deletion_protection,
            });
            if let Some(d) = g.retention_days {
                v["retentionInDays"] = json!(d);
            }
            if let Some(k) = &g.kms_key_id {
                v["kmsKeyId"] = json!(k);
            }
            listed.push(v);
        }
        let mut answer = json!({ "logGroups": listed });
        if more {
            answer["nextToken"] =
                json!(cairn_api::token::encode("g", &groups.last().map(|g| g.name.clone()).unwrap_or_default()));
        }
        out(answer)
    }

    fn put_retention_policy(&self, call: &Call, req: PutRetentionPolicy) -> Result<Vec<u8>> {
        let days = required(req.retention_in_days, "retentionInDays")?;
        if !RETENTION_DAYS.iter().any(|d| i64::from(*d) == days) {
            return Err(constraint(
                "retentionInDays",
                days,
                &format!("Member must satisfy enum value set: {RETENTION_DAYS:?}"),
            ));
        }
        let g = self.group(call, req.log_group_name)?;
        self.store.set_retention(g.id, Some(days as u32)).map_err(storage)?;
        empty()
    }

    fn delete_retention_policy(&self, call: &Call, req: GroupOnly) -> Result<Vec<u8>> {
        let g = self.group(call, req.log_group_name)?;
        self.store.set_retention(g.id, None).map_err(storage)?;
        empty()
    }

    fn create_log_stream(&self, call: &Call, req: StreamRequest) -> Result<Vec<u8>> {
        let stream = required(req.log_stream_name, "logStreamName")?;
        plain_name("logStreamName", &stream)?;
        let g = self.group(call, req.log_group_name)?;
        if !self.store.create_stream(g.id, &stream, call.now_ms).map_err(storage)? {
            return Err(ApiError::new(ErrorCode::LogsResourceAlreadyExists, "The specified log stream already exists"));
        }
        empty()
    }

    fn stream_of(&self, g: &Group, name: &str) -> Result<crate::store::Stream> {
        plain_name("logStreamName", name)?;
        self.store
            .stream(g.id, name)
            .map_err(storage)?
            .ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound, "The specified log stream does not exist."))
    }

    fn delete_log_stream(&self, call: &Call, req: StreamRequest) -> Result<Vec<u8>> {
        let stream = required(req.log_stream_name, "logStreamName")?;
        let g = self.group(call, req.log_group_name)?;
        let s = self.stream_of(&g, &stream)?;
        self.store.delete_stream(s.id).map_err(storage)?;
        empty()
    }

    fn describe_log_streams(&self, call: &Call, req: DescribeLogStreams) -> Result<Vec<u8>> {
        let limit = limit("limit", req.limit, 50)?;
        let by_last_event = match req.order_by.as_deref() {
            None | Some("LogStreamName") => false,
            Some("LastEventTime") => true,
            Some(other) => {
                return Err(constraint(
                    "orderBy",
                    other,
                    "Member must satisfy enum value set: [LogStreamName, LastEventTime]",
                ))
            }
        };
        if by_last_event && req.log_stream_name_prefix.is_some() {
            return Err(invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
        }
        let g = self.named_group(call, req.log_group_name.as_deref(), req.log_group_identifier.as_deref())?;
        let prefix = req.log_stream_name_prefix.unwrap_or_default();
        let skip = match &req.next_token {
            Some(t) => read_token("s", t, 1)?[0].max(0) as usize,
            None => 0,
        };
        let streams =
            self.store.streams(g.id, &prefix, by_last_event, req.descending.unwrap_or(false)).map_err(storage)?;
        let page: Vec<_> = streams.iter().skip(skip).take(limit).collect();
        let mut listed = Vec::with_capacity(page.len());
        for s in &page {
            let mut v = json!({
                "logStreamName": s.name,
                "creationTime": s.created_ms,
                "arn": format!("arn:aws:logs:{}:{}:log-group:{}:log-stream:{}", g.region, g.account, g.name, s.name),
                "storedBytes": self.store.stream_bytes(s.id).map_err(storage)?,
            });
            for (member, value) in [
                ("firstEventTimestamp", s.first_event_ms),
                ("lastEventTimestamp", s.last_event_ms),
                ("lastIngestionTime", s.last_ingestion_ms),
            ] {
                if let Some(t) = value {
                    v[member] = json!(t);
                }
            }
            listed.push(v);
        }
        let mut answer = json!({ "logStreams": listed });
        if skip + page.len() < streams.len() {
            answer["nextToken"] = json!(token("s", &[(skip + page.len()) as i64]));
        }
        out(answer)
    }

    fn put_log_events(&self, call: &Call, req: PutLogEvents) -> Result<Vec<u8>> {
        let stream = required(req.log_stream_name, "logStreamName")?;
        let events = required(req.log_events, "logEvents")?;
        if events.is_empty() || events.len() > MAX_BATCH_EVENTS {
            return Err(constraint(
                "logEvents",
                format!("[{} events]", events.len()),
                &format!("Member must have length between 1 and {MAX_BATCH_EVENTS}"),
            ));
        }
        let mut batch_bytes = 0;
        for (i, e) in events.iter().enumerate() {
            let message = e.message.as_deref().ok_or_else(|| {
                invalid(format!("1 validation error detected: Value null at 'logEvents.{}.member.message' failed to satisfy constraint: Member must not be null", i + 1))
            })?;
            if e.timestamp.is_none() {
                return Err(invalid(format!("1 validation error detected: Value null at 'logEvents.{}.member.timestamp' failed to satisfy constraint: Member must not be null", i + 1)));
            }
            if message.is_empty() {
                return Err(invalid(format!("1 validation error detected: Value '' at 'logEvents.{}.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1", i + 1)));
            }
            if message.len() > MAX_EVENT_BYTES {
                return Err(invalid(format!(
                    "Log event too large: {} bytes exceeds limit of {MAX_EVENT_BYTES}",
                    message.len()
                )));
            }
            batch_bytes += message.len() + EVENT_OVERHEAD_BYTES;
        }
        if batch_bytes > MAX_BATCH_BYTES {
            return Err(invalid(format!("Upload too large: {batch_bytes} bytes exceeds limit of {MAX_BATCH_BYTES}")));
        }
        let stamps: Vec<i64> = events.iter().map(|e| e.timestamp.unwrap_or_default()).collect();
        if stamps.windows(2).any(|w| w[1] < w[0]) {
            return Err(invalid("Log events in a single PutLogEvents request must be in chronological order."));
        }
        let g = self.group(call, req.log_group_name)?;
        let s = self.stream_of(&g, &stream)?;
        // Events too old (14 days, or past the group's retention) lead the batch, events too new end it.
        let kept_from = g.kept_from(call.now_ms);
        let too_old = stamps.iter().take_while(|t| **t < call.now_ms - TOO_OLD_MS).count();
        let expired = stamps.iter().take_while(|t| **t < kept_from).count();
        let too_new = stamps.iter().rev().take_while(|t| **t > call.now_ms + TOO_NEW_MS).count();
        let first = too_old.max(expired);
        let end = stamps.len() - too_new;
        if first < end && stamps[end - 1] - stamps[first] > MAX_SPAN_MS {
            return Err(invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        let accepted: Vec<(i64, &str)> = events[first.min(end)..end]
            .iter()
            .map(|e| (e.timestamp.unwrap_or_default(), e.message.as_deref().unwrap_or_default()))
            .collect();
        self.store.append(g.id, s.id, &accepted, call.now_ms).map_err(storage)?;
        self.publish(&g, &accepted);
        let mut answer = json!({ "nextSequenceToken": token("q", &[call.now_ms]) });
        let mut rejected = serde_json::Map::new();
        if too_old > 0 {
            rejected.insert("tooOldLogEventEndIndex".into(), json!(too_old - 1));
        }
        if expired > 0 {
            rejected.insert("expiredLogEventEndIndex".into(), json!(expired - 1));
        }
        if too_new > 0 {
            rejected.insert("tooNewLogEventStartIndex".into(), json!(stamps.len() - too_new));
        }
        if !rejected.is_empty() {
            answer["rejectedLogEventsInfo"] = Value::Object(rejected);
        }
        out(answer)
    }

    fn get_log_events(&self, call: &Call, req: GetLogEvents) -> Result<Vec<u8>> {
        let stream = required(req.log_stream_name, "logStreamName")?;
        let limit = limit("limit", req.limit, MAX_EVENTS_PAGE)?;
        let g = self.named_group(call, req.log_group_name.as_deref(), req.log_group_identifier.as_deref())?;
        let s = self.stream_of(&g, &stream)?;
        let kept_from = g.kept_from(call.now_ms);
        let mut q = EventQuery {
            streams: Some(vec![s.id]),
            start_ms: Some(req.start_time.unwrap_or(i64::MIN).max(kept_from)),
            end_ms: req.end_time,
            limit,
            ..EventQuery::default()
        };
        let given = req.next_token.clone();
        match given.as_deref() {
            Some(t) if t.starts_with('f') => {
                let p = read_token("f", t, 2)?;
                q.after_seq = Some((p[0], p[1]));
            }
            Some(t) => {
                let p = read_token("b", t, 2)?;
                q.before_seq = Some((p[0], p[1]));
                q.backward = true;
            }
            None => q.backward = !req.start_from_head.unwrap_or(false),
        }
        let mut events = self.store.events(g.id, &q).map_err(storage)?;
        if q.backward {
            events.reverse();
        }
        // A page holds at most 1 MB of messages.
        let mut bytes = 0;
        let keep = events.iter().take_while(|e| {
            bytes += e.message.len() + EVENT_OVERHEAD_BYTES;
            bytes <= MAX_PAGE_BYTES
        });
        let kept = keep.count().max(usize::from(!events.is_empty()));
        if q.backward {
            events.drain(..events.len() - kept);
        } else {
            events.truncate(kept);
        }
        let listed: Vec<Value> = events
            .iter()
            .map(|e| json!({"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms}))
            .collect();
        // At either end, the token given comes back, as AWS answers at the end of a stream.
        let forward = match events.last() {
            Some(e) => token("f", &[e.timestamp_ms, e.seq]),
            None => given.clone().filter(|t| t.starts_with('f')).unwrap_or_else(|| token("f", &[i64::MIN, 0])),
        };
        let backward = match events.first() {
            Some(e) => token("b", &[e.timestamp_ms, e.seq]),
            None => given.filter(|t| t.starts_with('b')).unwrap_or_else(|| token("b", &[i64::MAX, i64::MAX])),
        };
        out(json!({ "events": listed, "nextForwardToken": forward, "nextBackwardToken": backward }))
    }

    fn filter_log_events(&self, call: &Call, req: FilterLogEvents) -> Result<Vec<u8>> {
        let limit = limit("limit", req.limit, MAX_EVENTS_PAGE)?;
        if req.log_stream_names.is_some() && req.log_stream_name_prefix.is_some() {
            return Err(invalid("logStreamNames and logStreamNamePrefix are mutually exclusive"));
        }
        let pattern = req.filter_pattern.as_deref().unwrap_or("");
        let pattern = parse_pattern(pattern, "Invalid filter pattern")?;
        let g = self.named_group(call, req.log_group_name.as_deref(), req.log_group_identifier.as_deref())?;
        let streams = match (&req.log_stream_names, &req.log_stream_name_prefix) {
            (Some(names), _) => {
                if names.is_empty() || names.len() > 100 {
                    return Err(constraint("logStreamNames", names.len(), "Member must have length between 1 and 100"));
                }
                let mut found = Vec::new();
                for n in names {
                    found.push(self.stream_of(&g, n)?);
                }
                Some(found)
            }
            (None, Some(prefix)) => Some(self.store.streams(g.id, prefix, false, false).map_err(storage)?),
            (None, None) => None,
        };
        let kept_from = g.kept_from(call.now_ms);
        let mut position = match &req.next_token {
            Some(t) => {
                let p = read_token("n", t, 2)?;
                Some((p[0], p[1]))
            }
            None => None,
        };
        let mut matched = Vec::new();
        let (mut scanned, mut bytes, mut exhausted) = (0, 0, false);
        while matched.len() < limit && scanned < MAX_SCANNED && bytes < MAX_PAGE_BYTES {
            let q = EventQuery {
                streams: streams.as_ref().map(|ss| ss.iter().map(|s| s.id).collect()),
                start_ms: Some(req.start_time.unwrap_or(i64::MIN).max(kept_from)),
                end_ms: req.end_time,
                after_seq: position,
                limit: 1000,
                ..EventQuery::default()
            };
            let batch = self.store.events(g.id, &q).map_err(storage)?;
            if batch.len() < 1000 {
                exhausted = true;
            }
            for e in batch {
                scanned += 1;
                position = Some((e.timestamp_ms, e.seq));
                if pattern.as_ref().is_none_or(|p| p.matches(&e.message).is_some()) {
                    bytes += e.message.len() + EVENT_OVERHEAD_BYTES;
                    matched.push(e);
                    if matched.len() == limit || bytes >= MAX_PAGE_BYTES {
                        exhausted = false;
                        break;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        let listed: Vec<Value> = matched
            .iter()
            .map(|e| {
                json!({"logStreamName": e.stream, "timestamp": e.timestamp_ms, "message": e.message,
                       "ingestionTime": e.ingestion_ms, "eventId": format!("{:056}", e.seq)})
            })
            .collect();
        let searched: Vec<Value> = match &streams {
            Some(ss) => ss.iter().map(|s| json!({"logStreamName": s.name, "searchedCompletely": exhausted})).collect(),
            None => Vec::new(),
        };
        let mut answer = json!({ "events": listed, "searchedLogStreams": searched });
        if let (false, Some((ts, seq))) = (exhausted, position) {
            answer["nextToken"] = json!(token("n", &[ts, seq]));
        }
        out(answer)
    }

    fn put_metric_filter(&self, call: &Call, req: PutMetricFilter) -> Result<Vec<u8>> {
        let name = required(req.filter_name, "filterName")?;
        plain_name("filterName", &name)?;
        let pattern_text = required(req.filter_pattern, "filterPattern")?;
        let pattern = parse_pattern(&pattern_text, "Invalid metric filter pattern")?;
        let transformations = required(req.metric_transformations, "metricTransformations")?;
        if transformations.len() != 1 {
            return Err(constraint(
                "metricTransformations",
                format!("[{} transformations]", transformations.len()),
                "Member must have length less than or equal to 1",
            ));
        }
        let kind = pattern.as_ref().map_or(PatternKind::Terms, FilterPattern::kind);
        let t = check_transformation(&transformations[0], kind)?;
        let g = self.group(call, req.log_group_name)?;
        let existing = self.store.metric_filters(Some(g.id)).map_err(storage)?;
        let replacing = existing.iter().any(|f| f.name == name);
        if !replacing && existing.len() >= MAX_METRIC_FILTERS {
            return Err(ApiError::new(ErrorCode::LimitExceeded, "Resource limit exceeded."));
        }
        if pattern.as_ref().is_some_and(|p| p.regex_count() > 0) {
            let with_regex = existing
                .iter()
                .filter(|f| f.name != name)
                .filter(|f| FilterPattern::parse(&f.pattern).is_ok_and(|p| p.regex_count() > 0))
                .count();
            if with_regex >= MAX_REGEX_FILTERS {
                return Err(ApiError::new(
                    ErrorCode::LimitExceeded,
                    format!("A log group may have at most {MAX_REGEX_FILTERS} filters whose patterns hold regular expressions"),
                ));
            }
        }
        let filter = MetricFilter {
            group: g.name.clone(),
            name,
            pattern: pattern_text,
            transformations: serde_json::to_string(&json!([t])).map_err(|e| ApiError::internal(e.to_string()))?,
            created_ms: call.now_ms,
        };
        self.store.put_metric_filter(g.id, &filter).map_err(storage)?;
        empty()
    }

    fn describe_metric_filters(&self, call: &Call, req: DescribeMetricFilters) -> Result<Vec<u8>> {
        let limit = limit("limit", req.limit, 50)?;
        if req.filter_name_prefix.is_some() && req.log_group_name.is_none() {
            return Err(invalid("FilterNamePrefix can only be specified together with LogGroupName"));
        }
        if req.metric_name.is_some() != req.metric_namespace.is_some() {
            return Err(invalid("MetricName and MetricNamespace must be specified together"));
        }
        let filters = match &req.log_group_name {
            Some(name) => {
                let g = self.named_group(call, Some(name), None)?;
                self.store.metric_filters(Some(g.id)).map_err(storage)?
            }
            None => self.store.account_metric_filters(call.account, call.region).map_err(storage)?,
        };
        let prefix = req.filter_name_prefix.unwrap_or_default();
        let selected: Vec<&MetricFilter> = filters
            .iter()
            .filter(|f| f.name.starts_with(&prefix))
            .filter(|f| {
                let Some((name, namespace)) = req.metric_name.as_deref().zip(req.metric_namespace.as_deref()) else {
                    return true;
                };
                let t: Value = serde_json::from_str(&f.transformations).unwrap_or(Value::Null);
                t[0]["metricName"] == name && t[0]["metricNamespace"] == namespace
            })
            .collect();
        let skip = match &req.next_token {
            Some(t) => read_token("m", t, 1)?[0].max(0) as usize,
            None => 0,
        };
        let page: Vec<Value> = selected
            .iter()
            .skip(skip)
            .take(limit)
            .map(|f| {
                json!({
                    "filterName": f.name,
                    "filterPattern": f.pattern,
                    "metricTransformations": serde_json::from_str::<Value>(&f.transformations).unwrap_or(Value::Null),
                    "creationTime": f.created_ms,
                    "logGroupName": f.group,
                    "applyOnTransformedLogs": false,
                })
            })
            .collect();
        let shown = page.len();
        let mut answer = json!({ "metricFilters": page });
        if skip + shown < selected.len() {
            answer["nextToken"] = json!(token("m", &[(skip + shown) as i64]));
        }
        out(answer)
    }

    fn delete_metric_filter(&self, call: &Call, req: DeleteMetricFilter) -> Result<Vec<u8>> {
        let name = required(req.filter_name, "filterName")?;
        plain_name("filterName", &name)?;
        let g = self.group(call, req.log_group_name)?;
        if !self.store.delete_metric_filter(g.id, &name).map_err(storage)? {
            return Err(ApiError::new(ErrorCode::ResourceNotFound, "The specified metric filter does not exist."));
        }
        empty()
    }

    /// The group a tagging call's ARN names.
    fn tagged_group(&self, call: &Call, arn: Option<String>) -> Result<Group> {
        let arn = required(arn, "resourceArn")?;
        let name = self.group_of_arn(call, &arn)?;
        self.store.group(call.account, call.region, &name).map_err(storage)?.ok_or_else(not_found_group)
    }

    fn change_tags(&self, g: &Group, add: BTreeMap<String, String>, remove: Vec<String>) -> Result<Vec<u8>> {
        let add = checked_tags(add, 0)?;
        for k in &remove {
            length("tagKeys", k, 1, 128)?;
        }
        let current = self.store.tags(g.id).map_err(storage)?;
        let mut keys: std::collections::BTreeSet<&str> = current.iter().map(|(k, _)| k.as_str()).collect();
        keys.extend(add.iter().map(|(k, _)| k.as_str()));
        for k in &remove {
            keys.remove(k.as_str());
        }
        if keys.len() > MAX_TAGS {
            return Err(ApiError::new(
                ErrorCode::LogsTooManyTags,
                format!("A resource can have no more than {MAX_TAGS} tags; this change would leave {}", keys.len()),
            ));
        }
        self.store.change_tags(g.id, &add, &remove).map_err(storage)?;
        empty()
    }

    fn tag_resource(&self, call: &Call, req: TagResource) -> Result<Vec<u8>> {
        let g = self.tagged_group(call, req.resource_arn)?;
        self.change_tags(&g, required(req.tags, "tags")?, Vec::new())
    }

    fn untag_resource(&self, call: &Call, req: UntagResource) -> Result<Vec<u8>> {
        let g = self.tagged_group(call, req.resource_arn)?;
        self.change_tags(&g, BTreeMap::new(), required(req.tag_keys, "tagKeys")?)
    }

    fn list_tags_for_resource(&self, call: &Call, req: UntagResource) -> Result<Vec<u8>> {
        let g = self.tagged_group(call, req.resource_arn)?;
        let tags: serde_json::Map<String, Value> =
            self.store.tags(g.id).map_err(storage)?.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        out(json!({ "tags": tags }))
    }

    fn tag_log_group(&self, call: &Call, req: TagLogGroup) -> Result<Vec<u8>> {
        let tags = required(req.tags, "tags")?;
        let g = self.group(call, req.log_group_name)?;
        self.change_tags(&g, tags, Vec::new())
    }

    fn untag_log_group(&self, call: &Call, req: UntagLogGroup) -> Result<Vec<u8>> {
        let keys = required(req.tags, "tags")?;
        let g = self.group(call, req.log_group_name)?;
        self.change_tags(&g, BTreeMap::new(), keys)
    }

    fn list_tags_log_group(&self, call: &Call, req: GroupOnly) -> Result<Vec<u8>> {
        let g = self.group(call, req.log_group_name)?;
        let tags: serde_json::Map<String, Value> =
            self.store.tags(g.id).map_err(storage)?.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        out(json!({ "tags": tags }))
    }
}

/// A pattern as an operation takes it: `None` for one that matches everything; AWS's message when it is refused.
fn parse_pattern(text: &str, refusal: &str) -> Result<Option<FilterPattern>> {
    if text.chars().count() > crate::pattern::MAX_PATTERN_CHARS {
        return Err(constraint("filterPattern", text, "Member must have length less than or equal to 1024"));
    }
    match FilterPattern::parse(text) {
        Ok(p) => Ok(Some(p)),
        Err(e) => Err(invalid(format!("{refusal}: {e}"))),
    }
}

fn test_metric_filter(req: TestMetricFilter) -> Result<Vec<u8>> {
    let pattern_text = required(req.filter_pattern, "filterPattern")?;
    let messages = required(req.log_event_messages, "logEventMessages")?;
    if messages.is_empty() || messages.len() > 50 {
        return Err(constraint("logEventMessages", messages.len(), "Member must have length between 1 and 50"));
    }
    if let Some(i) = messages.iter().position(String::is_empty) {
        return Err(constraint(
            &format!("logEventMessages.{}.member", i + 1),
            "",
            "Member must have length greater than or equal to 1",
        ));
    }
    let pattern = parse_pattern(&pattern_text, "Invalid metric filter pattern")?;
    let matches: Vec<Value> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let found =
                pattern.as_ref().map_or_else(|| Some(Default::default()), |p| p.matches(m).map(|x| x.extracted))?;
            let extracted: serde_json::Map<String, Value> =
                found.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            Some(json!({"eventNumber": i + 1, "eventMessage": m, "extractedValues": extracted}))
        })
        .collect();
    out(json!({ "matches": matches }))
}

/// Checks a metric transformation against AWS's rules and the pattern's form; the transformation as kept.
fn check_transformation(t: &Transformation, kind: PatternKind) -> Result<Value> {
    let name = required(t.metric_name.clone(), "metricTransformations.1.member.metricName")?;
    let namespace = required(t.metric_namespace.clone(), "metricTransformations.1.member.metricNamespace")?;
    let value = required(t.metric_value.clone(), "metricTransformations.1.member.metricValue")?;
    for (member, v) in [("metricName", &name), ("metricNamespace", &namespace)] {
        let member = format!("metricTransformations.1.member.{member}");
        length(&member, v, 1, 255)?;
        if v.contains([':', '*', '$']) {
            return Err(constraint(&member, v, "Member must satisfy regular expression pattern: [^:*$]*"));
        }
    }
    length("metricTransformations.1.member.metricValue", &value, 1, 100)?;
    let reference_ok = match kind {
        PatternKind::Json => value.starts_with("$.") && value.len() > 2,
        PatternKind::Delimited => value.starts_with('$') && value.len() > 1 && !value.starts_with("$."),
        PatternKind::Terms => false,
    };
    if crate::pattern::number(&value).is_none() && !reference_ok {
        return Err(invalid(format!(
            "Invalid metric value {value:?}: a number, or $.field for a JSON pattern, or $field for a space-delimited one"
        )));
    }
    if let Some(unit) = &t.unit {
        if !cairn_metrics::UNITS.contains(&unit.as_str()) {
            return Err(constraint("metricTransformations.1.member.unit", unit, "Member must satisfy enum value set"));
        }
    }
    let dimensions = t.dimensions.clone().unwrap_or_default();
    if !dimensions.is_empty() {
        if kind == PatternKind::Terms {
            return Err(invalid("The specified filter pattern does not support dimensions"));
        }
        if t.default_value.is_some() {
            return Err(invalid(
                "Invalid metric transformation: dimensions and default value are mutually exclusive properties",
            ));
        }
        if dimensions.len() > MAX_DIMENSIONS {
            return Err(invalid(format!("A metric filter can have at most {MAX_DIMENSIONS} dimensions")));
        }
        for (k, v) in &dimensions {
            length("dimensions.key", k, 1, 255)?;
            length("dimensions.value", v, 1, 255)?;
            if k.starts_with(':') || !k.is_ascii() || k.trim().is_empty() {
                return Err(invalid(format!("Invalid dimension name {k:?}")));
            }
            if !v.starts_with('$') {
                return Err(invalid(format!("Invalid dimension value {v:?}: it names a field ($.field or $field)")));
            }
        }
    }
    let mut kept = json!({"metricName": name, "metricNamespace": namespace, "metricValue": value});
    if let Some(d) = t.default_value {
        kept["defaultValue"] = json!(d);
    }
    if !dimensions.is_empty() {
        kept["dimensions"] = json!(dimensions);
    }
    if let Some(u) = &t.unit {
        kept["unit"] = json!(u);
    }
    Ok(kept)
}

/// Tags as AWS checks them: at least `min` (CreateLogGroup's map, when given, has one), keys of 1-128 characters
/// and values of at most 256.
fn checked_tags(tags: BTreeMap<String, String>, min: usize) -> Result<Vec<(String, String)>> {
    if tags.len() < min {
        return Err(constraint("tags", "{}", "Member must have length greater than or equal to 1"));
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::new(
            ErrorCode::LogsTooManyTags,
            format!("A resource can have no more than {MAX_TAGS} tags"),
        ));
    }
    for (k, v) in &tags {
        length("tags.key", k, 1, 128)?;
        length("tags.value", v, 0, 256)?;
        if k.starts_with("aws:") {
            return Err(invalid(format!("Tag keys starting with aws: are reserved: {k}")));
        }
    }
    Ok(tags.into_iter().collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateLogGroup {
    log_group_name: Option<String>,
    kms_key_id: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    log_group_class: Option<String>,
    deletion_protection_enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupOnly {
    log_group_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogGroups {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    log_group_class: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutRetentionPolicy {
    log_group_name: Option<String>,
    retention_in_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamRequest {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogStreams {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputLogEvent {
    timestamp: Option<i64>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEvents {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    log_events: Option<Vec<InputLogEvent>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetLogEvents {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEvents {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transformation {
    metric_name: Option<String>,
    metric_namespace: Option<String>,
    metric_value: Option<String>,
    default_value: Option<f64>,
    dimensions: Option<BTreeMap<String, String>>,
    unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutMetricFilter {
    log_group_name: Option<String>,
    filter_name: Option<String>,
    filter_pattern: Option<String>,
    metric_transformations: Option<Vec<Transformation>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeMetricFilters {
    log_group_name: Option<String>,
    filter_name_prefix: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    metric_name: Option<String>,
    metric_namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteMetricFilter {
    log_group_name: Option<String>,
    filter_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestMetricFilter {
    filter_pattern: Option<String>,
    log_event_messages: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagResource {
    resource_arn: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagResource {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagLogGroup {
    log_group_name: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagLogGroup {
    log_group_name: Option<String>,
    tags: Option<Vec<String>>,
}
