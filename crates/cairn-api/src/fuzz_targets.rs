//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), shared with the deterministic mutation test below so
//! that every CI run exercises them too. Each must never panic, whatever the input.

use http::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;

use crate::shapes::{
    CreateTrailRequest, DescribeTrailsRequest, PutEventSelectorsRequest, PutInsightSelectorsRequest, TagsRequest,
};
use crate::{parse_input, sigv4};

/// AWS JSON 1.1 input parsing for several operations, then the model's validation of what parsed; and the checks
/// of producers' event records and of PutAuditEvents' events (the integration event schema).
pub fn aws_json_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(checked) = cairn_model::channel::check_event_data(&text, "111122223333") {
        let record = cairn_model::channel::activity_record("e", checked, "us-east-1", "111122223333", "arn:c", 0);
        assert!(cairn_model::channel::record_channel(&record).is_some());
    }
    let _ = parse_input::<crate::channels::PutAuditEventsBody>(data);
    let _ = parse_input::<crate::channels::CreateChannelRequest>(data);
    if let Ok((_, payload)) = cairn_model::event::check_record(&String::from_utf8_lossy(data), || "id".into()) {
        // Whatever is accepted must be a JSON object.
        assert!(serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&payload).is_ok(), "{payload}");
    }
    let _ = parse_input::<CreateTrailRequest>(data);
    let _ = parse_input::<DescribeTrailsRequest>(data);
    let _ = parse_input::<TagsRequest>(data).map(|r| r.tags_list.map(|t| cairn_model::tags::validate(&t)));
    let _ = parse_input::<PutInsightSelectorsRequest>(data);
    if let Ok(r) = parse_input::<PutEventSelectorsRequest>(data) {
        if let Some(b) = r.event_selectors {
            let _ = cairn_model::EventSelectors::Basic(b).validate();
        }
        if let Some(a) = r.advanced_event_selectors {
            let _ = cairn_model::EventSelectors::Advanced(a).validate();
        }
    }
}

/// SigV4 verification of an arbitrary request: lines of `name: value` headers, a blank line, then the body; the
/// first line is the query string.
pub fn sigv4_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let query = lines.next().unwrap_or("");
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.trim().as_bytes()), HeaderValue::from_str(v.trim())) {
                headers.append(k, v);
            }
        }
    }
    let req = sigv4::SignedRequest { method: "POST", path: "/", query, headers: &headers, body: body.as_bytes() };
    let _ = sigv4::verify(&req, "cloudtrail", OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000), |k| {
        (k == "AKIDEXAMPLE").then_some("secret")
    });
}

/// Trail names, ARNs and the other naming rules.
pub fn names(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = cairn_model::arn::TrailRef::parse(&s);
    let _ = cairn_model::Arn::parse(&s).map(|a| a.cloudtrail_resource().map(|(k, id)| (k, id.len())));
    let _ = cairn_model::names::validate_bucket_name(&s);
    let _ = cairn_model::names::validate_s3_prefix(&s);
    let _ = cairn_model::names::is_region(&s);
}

/// Trail selection of an arbitrary record: the first line is a PutEventSelectors body (selectors to evaluate when it
/// parses and validates), the rest a record; parsing the record and every selection must never panic.
pub fn trail_selection(data: &[u8]) {
    let (first, record) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let Some(event) = cairn_model::EventView::parse(record) else { return };
    let mut trail = cairn_model::Trail::new("111111111111", "fuzz", "us-east-1", "bucket");
    let _ = trail.takes(&event, |a| a == "222222222222");
    trail.is_multi_region_trail = true;
    trail.organization_id = Some("o-fuzz".into());
    if let Ok(r) = parse_input::<PutEventSelectorsRequest>(first) {
        let parsed = match (r.event_selectors, r.advanced_event_selectors) {
            (Some(b), None) => Some(cairn_model::EventSelectors::Basic(b)),
            (None, Some(a)) => Some(cairn_model::EventSelectors::Advanced(a)),
            _ => None,
        };
        if let Some(selectors) = parsed.filter(|s| s.validate().is_ok()) {
            trail.event_selectors = selectors;
        }
    }
    let _ = trail.takes(&event, |a| a == "222222222222");
}

/// The wire formats of CloudWatch and SNS: the body as RPC v2 CBOR (whatever decodes must encode back to the same
/// value) and as a query protocol form (whatever decodes is read with the lenient accessors and answered as XML).
pub fn wire_request(data: &[u8]) {
    use crate::wire::{self, cbor, query, Node};
    fn node(v: &serde_json::Value) -> Node {
        match v {
            serde_json::Value::Null => Node::Null,
            serde_json::Value::Bool(b) => Node::Bool(*b),
            serde_json::Value::Number(n) => n.as_i64().map(Node::Int).unwrap_or(Node::Float(n.as_f64().unwrap_or(0.0))),
            serde_json::Value::String(s) => Node::Str(s.clone()),
            serde_json::Value::Array(a) => Node::List(a.iter().map(node).collect()),
            serde_json::Value::Object(m) => Node::Struct(m.iter().map(|(k, v)| (k.clone(), node(v))).collect()),
        }
    }
    fn read_members(v: &serde_json::Value) {
        for member in v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            let _ = wire::text(v, &member);
            let _ = wire::number(v, &member);
            let _ = wire::integer(v, &member);
            let _ = wire::boolean(v, &member);
            let _ = wire::timestamp(v, &member).map(|t| t.map(wire::iso8601));
            let _ = wire::list(v, &member);
            let _ = wire::texts(v, &member);
        }
    }
    if let Ok(v) = cbor::decode(data) {
        read_members(&v);
        let n = node(&v);
        // Integers past i64 travel as doubles; everything else must come back as it went.
        if n.to_json() == v {
            assert_eq!(cbor::decode(&cbor::encode(&n)).as_ref(), Ok(&v));
        }
    }
    let form = String::from_utf8_lossy(data);
    let v = query::decode(&form);
    read_members(&v);
    let xml = String::from_utf8(query::response("Fuzz", "urn:fuzz", Some(&node(&v)), "id")).unwrap();
    assert!(xml.ends_with("</FuzzResponse>"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEDS: &[&[u8]] = &[
        br#"{"Name":"my-trail","S3BucketName":"amzn-s3-demo-bucket","IsMultiRegionTrail":true,"TagsList":[{"Key":"a","Value":"b"}]}"#,
        br#"{"TrailName":"t","EventSelectors":[{"ReadWriteType":"All","DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::b/"]}]}]}"#,
        br#"{"TrailName":"t","AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]}]}]}"#,
        br#"{"eventTime":"2026-01-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","recipientAccountId":"111111111111"}"#,
        br#"{"trailNameList":["arn:aws:cloudtrail:us-east-1:123456789012:trail/x"],"includeShadowTrails":false}"#,
        b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fcloudtrail%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00\nhost: h\n\n{}",
        b"\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc\nx-amz-date: 20240101T000000Z\nhost: h\n\n{}",
        b"arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail",
        br#"{"version":"1","userIdentity":{"type":"T","principalId":"p","details":{}},"eventSource":"a.example","eventName":"N","eventTime":"2026-01-01T00:00:00Z","UID":"u","recipientAccountId":"111122223333","requestParameters":{"k":1}}"#,
        br#"{"auditEvents":[{"id":"a","eventData":"{}","eventDataChecksum":"x"}]}"#,
        b"Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a&Dimensions.member.1.Name=InstanceId&Dimensions.member.1.Value=i-1&Threshold=1e3&StartTime=2026-12-05T10%3A00%3A00Z",
        b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&MessageAttributes.entry.1.Name=k&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=v",
        b"\xbf\x69AlarmName\x61a\x69Threshold\xfb\x3f\xf8\x00\x00\x00\x00\x00\x00\x69StartTime\xc1\x1a\x69\x53\x22\x00\x6aDimensions\x81\xa2\x64Name\x61k\x65Value\x61v\xff",
        br#"{"TrailName":"t","AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::b/"]}]}]}
{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","recipientAccountId":"222222222222","eventCategory":"Data","managementEvent":false,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"}],"userIdentity":{"arn":"arn:aws:iam::1:user/a"}}"#,
    ];

    /// Deterministic mutations of the seeds (bit flips, truncations, splices, byte insertions), run through every
    /// target: a quick stand-in for the fuzzers that needs no nightly toolchain.
    #[test]
    fn targets_survive_mutated_seeds() {
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for _ in 0..20_000 {
            let mut input = SEEDS[next() as usize % SEEDS.len()].to_vec();
            for _ in 0..(next() % 4 + 1) {
                let len = input.len().max(1);
                match next() % 5 {
                    0 if !input.is_empty() => {
                        let i = next() as usize % input.len();
                        input[i] ^= 1 << (next() % 8);
                    }
                    1 => input.truncate(next() as usize % len),
                    2 => input.insert(next() as usize % len.min(input.len() + 1), next() as u8),
                    3 => {
                        let other = SEEDS[next() as usize % SEEDS.len()];
                        let at = next() as usize % other.len();
                        input.extend_from_slice(&other[at..]);
                    }
                    _ => input.insert(next() as usize % len.min(input.len() + 1), b"{}[]\":,%\n"[next() as usize % 9]),
                }
            }
            aws_json_input(&input);
            sigv4_request(&input);
            names(&input);
            trail_selection(&input);
            wire_request(&input);
        }
    }
}
