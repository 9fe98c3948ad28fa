//! Realistic CloudTrail records for ingestion benchmarks (1-2 KB each, varied like a real account's traffic), and
//! the hardware floor they are compared with.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

const NAMES: [(&str, &str); 9] = [
    ("ec2.amazonaws.com", "RunInstances"),
    ("s3.amazonaws.com", "PutBucketPolicy"),
    ("iam.amazonaws.com", "CreateAccessKey"),
    ("sts.amazonaws.com", "AssumeRole"),
    ("kms.amazonaws.com", "Decrypt"),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("cloudtrail.amazonaws.com", "StopLogging"),
    ("signin.amazonaws.com", "ConsoleLogin"),
];

/// One record; `i` varies names, identities, times and sizes.
pub fn record(i: usize) -> serde_json::Value {
    record_at(i, &format!("2026-11-20T{:02}:{:02}:{:02}Z", (i / 3600) % 24, (i / 60) % 60, i % 60))
}

/// The deterministic eventID of record `i`, so that benchmarks know ids to look up.
pub fn event_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

/// Record `i` at the given eventTime: one in 17 calls is refused (AccessDenied), and one in 5 console sign-ins fails.
pub fn record_at(i: usize, event_time: &str) -> serde_json::Value {
    let mut e = plain_record(i, event_time);
    if e["eventName"] == "ConsoleLogin" {
        let failed = (i / NAMES.len()).is_multiple_of(5);
        e["responseElements"] = serde_json::json!({"ConsoleLogin": if failed { "Failure" } else { "Success" }});
        e["additionalEventData"] = serde_json::json!({"MFAUsed": if i.is_multiple_of(4) { "No" } else { "Yes" }});
        if failed {
            e["errorMessage"] = serde_json::json!("Failed authentication");
        }
    } else if i.is_multiple_of(17) {
        e["errorCode"] = serde_json::json!("AccessDenied");
        e["errorMessage"] = serde_json::json!("User is not authorized to perform this operation");
    }
    e
}

fn plain_record(i: usize, event_time: &str) -> serde_json::Value {
    let (source, name) = NAMES[i % NAMES.len()];
    let padding = "x".repeat(200 + (i * 7919) % 700);
    let region = ["us-east-1", "eu-west-1", "ap-southeast-2"][i % 3];
    serde_json::json!({
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLEROLEID{:04}:session-{i}", i % 1000),
            "arn": format!("arn:aws:sts::111111111111:assumed-role/deployer-{}/session-{i}", i % 17),
            "accountId": "111111111111",
            "accessKeyId": format!("ASIAEXAMPLE{:09}", i % 100_000),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID", "arn": format!("arn:aws:iam::111111111111:role/deployer-{}", i % 17), "accountId": "111111111111", "userName": format!("deployer-{}", i % 17)},
                "attributes": {"creationDate": "2026-11-20T09:00:00Z", "mfaAuthenticated": "false"}
            }
        },
        "eventTime": event_time,
        "eventID": event_id(i),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": format!("10.{}.{}.{}", i % 256, (i / 256) % 256, (i * 13) % 256),
        "userAgent": "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0",
        "requestParameters": {"resourceId": format!("i-{:017x}", i * 2_654_435_761), "tags": [{"key": "team", "value": "platform"}], "note": padding},
        "responseElements": null,
        "resources": [{"ARN": format!("arn:aws:ec2:{region}:111111111111:instance/i-{:08x}", i % 5000), "accountId": "111111111111", "type": "AWS::EC2::Instance"}],
        "requestID": format!("{:08x}-1111-4222-8333-{:012x}", i, i * 31),
        "readOnly": i.is_multiple_of(3),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111111111111",
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"}
    })
}

const ID_PREFIX: &[u8] = b"\"eventID\":\"00000000-0000-4000-8000-";

/// A `{"Records":[...]}` body of `n` records (the `k`-th of a set of distinct bodies), with the offsets of the
/// 12 hex digits ending each record's eventID, so every request can carry fresh eventIDs.
pub fn batch(k: usize, n: usize) -> (Vec<u8>, Vec<usize>) {
    let records: Vec<serde_json::Value> = (0..n).map(|i| record(k * n + i)).collect();
    let body = serde_json::to_vec(&serde_json::json!({ "Records": records })).expect("records serialize");
    let offsets = body
        .windows(ID_PREFIX.len())
        .enumerate()
        .filter(|(_, w)| *w == ID_PREFIX)
        .map(|(i, _)| i + ID_PREFIX.len())
        .collect();
    (body, offsets)
}

/// Writes `id` as 12 hex digits at each offset, one id per record.
pub fn stamp(body: &mut [u8], offsets: &[usize], first_id: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (n, &at) in offsets.iter().enumerate() {
        let id = first_id + n as u64;
        for d in 0..12 {
            body[at + d] = HEX[((id >> (44 - 4 * d)) & 0xf) as usize];
        }
    }
}

/// `n` records numbered from `first`, spread evenly over the `days` before `now_secs` (record 0 oldest).
pub fn spread(first: usize, n: usize, total: usize, days: u64, now_secs: u64) -> Vec<serde_json::Value> {
    let span = days * 86_400;
    (first..first + n)
        .map(|i| {
            let t = now_secs - span + (i as u64 * span) / total.max(1) as u64;
            record_at(i, &cairn_model::event::format_event_time(t as i64 * 1000))
        })
        .collect()
}

/// Appends the same records, serialized, to `file` with one fdatasync per batch for `seconds`; prints events/s and
/// the latency of each write + fdatasync.
pub fn floor(file: &std::path::Path, per_batch: usize, seconds: f64) -> Result<()> {
    let records: Vec<Vec<u8>> =
        (0..per_batch).map(|i| serde_json::to_vec(&record(i)).expect("records serialize")).collect();
    let mut buf = Vec::new();
    for r in &records {
        // The journal's framing: 16 header bytes per record.
        buf.extend_from_slice(&[0u8; 16]);
        buf.extend_from_slice(r);
    }
    let mut f = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(file).context("floor file")?;
    let (start, mut batches, mut lat) = (Instant::now(), 0u64, Vec::new());
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        let t0 = Instant::now();
        f.write_all(&buf)?;
        f.sync_data()?;
        lat.push(t0.elapsed().as_micros() as u32);
        batches += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(file);
    lat.sort_unstable();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).saturating_sub(1).min(lat.len() - 1)] as f64 / 1000.0;
    let avg_record = records.iter().map(Vec::len).sum::<usize>() as f64 / records.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "records_per_batch": per_batch,
            "avg_record_bytes": avg_record,
            "events_per_s": (batches * per_batch as u64) as f64 / secs,
            "mb_per_s": (batches as f64 * buf.len() as f64) / secs / 1e6,
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_bodies_carry_fresh_ids() {
        let (mut body, offsets) = batch(0, 3);
        assert_eq!(offsets.len(), 3);
        stamp(&mut body, &offsets, 0xabc);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let ids: Vec<&str> = v["Records"].as_array().unwrap().iter().map(|r| r["eventID"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "00000000-0000-4000-8000-000000000abc",
                "00000000-0000-4000-8000-000000000abd",
                "00000000-0000-4000-8000-000000000abe"
            ]
        );
    }
}
