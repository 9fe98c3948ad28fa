//! The web console's files at `/console` (validators, content security policy, gzip), which unsigned reads of a
//! bucket named `console` do not reach while signed S3 requests do; and STS GetCallerIdentity, which the console
//! asks for its account, answered and recorded.

use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};

use crate::common::*;

fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> Raw {
    let mut req = http::Request::builder().method("GET").uri(format!("http://{}{path}", server.addr));
    req = req.header("host", &server.addr);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(server, &req.body(Vec::new()).unwrap(), None)
}

#[tokio::test]
async fn the_console_is_served_with_validators_and_a_policy_and_a_console_bucket_stays_s3s() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let moved = get(&server, "/console", &[]);
    assert_eq!((moved.status, moved.header("location")), (301, Some("/console/")));
    let page = get(&server, "/console/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.text.contains("app.js"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("connect-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    // The application's own routes are the page too.
    assert_eq!(get(&server, "/console/trails/my-trail", &[]).text, page.text);
    assert_eq!(get(&server, "/console/missing.js", &[]).status, 404);

    let js = get(&server, "/console/app.js", &[]);
    assert_eq!(js.status, 200);
    let etag = js.header("etag").unwrap().to_string();
    assert_eq!(get(&server, "/console/app.js", &[("if-none-match", &etag)]).status, 304);
    let zipped = get(&server, "/console/app.js", &[("accept-encoding", "gzip, br")]);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_ne!(zipped.header("etag").unwrap(), etag);

    // A bucket named `console`: signed requests are S3's, unsigned reads under /console are the console's.
    let s3 = server.s3_client(MGMT, "us-east-1");
    s3.create_bucket().bucket("console").send().await.unwrap();
    s3.put_object().bucket("console").key("app.js").body(b"not the console".to_vec().into()).send().await.unwrap();
    let object = s3.get_object().bucket("console").key("app.js").send().await.unwrap();
    assert_eq!(object.body.collect().await.unwrap().into_bytes().as_ref(), b"not the console");
    assert_eq!(get(&server, "/console/app.js", &[]).text, js.text);
}

#[tokio::test]
async fn get_caller_identity_names_the_account_and_is_recorded() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let who = raw_to(&server, "/", "sts", &form, b"Action=GetCallerIdentity&Version=2011-06-15", Signing::as_(MGMT));
    assert_eq!(who.status, 200, "{}", who.text);
    assert!(who.text.contains("<GetCallerIdentityResult>"), "{}", who.text);
    assert!(who.text.contains(&format!("<Account>{}</Account>", MGMT.0)), "{}", who.text);
    assert!(who.text.contains(&format!("<Arn>arn:aws:iam::{}:", MGMT.0)), "{}", who.text);
    let other = raw_to(&server, "/", "sts", &form, b"Action=AssumeRole&Version=2011-06-15", Signing::as_(MGMT));
    assert_eq!(other.status, 400);
    assert!(other.text.contains("<Code>InvalidAction</Code>"), "{}", other.text);
    let unsigned = raw_to(&server, "/", "sts", &form, b"Action=GetCallerIdentity", Signing::Unsigned);
    assert!(unsigned.status >= 400 && !unsigned.text.contains("<Account>"), "{}", unsigned.text);

    let ct = server.client(MGMT, "us-east-1");
    let by_name = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value("GetCallerIdentity")
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let event = loop {
        let r = ct.lookup_events().lookup_attributes(by_name.clone()).send().await.unwrap();
        if let Some(e) = r.events().first() {
            break serde_json::from_str::<serde_json::Value>(e.cloud_trail_event().unwrap()).unwrap();
        }
        assert!(Instant::now() < deadline, "GetCallerIdentity not in event history");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(event["eventSource"], "sts.amazonaws.com");
    assert_eq!(event["readOnly"], true);
    assert_eq!(event["requestParameters"], serde_json::Value::Null);
    assert_eq!(event["userIdentity"]["accountId"], MGMT.0);
}
