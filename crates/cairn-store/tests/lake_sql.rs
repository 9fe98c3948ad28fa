//! Lake SQL from a table: CloudTrail Lake statements (many in the style of AWS's published sample queries) over two
//! stores, one partly in Parquet files and partly in memory, each with its exact expected answer as Lake writes it.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_store::lake::{sql, Lake, TableKind};
use serde_json::{json, Value};

const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const ACCOUNT: &str = "111122223333";

fn identity(kind: &str, name: &str) -> Value {
    match kind {
        "Root" => json!({"type": "Root", "principalId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root"),
                         "accountId": ACCOUNT}),
        "AssumedRole" => json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:ci",
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci"), "accountId": ACCOUNT,
            "accessKeyId": "ASIAROLE", "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "userName": "Deployer",
                                  "arn": format!("arn:aws:iam::{ACCOUNT}:role/Deployer"), "accountId": ACCOUNT},
                "attributes": {"creationDate": "2026-01-03T10:30:00Z", "mfaAuthenticated": "false"}}}),
        _ => json!({"type": "IAMUser", "principalId": format!("AIDA{}", name.to_uppercase()),
                    "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "accountId": ACCOUNT,
                    "accessKeyId": format!("AKIA{}", name.to_uppercase()), "userName": name}),
    }
}

#[allow(clippy::too_many_arguments)]
fn event(
    id: &str,
    time: &str,
    source: &str,
    name: &str,
    who: (&str, &str),
    region: &str,
    ip: &str,
    more: Value,
) -> Value {
    let mut e = json!({
        "eventVersion": "1.10", "userIdentity": identity(who.0, who.1), "eventTime": time,
        "eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0", "requestID": format!("req-{id}"), "eventID": id, "readOnly": false,
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"});
    for (k, v) in more.as_object().expect("an object") {
        e[k] = v.clone();
    }
    e
}

fn events_a() -> Vec<Value> {
    let bucket = json!([{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs-bucket"}]);
    vec![
        event(
            "e01",
            "2026-01-01T08:00:00Z",
            "signin.amazonaws.com",
            "ConsoleLogin",
            ("IAMUser", "alice"),
            "us-east-1",
            "198.51.100.1",
            json!({"eventType": "AwsConsoleSignIn", "requestParameters": null,
                "responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "Yes", "MobileVersion": "No"}}),
        ),
        event(
            "e02",
            "2026-01-01T08:05:00Z",
            "signin.amazonaws.com",
            "ConsoleLogin",
            ("IAMUser", "alice"),
            "us-east-1",
            "203.0.113.9",
            json!({"eventType": "AwsConsoleSignIn", "errorMessage": "Failed authentication",
                "responseElements": {"ConsoleLogin": "Failure"}, "additionalEventData": {"MFAUsed": "No"}}),
        ),
        event(
            "e03",
            "2026-01-02T09:00:00Z",
            "signin.amazonaws.com",
            "ConsoleLogin",
            ("Root", ""),
            "us-east-1",
            "203.0.113.9",
            json!({"eventType": "AwsConsoleSignIn", "responseElements": {"ConsoleLogin": "Success"},
                "additionalEventData": {"MFAUsed": "No"}}),
        ),
        event(
            "e04",
            "2026-01-02T10:00:00Z",
            "s3.amazonaws.com",
            "CreateBucket",
            ("IAMUser", "bob"),
            "us-west-2",
            "198.51.100.2",
            json!({"requestParameters": {"bucketName": "logs-bucket", "Host": "logs-bucket.s3.amazonaws.com"},
                "resources": bucket}),
        ),
        event(
            "e05",
            "2026-01-02T10:05:00Z",
            "s3.amazonaws.com",
            "PutBucketPolicy",
            ("IAMUser", "bob"),
            "us-west-2",
            "198.51.100.2",
            json!({"errorCode": "AccessDenied", "errorMessage": "Access Denied",
                "requestParameters": {"bucketName": "logs-bucket", "policy": {"Version": "2012-10-17"}}, "resources": bucket}),
        ),
        event(
            "e06",
            "2026-01-03T11:00:00Z",
            "ec2.amazonaws.com",
            "RunInstances",
            ("AssumedRole", ""),
            "eu-west-1",
            "10.0.0.5",
            json!({"requestParameters": {"instanceType": "t3.micro", "minCount": 2, "tags": ["a", "b"]},
                "responseElements": {"reservationId": "r-1"},
                "resources": [{"type": "AWS::EC2::Instance", "ARN": "arn:aws:ec2:eu-west-1:111122223333:instance/i-1"},
                              {"type": "AWS::EC2::Instance", "ARN": "arn:aws:ec2:eu-west-1:111122223333:instance/i-2"}]}),
        ),
        event(
            "e07",
            "2026-01-03T12:00:00Z",
            "ec2.amazonaws.com",
            "TerminateInstances",
            ("AssumedRole", ""),
            "eu-west-1",
            "10.0.0.5",
            json!({"errorCode": "Client.UnauthorizedOperation", "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-9"}]}}}),
        ),
        event(
            "e08",
            "2026-01-04T00:00:00Z",
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            ("IAMUser", "bob"),
            "eu-west-1",
            "198.51.100.2",
            json!({"requestParameters": {"groupId": "sg-1", "cidrIp": "0.0.0.0/0"}}),
        ),
        event(
            "e09",
            "2026-01-04T01:00:00Z",
            "ec2.amazonaws.com",
            "DescribeInstances",
            ("IAMUser", "alice"),
            "us-east-1",
            "198.51.100.1",
            json!({"readOnly": true}),
        ),
        event(
            "e10",
            "2026-01-05T00:00:00Z",
            "s3.amazonaws.com",
            "GetObject",
            ("IAMUser", "alice"),
            "us-west-2",
            "198.51.100.1",
            json!({"readOnly": true, "eventCategory": "Data", "managementEvent": false,
                "requestParameters": {"bucketName": "logs-bucket", "key": "a/b.txt"},
                "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs-bucket/a/b.txt"},
                              {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs-bucket"}]}),
        ),
        event(
            "e11",
            "2026-01-05T06:00:00Z",
            "cloudtrail.amazonaws.com",
            "DeleteTrail",
            ("IAMUser", "alice"),
            "us-east-1",
            "198.51.100.1",
            json!({"requestParameters": {"name": "main"},
                "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "cloudtrail.us-east-1.amazonaws.com"}}),
        ),
        event(
            "e12",
            "2026-01-05T07:00:00Z",
            "cloudtrail.amazonaws.com",
            "StartQuery",
            ("IAMUser", "alice"),
            "us-east-1",
            "198.51.100.1",
            json!({"requestParameters": {"queryStatement": "SELECT 1"}, "responseElements": {"queryId": "q-1"}}),
        ),
    ]
}

fn events_b() -> Vec<Value> {
    let a = events_a();
    vec![
        a[0].clone(),
        a[3].clone(),
        a[5].clone(),
        event(
            "e13",
            "2026-01-06T00:00:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            ("Root", ""),
            "us-east-1",
            "203.0.113.9",
            json!({"requestParameters": {"userName": "mallory"}}),
        ),
    ]
}

/// Store A: its first eight events in a file, the rest in memory; store B in memory.
fn lake() -> Lake {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("cairn-lake-sql-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lake = Lake::open(&dir, 0).unwrap();
    let put = |store: &str, seq: u64, e: &Value| {
        let time = cairn_model::event::event_time_millis(e["eventTime"].as_str().unwrap()).unwrap();
        lake.insert(store, TableKind::CloudTrail, seq, time, Arc::from(e.to_string().into_bytes()));
    };
    for (i, e) in events_a().iter().enumerate().take(8) {
        put(A, i as u64, e);
    }
    assert_eq!(lake.flush(8).unwrap().events, 8);
    for (i, e) in events_a().iter().enumerate().skip(8) {
        put(A, i as u64, e);
    }
    for (i, e) in events_b().iter().enumerate() {
        put(B, 100 + i as u64, e);
    }
    lake
}

/// (statement, expected rows with cells joined by " | ", NULL for NULL). `{A}` and `{B}` name the stores.
const CASES: &[(&str, &[&str])] = &[
    // Counting and grouping.
    ("SELECT count(*) FROM {A}", &["12"]),
    ("SELECT count(*) FROM {B}", &["4"]),
    ("SELECT COUNT(*) AS n FROM {A} WHERE eventSource = 's3.amazonaws.com'", &["3"]),
    ("SELECT eventSource, count(*) AS n FROM {A} GROUP BY eventSource ORDER BY n DESC, eventSource",
     &["ec2.amazonaws.com | 4", "s3.amazonaws.com | 3", "signin.amazonaws.com | 3", "cloudtrail.amazonaws.com | 2"]),
    ("SELECT eventName, count(*) AS n FROM {A} GROUP BY eventName HAVING count(*) > 1", &["ConsoleLogin | 3"]),
    ("SELECT count(DISTINCT eventSource) FROM {A}", &["4"]),
    ("SELECT count(DISTINCT useridentity.arn) FROM {A}", &["4"]),
    ("SELECT awsRegion, count(*) FROM {A} GROUP BY awsRegion ORDER BY awsRegion",
     &["eu-west-1 | 3", "us-east-1 | 6", "us-west-2 | 3"]),
    ("SELECT eventSource, eventName, COUNT(*) AS apiCount FROM {A} WHERE eventTime > '2026-01-03 00:00:00' \
      GROUP BY eventSource, eventName ORDER BY apiCount DESC, eventName LIMIT 3",
     &["ec2.amazonaws.com | AuthorizeSecurityGroupIngress | 1", "cloudtrail.amazonaws.com | DeleteTrail | 1",
       "ec2.amazonaws.com | DescribeInstances | 1"]),
    // Time filters as Lake users write them.
    ("SELECT eventID FROM {A} WHERE eventTime >= '2026-01-05 00:00:00' ORDER BY eventTime", &["e10", "e11", "e12"]),
    ("SELECT eventID FROM {A} WHERE eventtime > '2026-01-01 08:00:00' AND eventtime < '2026-01-02 09:30:00' ORDER BY 1",
     &["e02", "e03"]),
    ("SELECT eventID FROM {A} WHERE eventTime BETWEEN '2026-01-03 00:00:00' AND '2026-01-03 23:59:59' ORDER BY 1",
     &["e06", "e07"]),
    ("SELECT eventID FROM {A} WHERE eventTime < '2026-01-01 08:01:00'", &["e01"]),
    ("SELECT min(eventTime), max(eventTime) FROM {A}", &["2026-01-01 08:00:00.000 | 2026-01-05 07:00:00.000"]),
    ("SELECT eventTime FROM {A} WHERE eventID = 'e07'", &["2026-01-03 12:00:00.000"]),
    ("SELECT date_trunc('day', eventTime) AS d, count(*) FROM {A} GROUP BY 1 ORDER BY 1",
     &["2026-01-01 00:00:00.000 | 2", "2026-01-02 00:00:00.000 | 3", "2026-01-03 00:00:00.000 | 2",
       "2026-01-04 00:00:00.000 | 2", "2026-01-05 00:00:00.000 | 3"]),
    ("SELECT date_trunc('hour', eventTime) FROM {A} WHERE eventID = 'e02'", &["2026-01-01 08:00:00.000"]),
    // Console logins (AWS's samples).
    ("SELECT useridentity.username, sourceipaddress FROM {A} WHERE eventname = 'ConsoleLogin' \
      AND element_at(responseelements, 'ConsoleLogin') = 'Failure'", &["alice | 203.0.113.9"]),
    ("SELECT eventTime, useridentity.arn, awsRegion FROM {A} WHERE awsRegion IN ('us-east-1', 'us-west-2') \
      AND eventName = 'ConsoleLogin' AND useridentity.type = 'Root'",
     &["2026-01-02 09:00:00.000 | arn:aws:iam::111122223333:root | us-east-1"]),
    ("SELECT count(*) FROM {A} WHERE eventName = 'ConsoleLogin' AND element_at(additionaleventdata, 'MFAUsed') = 'No'", &["2"]),
    ("SELECT userIdentity.principalId, count(*) FROM {A} WHERE userIdentity.principalId LIKE '%ALICE%' \
      AND eventName = 'ConsoleLogin' GROUP BY userIdentity.principalId", &["AIDAALICE | 2"]),
    ("SELECT eventID FROM {A} WHERE useridentity.type = 'Root' AND useridentity.invokedby IS NULL", &["e03"]),
    ("SELECT count(*) FROM {A} WHERE eventtype = 'AwsConsoleSignIn'", &["3"]),
    // One principal's or access key's activity.
    ("SELECT eventName FROM {A} WHERE userIdentity.accessKeyId = 'AKIABOB' ORDER BY eventTime",
     &["CreateBucket", "PutBucketPolicy", "AuthorizeSecurityGroupIngress"]),
    ("SELECT eventID, eventName, eventSource, eventTime FROM {A} WHERE userIdentity.username = 'bob' \
      AND eventTime > '2026-01-02 00:00:00' AND eventTime < '2026-01-03 00:00:00' ORDER BY eventID",
     &["e04 | CreateBucket | s3.amazonaws.com | 2026-01-02 10:00:00.000",
       "e05 | PutBucketPolicy | s3.amazonaws.com | 2026-01-02 10:05:00.000"]),
    ("SELECT userIdentity.principalid, eventName FROM {A} WHERE userIdentity.principalid IS NOT NULL \
      AND eventName = 'CreateBucket'", &["AIDABOB | CreateBucket"]),
    ("SELECT useridentity.sessioncontext.sessionissuer.username, count(*) FROM {A} \
      WHERE useridentity.type = 'AssumedRole' GROUP BY 1", &["Deployer | 2"]),
    ("SELECT useridentity.sessioncontext.attributes.creationdate FROM {A} WHERE eventID = 'e06'", &["2026-01-03 10:30:00.000"]),
    ("SELECT useridentity.sessioncontext.attributes.mfaauthenticated FROM {A} WHERE eventID = 'e06'", &["false"]),
    ("SELECT DISTINCT useridentity.type FROM {A} ORDER BY 1", &["AssumedRole", "IAMUser", "Root"]),
    // Calls by source IP.
    ("SELECT sourceIPAddress, count(*) AS calls FROM {A} GROUP BY sourceIPAddress ORDER BY calls DESC, sourceIPAddress",
     &["198.51.100.1 | 5", "198.51.100.2 | 3", "10.0.0.5 | 2", "203.0.113.9 | 2"]),
    ("SELECT DISTINCT sourceipaddress FROM {A} WHERE sourceipaddress LIKE '10.%'", &["10.0.0.5"]),
    ("SELECT count(*) FROM {A} WHERE regexp_like(sourceipaddress, '^198\\.51\\.100\\.[0-9]+$')", &["8"]),
    // Errors by service.
    ("SELECT eventSource, errorCode, count(*) FROM {A} WHERE errorCode IS NOT NULL GROUP BY 1, 2 ORDER BY 1",
     &["ec2.amazonaws.com | Client.UnauthorizedOperation | 1", "s3.amazonaws.com | AccessDenied | 1"]),
    ("SELECT count(*) FROM {A} WHERE errorcode = 'AccessDenied' OR errorcode LIKE '%UnauthorizedOperation'", &["2"]),
    ("SELECT eventID, errorMessage FROM {A} WHERE errorMessage IS NOT NULL ORDER BY 1",
     &["e02 | Failed authentication", "e05 | Access Denied"]),
    ("SELECT count(*) FILTER (WHERE errorcode IS NULL), count(*) FILTER (WHERE errorcode IS NOT NULL) FROM {A}", &["10 | 2"]),
    // requestparameters and responseelements (maps).
    ("SELECT element_at(requestParameters, 'bucketName') FROM {A} WHERE eventName = 'CreateBucket'", &["logs-bucket"]),
    ("SELECT element_at(requestparameters, 'nothing') FROM {A} WHERE eventName = 'CreateBucket'", &["NULL"]),
    ("SELECT element_at(requestparameters, 'minCount'), element_at(requestparameters, 'tags') FROM {A} WHERE eventID = 'e06'",
     &["2 | [\"a\",\"b\"]"]),
    ("SELECT element_at(requestparameters, 'policy') FROM {A} WHERE eventID = 'e05'", &["{\"Version\":\"2012-10-17\"}"]),
    ("SELECT element_at(responseElements, 'queryId'), element_at(requestParameters, 'queryStatement') FROM {A} \
      WHERE eventName = 'StartQuery' AND eventSource = 'cloudtrail.amazonaws.com' AND responseElements IS NOT NULL",
     &["q-1 | SELECT 1"]),
    ("SELECT count(*) FROM {A} WHERE requestparameters IS NULL", &["4"]),
    ("SELECT eventID, cardinality(requestparameters) FROM {A} WHERE cardinality(requestparameters) > 2 ORDER BY 1", &["e06 | 3"]),
    ("SELECT map_keys(requestparameters) FROM {A} WHERE eventID = 'e04'", &["[bucketName, Host]"]),
    ("SELECT map_values(responseelements) FROM {A} WHERE eventID = 'e06'", &["[r-1]"]),
    ("SELECT requestparameters FROM {A} WHERE eventID = 'e11'", &["{name=main}"]),
    ("SELECT count(*) FROM {A} WHERE contains(map_keys(requestparameters), 'bucketName')", &["3"]),
    ("SELECT element_at(requestparameters, 'groupId') FROM {A} WHERE element_at(requestparameters, 'cidrIp') = '0.0.0.0/0'", &["sg-1"]),
    // JSON functions over map values and eventjson.
    ("SELECT json_extract_scalar(element_at(requestparameters, 'instancesSet'), '$.items[0].instanceId') FROM {A} WHERE eventID = 'e07'", &["i-9"]),
    ("SELECT json_extract(element_at(requestparameters, 'instancesSet'), '$.items') FROM {A} WHERE eventID = 'e07'", &["[{\"instanceId\":\"i-9\"}]"]),
    ("SELECT json_array_length(element_at(requestparameters, 'tags')), json_array_get(element_at(requestparameters, 'tags'), -1) FROM {A} WHERE eventID = 'e06'", &["2 | \"b\""]),
    ("SELECT json_extract_scalar(eventjson, '$.userIdentity.userName') FROM {A} WHERE eventID = 'e04'", &["bob"]),
    ("SELECT json_extract_scalar(eventjson, '$[\"requestParameters\"][\"bucketName\"]') FROM {A} WHERE eventID = 'e10'", &["logs-bucket"]),
    ("SELECT json_extract_scalar(eventjson, '$.readOnly'), json_extract_scalar(eventjson, '$.resources') FROM {A} WHERE eventID = 'e09'", &["true | NULL"]),
    ("SELECT json_format(json_parse('{\"b\": [1, 2]}')) FROM {A} LIMIT 1", &["{\"b\":[1,2]}"]),
    ("SELECT json_size(eventjson, '$.resources') FROM {A} WHERE eventID = 'e10'", &["2"]),
    ("SELECT length(eventjsonchecksum) FROM {A} WHERE eventID = 'e01'", &["64"]),
    // resources: arrays of rows.
    ("SELECT eventName, r.arn FROM {A} CROSS JOIN UNNEST(resources) AS t(r) WHERE r.type = 'AWS::EC2::Instance' ORDER BY 2",
     &["RunInstances | arn:aws:ec2:eu-west-1:111122223333:instance/i-1", "RunInstances | arn:aws:ec2:eu-west-1:111122223333:instance/i-2"]),
    ("SELECT e.eventID, t.type FROM {A} e CROSS JOIN UNNEST(e.resources) AS t(accountid, type, arn, arnprefix) \
      WHERE e.eventSource = 's3.amazonaws.com' ORDER BY 1, 2",
     &["e04 | AWS::S3::Bucket", "e05 | AWS::S3::Bucket", "e10 | AWS::S3::Bucket", "e10 | AWS::S3::Object"]),
    ("SELECT t.type, count(*) FROM {A}, UNNEST(resources) AS t(accountid, type, arn, arnprefix) GROUP BY 1 ORDER BY 1",
     &["AWS::EC2::Instance | 2", "AWS::S3::Bucket | 3", "AWS::S3::Object | 1"]),
    ("SELECT k, count(*) FROM {A} CROSS JOIN UNNEST(map_keys(additionaleventdata)) AS t(k) GROUP BY k ORDER BY k",
     &["MFAUsed | 3", "MobileVersion | 1"]),
    ("SELECT eventID, t.n, t.r.type FROM {A} CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(r, n) WHERE eventID = 'e10' ORDER BY 2",
     &["e10 | 1 | AWS::S3::Object", "e10 | 2 | AWS::S3::Bucket"]),
    ("SELECT n, type FROM {A} CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(accountid, type, arn, arnprefix, n) \
      WHERE eventID IN ('e06', 'e10') ORDER BY eventID, n",
     &["1 | AWS::EC2::Instance", "2 | AWS::EC2::Instance", "1 | AWS::S3::Object", "2 | AWS::S3::Bucket"]),
    ("SELECT a, b, i FROM {A} CROSS JOIN UNNEST(ARRAY['x', 'y', 'z'], ARRAY[1, 2]) WITH ORDINALITY AS u(a, b, i) \
      WHERE eventID = 'e01' ORDER BY i",
     &["x | 1 | 1", "y | 2 | 2", "z | NULL | 3"]),
    ("SELECT cardinality(resources) FROM {A} WHERE eventID = 'e10'", &["2"]),
    ("SELECT element_at(resources, 1).arn, resources[2].type FROM {A} WHERE eventID = 'e10'",
     &["arn:aws:s3:::logs-bucket/a/b.txt | AWS::S3::Bucket"]),
    ("SELECT element_at(resources, -1).accountid, element_at(resources, 5) FROM {A} WHERE eventID = 'e10'", &["111122223333 | NULL"]),
    ("SELECT count(*) FROM {A} WHERE resources IS NULL", &["8"]),
    ("SELECT transform(resources, r -> r.type) FROM {A} WHERE eventID = 'e10'", &["[AWS::S3::Object, AWS::S3::Bucket]"]),
    ("SELECT cardinality(filter(resources, r -> r.type = 'AWS::S3::Bucket')) FROM {A} WHERE eventID = 'e10'", &["1"]),
    ("SELECT eventID FROM {A} WHERE any_match(resources, r -> r.arn LIKE 'arn:aws:ec2:%') ", &["e06"]),
    ("SELECT eventID FROM {A} WHERE all_match(resources, r -> r.type LIKE 'AWS::S3::%') ORDER BY 1", &["e04", "e05", "e10"]),
    ("SELECT eventID, transform(resources, R -> R.type) FROM {A} WHERE eventID = 'e04'", &["e04 | [AWS::S3::Bucket]"]),
    ("SELECT count(*) FROM {A} CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(r, n) WHERE eventID IN ('e01', 'e04')", &["1"]),
    // Lambdas that read the row's other columns.
    ("SELECT eventID FROM {A} WHERE any_match(resources, r -> r.arn LIKE '%:' || recipientaccountid || ':%') ORDER BY 1", &["e06"]),
    ("SELECT transform(resources, r -> eventName || ':' || r.type) FROM {A} WHERE eventID = 'e10'",
     &["[GetObject:AWS::S3::Object, GetObject:AWS::S3::Bucket]"]),
    ("SELECT e.eventID, cardinality(filter(e.resources, r -> lower(r.type) LIKE '%::' || split_part(e.eventsource, '.', 1) || '::%')) \
      FROM {A} e WHERE e.resources IS NOT NULL ORDER BY 1",
     &["e04 | 1", "e05 | 1", "e06 | 2", "e10 | 2"]),
    ("SELECT contains(transform(resources, r -> r.arn), 'arn:aws:s3:::logs-bucket') FROM {A} WHERE eventID = 'e10'", &["true"]),
    // Structs as Lake shows them.
    ("SELECT resources FROM {A} WHERE eventID = 'e04'",
     &["[{accountid=111122223333, type=AWS::S3::Bucket, arn=arn:aws:s3:::logs-bucket, arnprefix=null}]"]),
    ("SELECT tlsdetails.tlsversion, tlsDetails.clientProvidedHostHeader FROM {A} WHERE eventID = 'e11'",
     &["TLSv1.3 | cloudtrail.us-east-1.amazonaws.com"]),
    ("SELECT tlsdetails FROM {A} WHERE eventID = 'e12'", &["NULL"]),
    ("SELECT readonly, managementevent, eventcategory FROM {A} WHERE eventID = 'e10'", &["true | false | Data"]),
    ("SELECT count(*) FROM {A} WHERE readOnly = false AND managementEvent", &["10"]),
    // Joins, set operations and subqueries across stores.
    ("SELECT a.eventID, b.eventName FROM {A} a JOIN {B} b ON a.eventID = b.eventID ORDER BY 1",
     &["e01 | ConsoleLogin", "e04 | CreateBucket", "e06 | RunInstances"]),
    ("SELECT a.eventName, b.eventName FROM {A} AS a LEFT JOIN {B} AS b ON a.eventId = b.eventId \
      WHERE a.eventtime <= '2026-01-01 23:59:59' ORDER BY a.eventtime", &["ConsoleLogin | ConsoleLogin", "ConsoleLogin | NULL"]),
    ("SELECT eventID FROM {B} EXCEPT SELECT eventID FROM {A}", &["e13"]),
    ("SELECT count(*) FROM (SELECT eventID FROM {A} INTERSECT SELECT eventID FROM {B})", &["3"]),
    ("SELECT count(*) FROM (SELECT eventId, eventName FROM {A} UNION SELECT eventId, eventName FROM {B})", &["13"]),
    ("SELECT count(*) FROM (SELECT eventId FROM {A} UNION ALL SELECT eventId FROM {B})", &["16"]),
    ("SELECT eventID FROM {A} WHERE useridentity.arn IN (SELECT useridentity.arn FROM {B} WHERE eventName = 'CreateUser') ORDER BY 1",
     &["e03"]),
    ("SELECT eventID FROM {A} a WHERE EXISTS (SELECT 1 FROM {B} b WHERE b.eventID = a.eventID AND b.awsRegion = 'eu-west-1')", &["e06"]),
    ("WITH logins AS (SELECT * FROM {A} WHERE eventName = 'ConsoleLogin') SELECT count(*) FROM logins WHERE useridentity.type = 'IAMUser'", &["2"]),
    ("SELECT n FROM (SELECT useridentity.username AS u, count(*) AS n FROM {A} GROUP BY 1) WHERE u = 'alice'", &["6"]),
    // Window functions.
    ("SELECT eventID, row_number() OVER (PARTITION BY useridentity.username ORDER BY eventTime) AS n FROM {A} \
      WHERE useridentity.username = 'bob' ORDER BY n", &["e04 | 1", "e05 | 2", "e08 | 3"]),
    ("SELECT eventID, lag(eventID) OVER (ORDER BY eventTime) FROM {A} WHERE eventSource = 'signin.amazonaws.com' ORDER BY eventTime",
     &["e01 | NULL", "e02 | e01", "e03 | e02"]),
    ("SELECT eventSource, n, rank() OVER (ORDER BY n DESC) FROM (SELECT eventSource, count(*) n FROM {A} GROUP BY 1) ORDER BY 3, 1",
     &["ec2.amazonaws.com | 4 | 1", "s3.amazonaws.com | 3 | 2", "signin.amazonaws.com | 3 | 2", "cloudtrail.amazonaws.com | 2 | 4"]),
    ("SELECT eventID, count(*) OVER (PARTITION BY awsRegion) FROM {A} WHERE eventID IN ('e06', 'e10') ORDER BY 1", &["e06 | 1", "e10 | 1"]),
    // Date and time functions.
    ("SELECT date_diff('hour', min(eventTime), max(eventTime)) FROM {A}", &["95"]),
    ("SELECT date_diff('day', from_iso8601_timestamp('2026-01-01T00:00:00Z'), eventTime) FROM {A} WHERE eventID = 'e12'", &["4"]),
    ("SELECT date_diff('month', from_iso8601_timestamp('2025-11-30T00:00:00Z'), eventTime) FROM {A} WHERE eventID = 'e01'", &["1"]),
    ("SELECT date_add('day', -1, eventTime), date_add('month', 1, eventTime) FROM {A} WHERE eventID = 'e01'",
     &["2025-12-31 08:00:00.000 | 2026-02-01 08:00:00.000"]),
    ("SELECT to_iso8601(eventTime) FROM {A} WHERE eventID = 'e03'", &["2026-01-02T09:00:00.000Z"]),
    // Trino's date_format specifiers (MySQL's), not chrono's: %i minutes, %M the month's name, %W the weekday's.
    ("SELECT date_format(eventtime, '%Y-%m-%d %H:%i:%s') FROM {A} WHERE eventID = 'e03'", &["2026-01-02 09:00:00"]),
    ("SELECT date_format(eventtime, '%W %e %M %Y, %l %p (%j, week %v of %x) 100%%') FROM {A} WHERE eventID = 'e03'",
     &["Friday 2 January 2026, 9 AM (002, week 01 of 2026) 100%"]),
    ("SELECT date_format(eventtime, '%a %b %c/%d/%y %T %r') FROM {A} WHERE eventID = 'e03'",
     &["Fri Jan 1/02/26 09:00:00 09:00:00 AM"]),
    ("SELECT date_format(date_trunc('day', eventtime), '%H%i') FROM {A} WHERE eventID = 'e03'", &["0000"]),
    ("SELECT day_of_week(eventTime), day_of_year(eventTime), hour(eventTime), year(eventTime) FROM {A} WHERE eventID = 'e08'",
     &["7 | 4 | 0 | 2026"]),
    ("SELECT count(*) FROM {A} WHERE eventTime > from_iso8601_timestamp('2026-01-04T00:30:00+00:00')", &["4"]),
    ("SELECT count(*) FROM {A} WHERE eventTime > current_timestamp - interval '36500' day", &["12"]),
    ("SELECT to_unixtime(eventTime) FROM {A} WHERE eventID = 'e01'", &["1767254400"]),
    // Strings.
    ("SELECT split_part(useridentity.arn, '/', 2) FROM {A} WHERE eventID = 'e06'", &["Deployer"]),
    ("SELECT regexp_extract(useridentity.arn, 'assumed-role/([^/]+)/', 1) FROM {A} WHERE eventID = 'e07'", &["Deployer"]),
    ("SELECT regexp_extract(useragent, '[0-9.]+') FROM {A} WHERE eventID = 'e01'", &["2.15.0"]),
    ("SELECT lower(eventName), upper(awsRegion), length(eventID) FROM {A} WHERE eventID = 'e09'", &["describeinstances | US-EAST-1 | 3"]),
    ("SELECT concat(eventSource, ':', eventName) FROM {A} WHERE eventID = 'e11'", &["cloudtrail.amazonaws.com:DeleteTrail"]),
    ("SELECT substr(eventName, 1, 6) || '...' FROM {A} WHERE eventID = 'e06'", &["RunIns..."]),
    ("SELECT count(*) FROM {A} WHERE starts_with(eventName, 'Describe') OR eventName LIKE 'Get%'", &["2"]),
    ("SELECT coalesce(errorcode, 'ok'), CASE WHEN readonly THEN 'read' ELSE 'write' END FROM {A} WHERE eventID IN ('e05', 'e09') ORDER BY eventID",
     &["AccessDenied | write", "ok | read"]),
    // Aggregates.
    ("SELECT approx_distinct(sourceipaddress) FROM {A}", &["4"]),
    ("SELECT approx_percentile(cardinality(resources), 0.5) FROM {A} WHERE eventSource <> 's3.amazonaws.com'", &["2"]),
    ("SELECT max(cardinality(resources)), sum(cardinality(resources)), avg(cardinality(resources)) FROM {A}", &["2 | 6 | 1.5"]),
    ("SELECT array_agg(eventID ORDER BY eventID) FROM {B}", &["[e01, e04, e06, e13]"]),
    ("SELECT useridentity.username, count(*) FROM {A} GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST LIMIT 2", &["alice | 6", "bob | 3"]),
    // Identifiers in any case.
    ("SELECT EVENTNAME FROM {A} WHERE EventID = 'e12'", &["StartQuery"]),
    ("select eventname from {A} where eventid = 'e11'", &["DeleteTrail"]),
];

fn render(rows: &[Vec<Option<String>>]) -> Vec<String> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.clone().unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join(" | "))
        .collect()
}

async fn run(lake: &Lake, statement: &str) -> Result<sql::LakeAnswer, cairn_store::Error> {
    let text = statement.replace("{A}", A).replace("{B}", B);
    let prepared = sql::prepare(&text, |w| w == A || w == B)?;
    let snapshots: HashMap<String, _> =
        prepared.stores.iter().map(|id| (id.clone(), lake.snapshot(id, 0).expect("store has data"))).collect();
    sql::run(&prepared, snapshots, &Default::default()).await
}

#[tokio::test]
async fn lake_sql_answers_as_lake() {
    assert!(CASES.len() >= 80, "{} cases", CASES.len());
    let lake = lake();
    let mut failures = Vec::new();
    for (statement, expected) in CASES {
        match run(&lake, statement).await {
            Ok(answer) => {
                let got = render(&answer.rows);
                if got != *expected {
                    failures.push(format!("{statement}\n    expected {expected:?}\n    got      {got:?}"));
                }
            }
            Err(e) => failures.push(format!("{statement}\n    failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

#[tokio::test]
async fn answers_name_columns_as_written_and_refuse_what_lake_refuses() {
    let lake = lake();
    let a = run(
        &lake,
        "SELECT eventName, userIdentity.principalId, count(*), eventTime AS At FROM {A} GROUP BY 1, 2, 4 LIMIT 1",
    )
    .await
    .unwrap();
    assert_eq!(a.columns, vec!["eventName", "principalId", "_col2", "At"]);
    let refused = [
        "DELETE FROM {A}",
        "DROP TABLE {A}",
        "INSERT INTO {A} SELECT * FROM {A}",
        "SELECT 1",
        "SELECT * FROM {A}; SELECT 1",
        "SELECT nosuchcolumn FROM {A}",
        "SELECT * FROM {A} CROSS JOIN UNNEST(eventname) AS t(a, b)",
        "SELECT * FROM {A} CROSS JOIN UNNEST(resources) WITH ORDINALITY",
        "SELECT transform(resources) FROM {A}",
        "SELECT any_match(resources, 'x') FROM {A}",
        "SELECT * FROM {A} CROSS JOIN UNNEST(ARRAY[1], ARRAY[2]) AS t(a)",
        "SELECT json_extract(eventjson, 'no-dollar') FROM {A}",
        "SELECT * FROM elsewhere",
        "COPY (SELECT 1) TO '/tmp/x'",
    ];
    for statement in refused {
        assert!(matches!(run(&lake, statement).await, Err(cairn_store::Error::InvalidQuery(_))), "{statement}");
    }
}

#[tokio::test]
async fn every_sample_and_managed_query_runs() {
    use cairn_store::lake::samples::{HIGHLIGHTS, SAMPLES, STORE_PLACEHOLDER};
    let lake = lake();
    let mut failures = Vec::new();
    for s in SAMPLES {
        if let Err(e) = run(&lake, &s.sql.replace(STORE_PLACEHOLDER, "{A}")).await {
            failures.push(format!("{}: {e}", s.name));
        }
    }
    for m in HIGHLIGHTS {
        let values: Vec<String> = m
            .parameters
            .iter()
            .map(|p| match *p {
                "$EventDataStoreId$" => "{A}".to_string(),
                "$StartTime$" => "2026-01-01 00:00:00".into(),
                "$EndTime$" => "2026-01-31 00:00:00".into(),
                _ => "day".into(),
            })
            .collect();
        let statement = cairn_model::dashboard::bind(m.sql, &values).unwrap();
        match run(&lake, &statement).await {
            Ok(a) if a.rows.is_empty() => failures.push(format!("{}: no rows", m.alias)),
            Ok(_) => {}
            Err(e) => failures.push(format!("{}: {e}", m.alias)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // One sample's answer, to show they answer and not only plan.
    let denied = SAMPLES.iter().find(|s| s.name == "Errors by service").unwrap();
    let a = run(&lake, &denied.sql.replace(STORE_PLACEHOLDER, "{A}")).await.unwrap();
    assert!(!a.rows.is_empty());
}
