//! The wire protocol with raw requests signed by the official signer: targets, malformed and oversized bodies,
//! authentication failures, and the operations later versions build.

use std::time::{Duration, SystemTime};

use crate::common::*;

const PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

fn trail_count(server: &Server) -> usize {
    let r = raw(server, Some(&format!("{PREFIX}DescribeTrails")), b"{}", Signing::as_(MGMT));
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["trailList"].as_array().unwrap().len()
}

#[test]
fn targets_full_short_and_unknown() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let full = raw(&server, Some(&format!("{PREFIX}DescribeTrails")), b"{}", Signing::as_(MGMT));
    assert_eq!(full.status, 200);
    assert_eq!(full.header("content-type"), Some("application/x-amz-json-1.1"));
    assert!(full.header("x-amzn-requestid").is_some_and(|id| id.len() == 36));
    let short = raw(&server, Some("CloudTrail_20131101.DescribeTrails"), b"", Signing::as_(MGMT));
    assert_eq!((short.status, short.body.clone()), (200, serde_json::json!({"trailList": []})));
    for target in [Some("CloudTrail_20131101.NoSuchOperation"), Some("DescribeTrails"), None] {
        let r = raw(&server, target, b"{}", Signing::as_(MGMT));
        assert_eq!((r.status, r.error_type()), (400, "UnknownOperationException"), "{target:?}");
        assert_eq!(r.header("x-amzn-errortype"), Some("UnknownOperationException"));
    }
}

#[test]
fn malformed_and_ill_typed_bodies() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let create = format!("{PREFIX}CreateTrail");
    let cases: &[(&[u8], &str)] = &[
        (b"{\"Name\":", "SerializationException"),
        (b"not json", "SerializationException"),
        (b"[1,2]", "SerializationException"),
        (b"{\"Name\":42,\"S3BucketName\":\"trail-bucket\"}", "SerializationException"),
        (
            b"{\"Name\":\"t-1\",\"S3BucketName\":\"trail-bucket\",\"IsMultiRegionTrail\":\"yes\"}",
            "SerializationException",
        ),
        (b"{\"Name\":\"t-1\",\"S3BucketName\":\"trail-bucket\",\"TagsList\":{}}", "SerializationException"),
        (b"{\"S3BucketName\":\"trail-bucket\"}", "ValidationException"),
        (b"{}", "ValidationException"),
    ];
    for (body, want) in cases {
        let r = raw(&server, Some(&create), body, Signing::as_(MGMT));
        assert_eq!((r.status, r.error_type()), (400, *want), "{}", String::from_utf8_lossy(body));
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(trail_count(&server), 0);
    // Unknown members are ignored, as AWS does.
    let ok = raw(
        &server,
        Some(&create),
        b"{\"Name\":\"t-1\",\"S3BucketName\":\"trail-bucket\",\"Extra\":1}",
        Signing::as_(MGMT),
    );
    assert_eq!(ok.status, 200, "{:?}", ok.body);
}

#[test]
fn oversized_bodies_are_refused_before_buffering() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let target = format!("{PREFIX}CreateTrail");
    // The test configuration allows 64 KiB.
    let big =
        format!("{{\"Name\":\"big\",\"S3BucketName\":\"trail-bucket\",\"S3KeyPrefix\":\"{}\"}}", "p".repeat(70_000));
    let r = raw(&server, Some(&target), big.as_bytes(), Signing::as_(MGMT));
    assert_eq!((r.status, r.error_type()), (413, "RequestEntityTooLargeException"));
    // An announced length of 1 GiB is refused from the headers alone, without sending the body.
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", &server.addr)
        .header("x-amz-target", &target)
        .body(Vec::new())
        .unwrap();
    let r = send(&server, &req, Some(1 << 30));
    assert_eq!((r.status, r.error_type()), (413, "RequestEntityTooLargeException"));
    assert_eq!(trail_count(&server), 0);
}

#[test]
fn authentication_failures() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let target = format!("{PREFIX}CreateTrail");
    let body = b"{\"Name\":\"auth-trail\",\"S3BucketName\":\"trail-bucket\"}";
    let unsigned = raw(&server, Some(&target), body, Signing::Unsigned);
    assert_eq!((unsigned.status, unsigned.error_type()), (403, "MissingAuthenticationTokenException"));
    let unknown = raw(
        &server,
        Some(&target),
        body,
        Signing::Headers { akid: "AKIAUNKNOWN000000000", secret: MGMT.2, at: SystemTime::now() },
    );
    assert_eq!((unknown.status, unknown.error_type()), (400, "UnrecognizedClientException"));
    let wrong_secret = raw(
        &server,
        Some(&target),
        body,
        Signing::Headers { akid: MGMT.1, secret: "not-the-secret", at: SystemTime::now() },
    );
    assert_eq!(wrong_secret.error_type(), "InvalidSignatureException");
    let skewed = SystemTime::now() - Duration::from_secs(20 * 60);
    let old = raw(&server, Some(&target), body, Signing::Headers { akid: MGMT.1, secret: MGMT.2, at: skewed });
    assert_eq!(old.error_type(), "InvalidSignatureException");
    assert!(old.body["message"].as_str().unwrap().contains("expired"));
    let future = SystemTime::now() + Duration::from_secs(20 * 60);
    let ahead = raw(&server, Some(&target), body, Signing::Headers { akid: MGMT.1, secret: MGMT.2, at: future });
    assert_eq!(ahead.error_type(), "InvalidSignatureException");
    assert_eq!(trail_count(&server), 0, "refused requests changed state");

    // The query-string (presigned) form authenticates too.
    let presigned = raw(&server, Some(&target), body, Signing::Query { akid: MGMT.1, secret: MGMT.2 });
    assert_eq!(presigned.status, 200, "{:?}", presigned.body);
    assert_eq!(trail_count(&server), 1);
}

#[test]
fn operations_of_later_versions_say_so() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let later = ["ListInsightsData", "ListInsightsMetricData"];
    assert_eq!(later.len() + 58, 60);
    for op in later {
        let r = raw(&server, Some(&format!("{PREFIX}{op}")), b"{}", Signing::as_(MGMT));
        assert_eq!((r.status, r.error_type()), (400, "UnsupportedOperationException"), "{op}");
        assert!(r.body["message"].as_str().unwrap().contains(op), "{op}: {:?}", r.body);
    }
}
