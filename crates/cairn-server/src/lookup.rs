//! LookupEvents: event history of the caller's account and region, newest first, by one lookup attribute and a
//! time range, with AWS's limits and errors and pagination tokens bound to the parameters they came with.

use cairn_api::shapes::{EventShape, LookupEventsRequest, LookupEventsResponse, ResourceShape};
use cairn_api::{ApiError, ErrorCode, Result};
use cairn_store::{Category, Cursor, LookupKey, Query, RETENTION_MS};

use crate::{epoch_seconds, App, Ctx};

const MAX_RESULTS: i64 = 50;
const MAX_VALUE_LENGTH: usize = 2000;
const TOKEN_PREFIX: &str = "cairn-lookup-v1:";

/// AWS counts `_`, space, `,` and newline twice toward the 2000-character limit of an attribute value.
fn weighted_len(v: &str) -> usize {
    v.chars().map(|c| if matches!(c, '_' | ' ' | ',' | '\n') { 2 } else { 1 }).sum()
}

fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What a token is bound to: the caller's account and region and the parameters as given.
fn binding(ctx: &Ctx, req: &LookupEventsRequest) -> u64 {
    let attrs = req.lookup_attributes.as_deref().unwrap_or_default();
    let attr: Vec<&str> = attrs
        .iter()
        .flat_map(|a| [a.attribute_key.as_deref().unwrap_or(""), a.attribute_value.as_deref().unwrap_or("")])
        .collect();
    let (start, end) = (format!("{:?}", req.start_time), format!("{:?}", req.end_time));
    let mut parts = vec![ctx.account_id.as_str(), ctx.region.as_str(), &start, &end];
    parts.push(req.event_category.as_deref().unwrap_or(""));
    parts.extend(attr);
    fnv(&parts)
}

fn encode_token(bound: u64, c: Cursor) -> String {
    cairn_api::token::encode(TOKEN_PREFIX, &format!("{bound:016x}.{}.{}", c.time_ms, c.seq))
}

fn decode_token(token: &str, bound: u64) -> Result<Cursor> {
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidNextToken,
            "the pagination token is not valid or was issued for different parameters",
        )
    };
    let plain = cairn_api::token::decode(TOKEN_PREFIX, token).ok_or_else(bad)?;
    let mut it = plain.split('.');
    let (Some(b), Some(t), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else { return Err(bad()) };
    if u64::from_str_radix(b, 16).ok() != Some(bound) {
        return Err(bad());
    }
    Ok(Cursor { time_ms: t.parse().map_err(|_| bad())?, seq: s.parse().map_err(|_| bad())? })
}

fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

pub(crate) fn lookup_events(app: &App, ctx: &Ctx, req: LookupEventsRequest) -> Result<LookupEventsResponse> {
    let now = app.clock.now_millis();
    let attrs = req.lookup_attributes.as_deref().unwrap_or_default();
    if attrs.len() > 1 {
        return Err(ApiError::new(
            ErrorCode::InvalidLookupAttributes,
            format!("only one lookup attribute may be given, {} were", attrs.len()),
        ));
    }
    let attribute = match attrs.first() {
        None => None,
        Some(a) => {
            let key_name = a.attribute_key.as_deref().unwrap_or("");
            let key = LookupKey::parse(key_name).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidLookupAttributes,
                    format!("lookup attribute key {key_name:?} is not one of EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId"),
                )
            })?;
            let value = a.attribute_value.as_deref().unwrap_or("");
            if value.is_empty() || weighted_len(value) > MAX_VALUE_LENGTH {
                return Err(ApiError::new(
                    ErrorCode::InvalidLookupAttributes,
                    format!("lookup attribute value must be 1 to {MAX_VALUE_LENGTH} characters"),
                ));
            }
            Some((key, value))
        }
    };
    let category = match req.event_category.as_deref() {
        None => Category::Management,
        Some("insight") => Category::Insight,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidEventCategory,
                format!("event category {other:?} is not valid: the only value is insight"),
            ))
        }
    };
    let limit = req.max_results.unwrap_or(MAX_RESULTS);
    if !(1..=MAX_RESULTS).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidMaxResults,
            format!("MaxResults {limit} must be between 1 and {MAX_RESULTS}"),
        ));
    }
    let oldest = now - RETENTION_MS;
    let start_ms = req.start_time.map_or(oldest, millis);
    let end_ms = req.end_time.map_or(now, millis);
    if start_ms > end_ms {
        return Err(ApiError::new(ErrorCode::InvalidTimeRange, "StartTime is after EndTime"));
    }
    if end_ms < oldest {
        return Err(ApiError::new(
            ErrorCode::InvalidTimeRange,
            "the time range ends more than 90 days ago: event history keeps 90 days of events",
        ));
    }
    let bound = binding(ctx, &req);
    let after = req.next_token.as_deref().map(|t| decode_token(t, bound)).transpose()?;
    let query = Query {
        account_id: &ctx.account_id,
        region: &ctx.region,
        category,
        attribute,
        start_ms,
        end_ms,
        after,
        limit: limit as usize,
    };
    let page = app.history.lookup(&query, now).map_err(|e| {
        tracing::error!(error = %e, "event history cannot answer a lookup");
        ApiError::internal("event history could not be read; try again")
    })?;
    Ok(LookupEventsResponse {
        events: page
            .events
            .iter()
            .map(|e| {
                let f = &e.fields;
                EventShape {
                    event_id: f.event_id.clone(),
                    event_name: f.event_name.clone(),
                    read_only: f.read_only.map(|r| r.to_string()),
                    access_key_id: f.access_key_id.clone(),
                    event_time: epoch_seconds(f.time_ms),
                    event_source: f.event_source.clone(),
                    username: f.username.clone(),
                    resources: f
                        .resources
                        .iter()
                        .map(|(t, n)| ResourceShape { resource_type: t.clone(), resource_name: n.clone() })
                        .collect(),
                    cloud_trail_event: e.raw.to_string(),
                }
            })
            .collect(),
        next_token: page.next.map(|c| encode_token(bound, c)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_and_tamper_evident() {
        let c = Cursor { time_ms: 1_795_355_931_000, seq: 42 };
        assert_eq!(decode_token(&encode_token(7, c), 7).unwrap(), c);
        assert_eq!(decode_token(&encode_token(7, c), 8).unwrap_err().code, ErrorCode::InvalidNextToken);
        for bad in ["", "x", "cairn-lookup-v1:zz", "cairn-lookup-v1:41"] {
            assert_eq!(decode_token(bad, 7).unwrap_err().code, ErrorCode::InvalidNextToken);
        }
        assert_eq!(weighted_len("a_b c,d\n"), 12);
    }
}
