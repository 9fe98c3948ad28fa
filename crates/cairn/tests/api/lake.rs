//! CloudTrail Lake against the real binary with `aws-sdk-cloudtrail`: the event data store lifecycle and its errors,
//! and queries (StartQuery to GetQueryResults) over the events a store took from its creation on, across a SIGKILL.

use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, BillingMode, QueryStatus};
use serde_json::json;

use crate::common::*;
use crate::lookup::{ingest, producer_event};

const REGION: &str = "eu-west-1";

pub(crate) fn selector(category: &str, extra: Option<(&str, &str)>) -> AdvancedEventSelector {
    let mut b = AdvancedEventSelector::builder()
        .field_selectors(AdvancedFieldSelector::builder().field("eventCategory").equals(category).build().unwrap());
    if let Some((field, value)) = extra {
        b = b.field_selectors(AdvancedFieldSelector::builder().field(field).equals(value).build().unwrap());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn event_data_store_lifecycle_follows_aws() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);

    let created = ct.create_event_data_store().name("audit").send().await.unwrap();
    let arn = created.event_data_store_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    assert!(arn.starts_with(&format!("arn:aws:cloudtrail:{REGION}:{}:eventdatastore/", MGMT.0)));
    assert_eq!(created.status().unwrap().as_str(), "CREATED");
    assert_eq!(created.retention_period(), Some(366));
    assert_eq!(created.multi_region_enabled(), Some(true));
    assert_eq!(created.termination_protection_enabled(), Some(true));
    assert_eq!(created.billing_mode(), Some(&BillingMode::ExtendableRetentionPricing));
    let selectors = created.advanced_event_selectors();
    assert_eq!(selectors.len(), 1);
    assert_eq!(selectors[0].name(), Some("Default management events"));

    let got = ct.get_event_data_store().event_data_store(&id).send().await.unwrap();
    assert_eq!(got.status().unwrap().as_str(), "ENABLED");
    assert_eq!(got.federation_status().unwrap().as_str(), "DISABLED");
    assert_eq!(got.name(), Some("audit"));
    let listed = ct.list_event_data_stores().send().await.unwrap();
    assert_eq!(listed.event_data_stores().len(), 1);

    // AWS's refusals, each changing nothing.
    let c = ct.create_event_data_store().name("audit").send().await;
    assert_eq!(code(c), "EventDataStoreAlreadyExistsException");
    let c = ct
        .create_event_data_store()
        .name("fixed")
        .billing_mode(BillingMode::FixedRetentionPricing)
        .retention_period(3000)
        .send()
        .await;
    assert_eq!(code(c), "InvalidParameterException");
    let c = ct
        .create_event_data_store()
        .name("bad-selectors")
        .advanced_event_selectors(selector("Data", None))
        .send()
        .await;
    assert_eq!(code(c), "InvalidEventSelectorsException");
    let c = ct
        .create_event_data_store()
        .name("mixed")
        .advanced_event_selectors(selector("ActivityAuditLog", None))
        .advanced_event_selectors(selector("Management", None))
        .send()
        .await;
    assert_eq!(code(c), "InvalidEventSelectorsException");
    assert_eq!(
        code(ct.get_event_data_store().event_data_store("00000000-0000-4000-8000-000000000000").send().await),
        "EventDataStoreNotFoundException"
    );
    assert_eq!(
        code(ct.get_event_data_store().event_data_store("arn:aws:s3:::bucket").send().await),
        "EventDataStoreARNInvalidException"
    );
    assert_eq!(
        code(server.client(MEMBER, REGION).get_event_data_store().event_data_store(&arn).send().await),
        "EventDataStoreNotFoundException"
    );
    assert_eq!(code(ct.update_event_data_store().event_data_store(&id).send().await), "InvalidParameterException");
    assert_eq!(
        code(ct.delete_event_data_store().event_data_store(&id).send().await),
        "EventDataStoreTerminationProtectedException"
    );
    assert_eq!(
        code(ct.start_event_data_store_ingestion().event_data_store(&id).send().await),
        "InvalidEventDataStoreStatusException"
    );
    assert_eq!(ct.list_event_data_stores().send().await.unwrap().event_data_stores().len(), 1);

    // Ingestion off and on.
    ct.stop_event_data_store_ingestion().event_data_store(&id).send().await.unwrap();
    let got = ct.get_event_data_store().event_data_store(&id).send().await.unwrap();
    assert_eq!(got.status().unwrap().as_str(), "STOPPED_INGESTION");
    assert_eq!(
        code(ct.stop_event_data_store_ingestion().event_data_store(&id).send().await),
        "InvalidEventDataStoreStatusException"
    );
    ct.start_event_data_store_ingestion().event_data_store(&arn).send().await.unwrap();

    // Update, then delete (pending deletion), refuse changes, and restore.
    let updated = ct
        .update_event_data_store()
        .event_data_store(&id)
        .name("audit-2")
        .retention_period(90)
        .termination_protection_enabled(false)
        .send()
        .await
        .unwrap();
    assert_eq!((updated.name(), updated.retention_period()), (Some("audit-2"), Some(90)));
    let c = ct
        .update_event_data_store()
        .event_data_store(&id)
        .billing_mode(BillingMode::FixedRetentionPricing)
        .send()
        .await;
    assert_eq!(code(c), "InvalidParameterException");
    ct.delete_event_data_store().event_data_store(&id).send().await.unwrap();
    let got = ct.get_event_data_store().event_data_store(&id).send().await.unwrap();
    assert_eq!(got.status().unwrap().as_str(), "PENDING_DELETION");
    assert_eq!(
        code(ct.update_event_data_store().event_data_store(&id).retention_period(30).send().await),
        "InactiveEventDataStoreException"
    );
    assert_eq!(
        code(ct.delete_event_data_store().event_data_store(&id).send().await),
        "InactiveEventDataStoreException"
    );
    let restored = ct.restore_event_data_store().event_data_store(&id).send().await.unwrap();
    assert_eq!(restored.status().unwrap().as_str(), "ENABLED");
    assert_eq!(
        code(ct.restore_event_data_store().event_data_store(&id).send().await),
        "InvalidEventDataStoreStatusException"
    );

    // Ten stores per region, those pending deletion included.
    for i in 1..10 {
        ct.create_event_data_store().name(format!("more-{i}")).send().await.unwrap();
    }
    assert_eq!(
        code(ct.create_event_data_store().name("eleventh").send().await),
        "EventDataStoreMaxLimitExceededException"
    );
    let page = ct.list_event_data_stores().max_results(4).send().await.unwrap();
    assert_eq!(page.event_data_stores().len(), 4);
    let mut all = page.event_data_stores().to_vec();
    let mut token = page.next_token().map(str::to_string);
    while let Some(t) = token {
        let page = ct.list_event_data_stores().max_results(4).next_token(t).send().await.unwrap();
        all.extend(page.event_data_stores().iter().cloned());
        token = page.next_token().map(str::to_string);
    }
    assert_eq!(all.len(), 10);
    // The stores of another region are not this region's.
    assert!(server
        .client(MGMT, "us-east-1")
        .list_event_data_stores()
        .send()
        .await
        .unwrap()
        .event_data_stores()
        .is_empty());
}

/// Polls DescribeQuery until the query leaves QUEUED and RUNNING.
pub(crate) async fn finished(ct: &aws_sdk_cloudtrail::Client, query_id: &str) -> QueryStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = ct.describe_query().query_id(query_id).send().await.unwrap();
        let status = d.query_status().unwrap().clone();
        if !matches!(status, QueryStatus::Queued | QueryStatus::Running) {
            return status;
        }
        assert!(Instant::now() < deadline, "query {query_id} did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a query to its end and returns its rows as (column, value) pairs.
pub(crate) async fn rows(ct: &aws_sdk_cloudtrail::Client, statement: &str) -> Vec<Vec<(String, String)>> {
    let id = ct.start_query().query_statement(statement).send().await.unwrap().query_id().unwrap().to_string();
    let status = finished(ct, &id).await;
    let r = ct.get_query_results().query_id(&id).send().await.unwrap();
    assert_eq!(status, QueryStatus::Finished, "{statement}: {:?}", r.error_message());
    r.query_result_rows()
        .iter()
        .map(|row| {
            row.iter()
                .map(|col| {
                    assert!(col.len() <= 1, "one entry per column, none for NULL");
                    col.iter().next().map_or((String::new(), "NULL".into()), |(k, v)| (k.clone(), v.clone()))
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn queries_see_what_a_store_took_from_its_creation_on() {
    let dir = TempDir::new();
    let mut server = Server::start_configured(&dir, "[lake]\nflush_interval_seconds = 1\n");
    let ct = server.client(MGMT, REGION);

    ingest(&server, (0..5).map(|i| producer_event("Before", REGION, "ec2.amazonaws.com", -i)).collect());
    let all = ct.create_event_data_store().name("all").send().await.unwrap();
    let all_id = all.event_data_store_arn().unwrap().rsplit('/').next().unwrap().to_string();
    let runs = ct
        .create_event_data_store()
        .name("runs")
        .multi_region_enabled(false)
        .advanced_event_selectors(selector("Management", Some(("eventName", "RunInstances"))))
        .send()
        .await
        .unwrap();
    let runs_id = runs.event_data_store_arn().unwrap().rsplit('/').next().unwrap().to_string();
    let mut events: Vec<serde_json::Value> = Vec::new();
    for i in 0..30 {
        let mut e = producer_event(
            if i % 3 == 0 { "RunInstances" } else { "DescribeInstances" },
            REGION,
            "ec2.amazonaws.com",
            -i,
        );
        e["requestParameters"] =
            json!({"instanceType": format!("t3.{}", ["micro", "large"][i as usize % 2]), "count": i});
        e["sourceIPAddress"] = json!(format!("10.0.0.{}", i % 4));
        events.push(e);
    }
    // An event of another region: the single-region store does not take it.
    events.push(producer_event("RunInstances", "us-east-1", "ec2.amazonaws.com", 0));
    ingest(&server, events);

    let counts = rows(
        &ct,
        &format!(
            "SELECT eventName, count(*) AS n FROM {all_id} WHERE eventSource = 'ec2.amazonaws.com' \
             GROUP BY eventName ORDER BY eventName"
        ),
    )
    .await;
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        counts,
        vec![
            vec![pair("eventName", "DescribeInstances"), pair("n", "20")],
            vec![pair("eventName", "RunInstances"), pair("n", "11")]
        ]
    );
    let runs_rows = rows(&ct, &format!("SELECT count(*) AS n, min(awsregion) AS r FROM {runs_id}")).await;
    assert_eq!(runs_rows, vec![vec![pair("n", "10"), pair("r", REGION)]]);

    // Lake's forms: struct members, map lookups (NULL when missing), timestamps compared with strings, a join.
    let detail = rows(
        &ct,
        &format!(
            "SELECT useridentity.username, element_at(requestParameters, 'instanceType') AS it, \
             element_at(requestparameters, 'nothing') AS missing, eventtime > '2000-01-01 00:00:00' AS recent \
             FROM {all_id} WHERE eventname = 'RunInstances' AND element_at(requestparameters, 'count') = '3'"
        ),
    )
    .await;
    assert_eq!(detail.len(), 1);
    assert_eq!(detail[0][0], pair("username", "deployer"));
    assert_eq!(detail[0][1], pair("it", "t3.large"));
    assert_eq!(detail[0][2], pair("", "NULL"));
    assert_eq!(detail[0][3], pair("recent", "true"));
    let joined = rows(
        &ct,
        &format!(
            "SELECT count(*) AS n FROM {all_id} a JOIN {runs_id} b ON a.eventid = b.eventid \
             UNION ALL SELECT count(*) FROM (SELECT eventid FROM {all_id} EXCEPT SELECT eventid FROM {runs_id}) x"
        ),
    )
    .await;
    // UNION ALL keeps no order: the join's count is one of the two rows, the other counts what only `all` holds.
    assert_eq!(joined.len(), 2);
    assert!(joined.contains(&vec![pair("n", "10")]), "{joined:?}");

    // Pagination of results.
    let id = ct
        .start_query()
        .query_statement(format!(
            "SELECT eventid FROM {all_id} WHERE eventsource = 'ec2.amazonaws.com' ORDER BY eventid"
        ))
        .send()
        .await
        .unwrap()
        .query_id()
        .unwrap()
        .to_string();
    assert_eq!(finished(&ct, &id).await, QueryStatus::Finished);
    let mut seen = 0;
    let mut token = None;
    loop {
        let r = ct.get_query_results().query_id(&id).max_query_results(7).set_next_token(token).send().await.unwrap();
        seen += r.query_result_rows().len();
        let stats = r.query_statistics().unwrap();
        assert_eq!((stats.results_count(), stats.total_results_count()), (Some(seen as i32), Some(31)));
        token = r.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, 31);
    let d = ct.describe_query().query_id(&id).send().await.unwrap();
    let stats = d.query_statistics().unwrap();
    assert_eq!(stats.events_matched(), Some(31));
    assert!(stats.events_scanned() >= Some(31) && stats.bytes_scanned() > Some(0), "{stats:?}");
    assert!(d.query_string().unwrap().contains("ORDER BY eventid"));
    let listed = ct.list_queries().event_data_store(&all_id).send().await.unwrap();
    assert!(listed.queries().iter().any(|q| q.query_id() == Some(id.as_str())));
    assert!(ct
        .list_queries()
        .event_data_store(&runs_id)
        .query_status(QueryStatus::Failed)
        .send()
        .await
        .unwrap()
        .queries()
        .is_empty());

    // Refusals.
    assert_eq!(code(ct.cancel_query().query_id(&id).send().await), "InactiveQueryException");
    assert_eq!(
        code(ct.describe_query().query_id("00000000-0000-4000-8000-000000000000").send().await),
        "QueryIdNotFoundException"
    );
    assert_eq!(
        code(server.client(MEMBER, REGION).describe_query().query_id(&id).send().await),
        "QueryIdNotFoundException"
    );
    assert_eq!(
        code(ct.get_query_results().query_id(&id).max_query_results(0).send().await),
        "InvalidMaxResultsException"
    );
    for bad in [
        format!("DELETE FROM {all_id}"),
        format!("SELECT nosuchcolumn FROM {all_id}"),
        "SELECT 1".to_string(),
        format!("SELECT * FROM {all_id}; SELECT 1"),
    ] {
        assert_eq!(
            code(ct.start_query().query_statement(&bad).send().await),
            "InvalidQueryStatementException",
            "{bad}"
        );
    }
    assert_eq!(code(ct.start_query().query_statement("x".repeat(10_001)).send().await), "ValidationException");
    let c = ct
        .list_queries()
        .event_data_store(&all_id)
        .start_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(2_000_000_000))
        .end_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(1_000_000_000))
        .send()
        .await;
    assert_eq!(code(c), "InvalidDateRangeException");

    // The stores' files appear as Hive-style date partitions of plain Parquet.
    let store_dir = dir.0.join("data").join("lake").join(&runs_id);
    let deadline = Instant::now() + Duration::from_secs(10);
    while parquet_files(&store_dir).is_empty() {
        assert!(Instant::now() < deadline, "no Lake files in {store_dir:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(parquet_files(&store_dir).iter().all(|p| p
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("date=")));

    // After a SIGKILL the store holds the same events, once each (its files, and the journal past them replayed).
    ingest(&server, vec![producer_event("RunInstances", REGION, "ec2.amazonaws.com", 0)]);
    server.kill();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    let again = rows(&ct, &format!("SELECT count(*) AS n FROM {runs_id}")).await;
    assert_eq!(again, vec![vec![pair("n", "11")]]);
    // Queries and their results outlive the process: the paged query above answers as before the SIGKILL.
    let d = ct.describe_query().query_id(&id).send().await.unwrap();
    assert_eq!(d.query_status(), Some(&QueryStatus::Finished));
    assert_eq!(d.query_statistics().unwrap().events_matched(), Some(31));
    assert!(d.query_string().unwrap().contains("ORDER BY eventid"));
    let r = ct.get_query_results().query_id(&id).max_query_results(1000).send().await.unwrap();
    assert_eq!(r.query_result_rows().len(), 31);
    let listed = ct.list_queries().event_data_store(&all_id).send().await.unwrap();
    assert!(listed.queries().iter().any(|q| q.query_id() == Some(id.as_str())));
}

/// A live store writes a small file at every flush; once a date has gathered enough of them, the server merges them
/// into one, and the store answers as before.
#[tokio::test]
async fn a_live_stores_small_files_merge_in_the_background() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, "[lake]\nflush_interval_seconds = 1\n");
    let ct = server.client(MGMT, REGION);
    let store = ct.create_event_data_store().name("merged").send().await.unwrap();
    let id = store.event_data_store_arn().unwrap().rsplit('/').next().unwrap().to_string();
    let store_dir = dir.0.join("data").join("lake").join(&id);
    let batches = cairn_store::lake::COMPACT_FILES as i64 + 1;
    // Every event at noon yesterday, so that all the files are of one date whenever the test runs.
    let since_midnight = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 86_400;
    let noon_yesterday = -(since_midnight as i64) - 12 * 3600;
    for batch in 0..batches {
        // Each batch waits for a flush of its own, so the store gathers one file per batch until they merge.
        let before: std::collections::BTreeSet<_> = parquet_files(&store_dir).into_iter().collect();
        let events = (0..5).map(|i| {
            let mut e = producer_event("RunInstances", REGION, "ec2.amazonaws.com", noon_yesterday);
            e["eventID"] = json!(format!("00000000-0000-4000-8000-{:012}", batch * 5 + i));
            e
        });
        ingest(&server, events.collect());
        let deadline = Instant::now() + Duration::from_secs(10);
        while parquet_files(&store_dir).into_iter().collect::<std::collections::BTreeSet<_>>() == before {
            assert!(Instant::now() < deadline, "batch {batch} was not flushed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while parquet_files(&store_dir).len() >= cairn_store::lake::COMPACT_FILES {
        assert!(Instant::now() < deadline, "no merge: {:?}", parquet_files(&store_dir));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let n = rows(
        &ct,
        &format!("SELECT count(*) AS n, count(DISTINCT eventid) AS d FROM {id} WHERE eventname = 'RunInstances'"),
    )
    .await;
    let expect = (batches * 5).to_string();
    assert_eq!(n, vec![vec![("n".to_string(), expect.clone()), ("d".to_string(), expect)]]);
}

/// Another account queries a store only as the store's resource policy grants each action; its owner needs none.
#[tokio::test]
async fn another_account_queries_a_store_as_its_policy_allows() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let owner = server.client(MGMT, REGION);
    let other = server.client(MEMBER, REGION);
    let store = owner.create_event_data_store().name("shared").send().await.unwrap();
    let arn = store.event_data_store_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    ingest(&server, (0..3).map(|i| producer_event("RunInstances", REGION, "ec2.amazonaws.com", -i)).collect());
    let statement = format!("SELECT count(*) AS n FROM {id} WHERE eventname = 'RunInstances'");
    let start = || other.start_query().query_statement(&statement).event_data_store_owner_account_id(MGMT.0);

    // No policy: nothing is granted, and nothing starts.
    assert_eq!(code(start().send().await), "AccessDeniedException");
    assert_eq!(
        code(other.start_query().query_statement(&statement).event_data_store_owner_account_id("12345").send().await),
        "ValidationException"
    );
    // Without the owner, the statement names a store the caller does not have.
    assert_eq!(code(other.start_query().query_statement(&statement).send().await), "InvalidQueryStatementException");

    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": MEMBER.0},
        "Action": ["cloudtrail:StartQuery", "cloudtrail:DescribeQuery", "cloudtrail:GetQueryResults",
                   "cloudtrail:ListQueries"], "Resource": arn}]});
    owner.put_resource_policy().resource_arn(&arn).resource_policy(policy.to_string()).send().await.unwrap();
    // A granted caller's mistake is answered as such; a stranger learns nothing of what the owner has.
    let typo = other
        .start_query()
        .query_statement(format!("SELECT nosuchcolumn FROM {id}"))
        .event_data_store_owner_account_id(MGMT.0)
        .send()
        .await;
    assert_eq!(code(typo), "InvalidQueryStatementException");
    let probe = server
        .client(MEMBER2, REGION)
        .start_query()
        .query_statement(format!("SELECT nosuchcolumn FROM {id}"))
        .event_data_store_owner_account_id(MGMT.0)
        .send()
        .await;
    assert_eq!(code(probe), "AccessDeniedException");
    let started = start().send().await.unwrap();
    assert_eq!(started.event_data_store_owner_account_id(), Some(MGMT.0));
    let query = started.query_id().unwrap().to_string();
    assert_eq!(finished(&other, &query).await, QueryStatus::Finished);
    let described =
        other.describe_query().query_id(&query).event_data_store_owner_account_id(MGMT.0).send().await.unwrap();
    assert_eq!(described.event_data_store_owner_account_id(), Some(MGMT.0));
    let results = other.get_query_results().query_id(&query).send().await.unwrap();
    let n = results.query_result_rows()[0][0].get("n").cloned();
    assert_eq!(n.as_deref(), Some("3"));
    let listed = other.list_queries().event_data_store(&arn).send().await.unwrap();
    assert!(listed.queries().iter().any(|q| q.query_id() == Some(query.as_str())));
    // The query is the caller's: the owner does not see it, and a wrong owner does not find it.
    assert_eq!(code(owner.describe_query().query_id(&query).send().await), "QueryIdNotFoundException");
    assert_eq!(
        code(other.describe_query().query_id(&query).event_data_store_owner_account_id(MEMBER2.0).send().await),
        "QueryIdNotFoundException"
    );
    // The owner's event history holds the other account's StartQuery (the owner made none itself).
    let by_name = aws_sdk_cloudtrail::types::LookupAttribute::builder()
        .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
        .attribute_value("StartQuery")
        .build()
        .unwrap();
    let looked = owner.lookup_events().lookup_attributes(by_name).send().await.unwrap();
    let records: Vec<serde_json::Value> =
        looked.events().iter().map(|e| serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap()).collect();
    assert!(!records.is_empty() && records.iter().all(|r| r["userIdentity"]["accountId"] == MEMBER.0), "{records:?}");
    assert!(records.iter().all(|r| r["recipientAccountId"] == MGMT.0 && r["sharedEventID"].is_string()));
    // CancelQuery is not granted; an account the policy does not name is refused.
    assert_eq!(code(other.cancel_query().query_id(&query).send().await), "AccessDeniedException");
    let third = server.client(MEMBER2, REGION);
    let refused =
        third.start_query().query_statement(&statement).event_data_store_owner_account_id(MGMT.0).send().await;
    assert_eq!(code(refused), "AccessDeniedException");

    // Once the owner deletes the policy, the results are no longer the other account's to read.
    owner.delete_resource_policy().resource_arn(&arn).send().await.unwrap();
    assert_eq!(code(other.get_query_results().query_id(&query).send().await), "AccessDeniedException");
    assert_eq!(code(other.list_queries().event_data_store(&arn).send().await), "AccessDeniedException");
}

pub(crate) fn parquet_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(dates) = std::fs::read_dir(dir) else { return Vec::new() };
    dates
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

#[tokio::test]
async fn query_results_go_to_a_bucket_signed_and_verify() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    let s3 = server.s3_client(MGMT, "us-east-1");
    let store = ct.create_event_data_store().name("results").send().await.unwrap();
    let store_arn = store.event_data_store_arn().unwrap().to_string();
    let id = store_arn.rsplit('/').next().unwrap().to_string();
    ingest(&server, (0..3).map(|i| producer_event("Run, \"quoted\"", REGION, "ec2.amazonaws.com", -i)).collect());
    let statement =
        format!("SELECT eventName, count(*) AS n FROM {id} WHERE eventSource = 'ec2.amazonaws.com' GROUP BY 1");

    // The bucket must exist and let CloudTrail write for the store.
    let start = |uri: &str| ct.start_query().query_statement(&statement).delivery_s3_uri(uri).send();
    assert_eq!(code(start("s3://no-such-bucket/q").await), "S3BucketDoesNotExistException");
    assert_eq!(code(start("bucket-without-scheme").await), "ValidationException");
    s3.create_bucket().bucket("lake-results").send().await.unwrap();
    assert_eq!(code(start("s3://lake-results/q").await), "InsufficientS3BucketPolicyException");
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": "arn:aws:s3:::lake-results"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::lake-results/q/AWSLogs/111111111111/*",
         "Condition": {"StringEquals": {"aws:SourceArn": store_arn}}}]});
    s3.put_bucket_policy().bucket("lake-results").policy(policy.to_string()).send().await.unwrap();

    let query = start("s3://lake-results/q").await.unwrap().query_id().unwrap().to_string();
    assert_eq!(finished(&ct, &query).await, QueryStatus::Finished);
    let d = ct.describe_query().query_id(&query).send().await.unwrap();
    assert_eq!(d.delivery_status().map(|s| s.as_str()), Some("SUCCESS"));
    assert_eq!(d.delivery_s3_uri(), Some("s3://lake-results/q"));
    let listed = s3.list_objects_v2().bucket("lake-results").prefix("q/").send().await.unwrap();
    let keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let folder = keys[0].rsplit_once('/').unwrap().0.to_string();
    assert!(
        folder.starts_with("q/AWSLogs/111111111111/CloudTrail-Lake/Query/") && folder.ends_with(&query),
        "{folder}"
    );
    let csv = s3.get_object().bucket("lake-results").key(format!("{folder}/result_1.csv.gz")).send().await.unwrap();
    let gz = csv.body.collect().await.unwrap().into_bytes();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    assert_eq!(text, "eventName,n\r\n\"Run, \"\"quoted\"\"\",3\r\n");

    // cairn verify-query-results checks the sign file, and sees a changed result file.
    let verify = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["verify-query-results", "--s3-bucket", "lake-results", "--s3-prefix", &folder])
            .args(["--endpoint", &server.endpoint(), "--region", REGION])
            .args(["--access-key-id", MGMT.1, "--secret-access-key", MGMT.2])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (status, out) = verify();
    assert_eq!((status, out.trim()), (Some(0), "Successfully validated sign and query result files"));
    s3.put_object()
        .bucket("lake-results")
        .key(format!("{folder}/result_1.csv.gz"))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"changed"))
        .send()
        .await
        .unwrap();
    let (status, out) = verify();
    assert_eq!(status, Some(1), "{out}");
    assert!(out.contains("inconsistent hash value"), "{out}");
}

/// A gzip CloudTrail log file of `n` RunInstances events in `region`, ids `<tag>-<i>`.
pub(crate) fn log_file(tag: &str, n: usize) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut e = producer_event("RunInstances", REGION, "ec2.amazonaws.com", -(i as i64));
            e["eventID"] = json!(format!("{tag}-{i}"));
            e
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, json!({"Records": records}).to_string().as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// Polls GetImport until the import leaves INITIALIZING and IN_PROGRESS.
pub(crate) async fn import_done(
    ct: &aws_sdk_cloudtrail::Client,
    id: &str,
) -> aws_sdk_cloudtrail::operation::get_import::GetImportOutput {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let g = ct.get_import().import_id(id).send().await.unwrap();
        if !matches!(g.import_status().map(|s| s.as_str()), Some("INITIALIZING" | "IN_PROGRESS")) {
            return g;
        }
        assert!(Instant::now() < deadline, "import {id} did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn s3_source(uri: &str, role_account: &str) -> aws_sdk_cloudtrail::types::ImportSource {
    aws_sdk_cloudtrail::types::ImportSource::builder()
        .s3(aws_sdk_cloudtrail::types::S3ImportSource::builder()
            .s3_location_uri(uri)
            .s3_bucket_region("us-east-1")
            .s3_bucket_access_role_arn(format!("arn:aws:iam::{role_account}:role/CloudTrailImport"))
            .build()
            .unwrap())
        .build()
}

#[tokio::test]
async fn imports_read_buckets_and_allowed_directories_once() {
    let dir = TempDir::new();
    let archives = dir.0.join("archives");
    std::fs::create_dir_all(archives.join("2026/01/05")).unwrap();
    std::fs::write(
        archives.join("2026/01/05/111111111111_CloudTrail_eu-west-1_20260105T0000Z_f.json.gz"),
        log_file("file", 4),
    )
    .unwrap();
    let server =
        Server::start_configured(&dir, &format!("[lake]\nimport_directories = [\"{}\"]\n", archives.display()));
    let ct = server.client(MGMT, REGION);
    let s3 = server.s3_client(MGMT, "us-east-1");
    let store = ct.create_event_data_store().name("imported").send().await.unwrap();
    let arn = store.event_data_store_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    s3.create_bucket().bucket("trail-archive").send().await.unwrap();
    let put = |key: &str, body: Vec<u8>| s3.put_object().bucket("trail-archive").key(key).body(body.into()).send();
    put("AWSLogs/111111111111/CloudTrail/eu-west-1/2026/01/05/111111111111_CloudTrail_eu-west-1_20260105T0100Z_a.json.gz", log_file("a", 20)).await.unwrap();
    put("AWSLogs/111111111111/CloudTrail/eu-west-1/2026/01/06/111111111111_CloudTrail_eu-west-1_20260106T0100Z_b.json.gz", log_file("b", 10)).await.unwrap();
    put("AWSLogs/111111111111/CloudTrail/eu-west-1/2026/01/06/111111111111_CloudTrail_eu-west-1_20260106T0200Z_c.json.gz", b"\x1f\x8b broken".to_vec()).await.unwrap();

    let started = ct
        .start_import()
        .destinations(&arn)
        .import_source(s3_source("s3://trail-archive/AWSLogs/", MGMT.0))
        .send()
        .await
        .unwrap();
    let import = started.import_id().unwrap().to_string();
    assert_eq!(started.import_status().unwrap().as_str(), "INITIALIZING");
    let done = import_done(&ct, &import).await;
    assert_eq!(done.import_status().unwrap().as_str(), "COMPLETED");
    let stats = done.import_statistics().unwrap();
    assert_eq!(
        (
            stats.prefixes_found(),
            stats.prefixes_completed(),
            stats.files_completed(),
            stats.events_completed(),
            stats.failed_entries()
        ),
        (Some(2), Some(2), Some(3), Some(30), Some(1))
    );
    let failures = ct.list_import_failures().import_id(&import).send().await.unwrap();
    assert_eq!(failures.failures().len(), 1);
    assert!(failures.failures()[0].location().unwrap().ends_with("_c.json.gz"));
    assert_eq!(failures.failures()[0].error_type(), Some("DecompressionFailed"));
    let count = format!("SELECT count(*) AS n FROM {id} WHERE eventSource = 'ec2.amazonaws.com'");
    assert_eq!(rows(&ct, &count).await, vec![vec![("n".to_string(), "30".to_string())]]);

    // Started again with its id: nothing new.
    let again = ct.start_import().import_id(&import).send().await.unwrap();
    assert_eq!(again.import_id(), Some(import.as_str()));
    assert_eq!(import_done(&ct, &import).await.import_statistics().unwrap().events_completed(), Some(0));
    assert_eq!(rows(&ct, &count).await, vec![vec![("n".to_string(), "30".to_string())]]);

    // A directory [lake] import_directories allows, and one it does not.
    let from_dir = ct
        .start_import()
        .destinations(&id)
        .import_source(s3_source(&format!("file://{}", archives.display()), MGMT.0))
        .send()
        .await
        .unwrap();
    let from_dir = from_dir.import_id().unwrap().to_string();
    assert_eq!(import_done(&ct, &from_dir).await.import_statistics().unwrap().events_completed(), Some(4));
    let denied = ct
        .start_import()
        .destinations(&id)
        .import_source(s3_source(&format!("file://{}", dir.0.display()), MGMT.0))
        .send()
        .await;
    assert_eq!(code(denied), "InvalidImportSourceException");
    let listed = ct.list_imports().destination(&arn).send().await.unwrap();
    assert_eq!(listed.imports().len(), 2);
    assert_eq!(
        ct.list_imports()
            .import_status(aws_sdk_cloudtrail::types::ImportStatus::Failed)
            .send()
            .await
            .unwrap()
            .imports()
            .len(),
        0
    );

    // Refusals: another account's bucket, another account's role, unknown imports and stores.
    server.s3_client(MEMBER, "us-east-1").create_bucket().bucket("member-archive").send().await.unwrap();
    let c = ct.start_import().destinations(&arn).import_source(s3_source("s3://member-archive/", MGMT.0)).send().await;
    assert_eq!(code(c), "InvalidImportSourceException");
    let c = ct.start_import().destinations(&arn).import_source(s3_source("s3://trail-archive/", MEMBER.0)).send().await;
    assert_eq!(code(c), "InvalidParameterException");
    let c = ct.start_import().destinations(&arn).import_source(s3_source("s3://no-such-archive/", MGMT.0)).send().await;
    assert_eq!(code(c), "InvalidImportSourceException");
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(code(ct.get_import().import_id(unknown).send().await), "ImportNotFoundException");
    assert_eq!(
        code(server.client(MEMBER, REGION).get_import().import_id(&import).send().await),
        "ImportNotFoundException"
    );
    let c =
        ct.start_import().destinations(unknown).import_source(s3_source("s3://trail-archive/", MGMT.0)).send().await;
    assert_eq!(code(c), "EventDataStoreNotFoundException");
}

#[tokio::test]
async fn imports_read_an_s3_compatible_server() {
    let env = crate::delivery::s3_env();
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, &env.config());
    let ct = server.client(MGMT, REGION);
    let store = ct.create_event_data_store().name("from-garage").send().await.unwrap();
    let id = store.event_data_store_arn().unwrap().rsplit('/').next().unwrap().to_string();
    let prefix = crate::delivery::unique_prefix("import");
    let key = format!("{prefix}/AWSLogs/111111111111/CloudTrail/eu-west-1/2026/01/05/111111111111_CloudTrail_eu-west-1_20260105T0100Z_g.json.gz");
    env.client().put_object().bucket(&env.bucket).key(&key).body(log_file(&prefix, 12).into()).send().await.unwrap();
    let started = ct
        .start_import()
        .destinations(&id)
        .import_source(s3_source(&format!("s3://{}/{prefix}/", env.bucket), MGMT.0))
        .send()
        .await
        .unwrap();
    let done = import_done(&ct, started.import_id().unwrap()).await;
    assert_eq!(done.import_status().unwrap().as_str(), "COMPLETED");
    assert_eq!(done.import_statistics().unwrap().events_completed(), Some(12));
    let n = rows(&ct, &format!("SELECT count(*) AS n FROM {id} WHERE eventid LIKE '{prefix}-%'")).await;
    assert_eq!(n, vec![vec![("n".to_string(), "12".to_string())]]);
}

/// DuckDB's answer to `sql` over the Parquet files under `dir` (the table `t`), one line per row, cells joined by `|`.
fn duckdb(dir: &std::path::Path, sql: &str) -> Vec<String> {
    let python = std::env::var("CAIRN_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("CAIRN_TEST_PYTHON is not set: run the tests with `bash scripts/test`, which installs DuckDB")
    });
    let script = r#"
import duckdb, sys
con = duckdb.connect()
con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{sys.argv[1]}/date=*/*.parquet', hive_partitioning = true)")
for row in con.execute(sys.argv[2]).fetchall():
    print("|".join("NULL" if v is None else str(v) for v in row))
"#;
    let out = std::process::Command::new(python).args(["-c", script, dir.to_str().unwrap(), sql]).output().unwrap();
    assert!(out.status.success(), "duckdb: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[tokio::test]
async fn a_federated_store_reads_the_same_in_duckdb() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, "[lake]\nflush_interval_seconds = 1\n");
    let ct = server.client(MGMT, REGION);
    let store = ct.create_event_data_store().name("federated").send().await.unwrap();
    let arn = store.event_data_store_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    let mut events = Vec::new();
    for i in 0..40 {
        let mut e =
            producer_event(["RunInstances", "StopInstances"][i % 2], REGION, "ec2.amazonaws.com", -(i as i64) * 3600);
        let it = ["t3.micro", "m5.large", "c6g.xlarge"][i % 3];
        e["requestParameters"] = json!({ "instanceType": it });
        events.push(e);
    }
    ingest(&server, events);
    let role = format!("arn:aws:iam::{}:role/LakeFederation", MGMT.0);
    assert_eq!(
        code(
            ct.enable_federation()
                .event_data_store(&id)
                .federation_role_arn("arn:aws:iam::999999999999:role/x")
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    let enabled = ct.enable_federation().event_data_store(&id).federation_role_arn(&role).send().await.unwrap();
    assert_eq!(enabled.federation_status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(
        code(ct.enable_federation().event_data_store(&id).federation_role_arn(&role).send().await),
        "EventDataStoreFederationEnabledException"
    );
    let got = ct.get_event_data_store().event_data_store(&id).send().await.unwrap();
    assert_eq!(
        (got.federation_status().map(|s| s.as_str()), got.federation_role_arn()),
        (Some("ENABLED"), Some(role.as_str()))
    );
    ct.update_event_data_store().event_data_store(&id).termination_protection_enabled(false).send().await.unwrap();
    assert_eq!(
        code(ct.delete_event_data_store().event_data_store(&id).send().await),
        "EventDataStoreFederationEnabledException"
    );

    let store_dir = dir.0.join("data").join("lake").join(&id);
    let table: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store_dir.join("_table.json")).unwrap()).unwrap();
    assert_eq!(table["PartitionKeys"][0]["Name"], "date");
    assert!(table["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["Name"] == "useridentity" && c["Type"].as_str().unwrap().starts_with("struct<type:string")));
    // Once flushed, DuckDB and StartQuery give the same answers.
    let lake = format!(
        "SELECT eventName, element_at(requestparameters, 'instanceType') AS it, count(*) AS n FROM {id} \
         WHERE eventSource = 'ec2.amazonaws.com' GROUP BY 1, 2 ORDER BY 1, 2"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while parquet_files(&store_dir).is_empty() {
        assert!(Instant::now() < deadline, "no files in {store_dir:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected: Vec<String> = loop {
        let answer: Vec<String> = rows(&ct, &lake)
            .await
            .iter()
            .map(|r| r.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("|"))
            .collect();
        let duck = duckdb(
            &store_dir,
            "SELECT eventname, requestparameters['instanceType'], count(*) FROM t \
            WHERE eventsource = 'ec2.amazonaws.com' GROUP BY 1, 2 ORDER BY 1, 2",
        );
        if duck == answer {
            break answer;
        }
        assert!(Instant::now() < deadline, "DuckDB {duck:?} and StartQuery {answer:?} still differ");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(expected.iter().map(|l| l.rsplit('|').next().unwrap().parse::<u32>().unwrap()).sum::<u32>(), 40);
    let times = duckdb(&store_dir, "SELECT count(DISTINCT date), min(eventtime) < max(eventtime), count(*) FILTER (WHERE useridentity.username = 'deployer') FROM t WHERE eventsource = 'ec2.amazonaws.com'");
    assert!(times[0].ends_with("|True|40"), "{times:?}");

    let disabled = ct.disable_federation().event_data_store(&id).send().await.unwrap();
    assert_eq!(disabled.federation_status().map(|s| s.as_str()), Some("DISABLED"));
    assert!(!store_dir.join("_table.json").exists());
    ct.delete_event_data_store().event_data_store(&id).send().await.unwrap();
}

/// A query of another account's store that waits for a query slot checks the store's policy again when it starts:
/// revoked meanwhile, it fails without reading anything.
#[tokio::test]
async fn a_queued_query_fails_once_the_policy_that_let_it_start_is_gone() {
    let dir = TempDir::new();
    let server = Server::start_configured(&dir, "[query]\nmax_concurrent = 1\n");
    let owner = server.client(MGMT, REGION);
    let other = server.client(MEMBER, REGION);
    let arn = owner.create_event_data_store().name("shared").send().await.unwrap().event_data_store_arn.unwrap();
    let id = arn.rsplit('/').next().unwrap().to_string();
    ingest(&server, (0..3).map(|i| producer_event("RunInstances", REGION, "ec2.amazonaws.com", -i)).collect());
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": MEMBER.0},
        "Action": ["cloudtrail:StartQuery", "cloudtrail:DescribeQuery"], "Resource": arn}]});
    owner.put_resource_policy().resource_arn(&arn).resource_policy(policy.to_string()).send().await.unwrap();
    // The owner's long query holds the only slot.
    let long = format!("SELECT count(*) FROM {id} CROSS JOIN UNNEST(range(1, 3000000)) AS t(x)");
    let long = owner.start_query().query_statement(long).send().await.unwrap().query_id.unwrap();
    let queued = other
        .start_query()
        .query_statement(format!("SELECT count(*) FROM {id}"))
        .event_data_store_owner_account_id(MGMT.0)
        .send()
        .await
        .unwrap()
        .query_id
        .unwrap();
    let waiting = other.describe_query().query_id(&queued).send().await.unwrap();
    assert_eq!(waiting.query_status(), Some(&QueryStatus::Queued), "the long query holds the only slot");
    owner.delete_resource_policy().resource_arn(&arn).send().await.unwrap();
    assert_eq!(finished(&owner, &long).await, QueryStatus::Finished, "the long query ran to its end");
    // Reading the outcome needs DescribeQuery granted again; StartQuery stays revoked.
    let describe = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": MEMBER.0},
        "Action": ["cloudtrail:DescribeQuery"], "Resource": arn}]});
    let deadline = Instant::now() + Duration::from_secs(20);
    let described = loop {
        owner.put_resource_policy().resource_arn(&arn).resource_policy(describe.to_string()).send().await.unwrap();
        let d = other.describe_query().query_id(&queued).send().await.unwrap();
        if !matches!(d.query_status(), Some(QueryStatus::Queued | QueryStatus::Running)) {
            break d;
        }
        assert!(Instant::now() < deadline, "the queued query did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(described.query_status(), Some(&QueryStatus::Failed));
    assert!(described.error_message().unwrap().contains("no longer grants cloudtrail:StartQuery"), "{described:?}");
}
