//! Lake dashboards, sample queries and query aliases against the real binary with `aws-sdk-cloudtrail`: widgets
//! checked at creation, refreshes that run each widget's query under its alias, the managed Highlights dashboard,
//! SearchSampleQueries' ranking and paging, and GenerateQuery's answer without a model.

use aws_sdk_cloudtrail::types::{
    DashboardType, QueryStatus, RefreshSchedule, RefreshScheduleFrequency, RefreshScheduleFrequencyUnit,
    RefreshScheduleStatus, RequestWidget,
};

use crate::common::*;
use crate::lake::finished;

const REGION: &str = "eu-west-1";

fn widget(statement: &str, params: &[&str]) -> RequestWidget {
    let mut b = RequestWidget::builder().query_statement(statement).view_properties("View", "Table");
    for p in params {
        b = b.query_parameters(*p);
    }
    b.build().unwrap()
}

/// The rows of the query run under `alias` in refresh `refresh_id`, once it has finished.
async fn widget_rows(ct: &aws_sdk_cloudtrail::Client, alias: &str, refresh_id: &str) -> Vec<Vec<(String, String)>> {
    let d = ct.describe_query().query_alias(alias).refresh_id(refresh_id).send().await.unwrap();
    let id = d.query_id().unwrap().to_string();
    assert_eq!(finished(ct, &id).await, QueryStatus::Finished, "{alias}");
    let r = ct.get_query_results().query_id(&id).send().await.unwrap();
    r.query_result_rows()
        .iter()
        .map(|row| row.iter().flat_map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone()))).collect())
        .collect()
}

#[tokio::test]
async fn dashboards_refresh_their_widgets_and_highlights_summarize_a_store() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    let store = ct.create_event_data_store().name("mgmt").termination_protection_enabled(false).send().await.unwrap();
    let store_id = store.event_data_store_arn().unwrap().rsplit('/').next().unwrap().to_string();
    for _ in 0..3 {
        ct.describe_trails().send().await.unwrap();
    }

    // Widgets are checked as StartQuery checks statements.
    let counts = format!(
        "SELECT eventName, count(*) AS calls FROM {store_id} WHERE eventTime >= '?' AND eventTime <= '?' GROUP BY eventName ORDER BY calls DESC"
    );
    let c = ct.create_dashboard().name("ops").widgets(widget("SELEC nothing", &[])).send().await;
    assert_eq!(code(c), "InvalidQueryStatementException");
    let c = ct
        .create_dashboard()
        .name("ops")
        .widgets(widget("SELECT * FROM 00000000-0000-4000-8000-000000000000", &[]))
        .send()
        .await;
    assert_eq!(code(c), "InvalidQueryStatementException", "an unknown store, as StartQuery answers it");
    let c = ct.create_dashboard().name("ops").widgets(widget(&counts, &["$StartTime$"])).send().await;
    assert_eq!(code(c), "InvalidParameterException");
    let mut eleven = ct.create_dashboard().name("ops");
    for _ in 0..11 {
        eleven = eleven.widgets(widget(&counts, &["$StartTime$", "$EndTime$"]));
    }
    assert_eq!(code(eleven.send().await), "ServiceQuotaExceededException");
    let bad_schedule = RefreshSchedule::builder()
        .frequency(RefreshScheduleFrequency::builder().unit(RefreshScheduleFrequencyUnit::Hours).value(5).build())
        .status(RefreshScheduleStatus::Enabled)
        .build();
    let c = ct.create_dashboard().name("ops").refresh_schedule(bad_schedule).send().await;
    assert_eq!(code(c), "InvalidParameterException");
    assert!(ct.list_dashboards().send().await.unwrap().dashboards().is_empty());

    let schedule = RefreshSchedule::builder()
        .frequency(RefreshScheduleFrequency::builder().unit(RefreshScheduleFrequencyUnit::Hours).value(6).build())
        .status(RefreshScheduleStatus::Enabled)
        .build();
    let created = ct
        .create_dashboard()
        .name("ops")
        .widgets(widget(&counts, &["$StartTime$", "$EndTime$"]))
        .refresh_schedule(schedule)
        .tags_list(aws_sdk_cloudtrail::types::Tag::builder().key("team").value("sec").build().unwrap())
        .send()
        .await
        .unwrap();
    let arn = created.dashboard_arn().unwrap().to_string();
    assert_eq!(arn, format!("arn:aws:cloudtrail:{REGION}:{}:dashboard/ops", MGMT.0));
    assert_eq!(created.r#type(), Some(&DashboardType::Custom));
    assert_eq!(created.widgets()[0].query_parameters(), ["$StartTime$", "$EndTime$"]);
    assert_eq!(code(ct.create_dashboard().name("ops").send().await), "ConflictException");

    let refresh = ct.start_dashboard_refresh().dashboard_id(&arn).send().await.unwrap();
    let refresh_id = refresh.refresh_id().unwrap().to_string();
    let got = ct.get_dashboard().dashboard_id("ops").send().await.unwrap();
    assert_eq!(got.last_refresh_id(), Some(refresh_id.as_str()));
    assert_eq!(got.status().unwrap().as_str(), "CREATED");
    let alias = got.widgets()[0].query_alias().unwrap().to_string();
    let rows = widget_rows(&ct, &alias, &refresh_id).await;
    assert!(
        rows.contains(&vec![("eventName".into(), "DescribeTrails".into()), ("calls".into(), "3".into())]),
        "{rows:?}"
    );
    // Parameters given to the refresh bind instead: a window before the store existed holds nothing.
    let past = ct
        .start_dashboard_refresh()
        .dashboard_id("ops")
        .query_parameter_values("$StartTime$", "2020-01-01T00:00:00Z")
        .query_parameter_values("$EndTime$", "2020-01-02T00:00:00Z")
        .send()
        .await
        .unwrap();
    assert!(widget_rows(&ct, &alias, past.refresh_id().unwrap()).await.is_empty());
    let c = ct.start_dashboard_refresh().dashboard_id("nope-dashboard").send().await;
    assert_eq!(code(c), "ResourceNotFoundException");

    // The managed Highlights dashboard, made of cairn's Highlights queries over the account's store.
    let highlights = ct.create_dashboard().name("AWSCloudTrail-Highlights").send().await.unwrap();
    assert_eq!(highlights.r#type(), Some(&DashboardType::Managed));
    assert!(highlights.widgets().len() >= 5);
    let refresh = ct.start_dashboard_refresh().dashboard_id("AWSCloudTrail-Highlights").send().await.unwrap();
    let sources = widget_rows(&ct, "Highlights-TopEventSources", refresh.refresh_id().unwrap()).await;
    assert_eq!(sources[0][0], ("eventSource".into(), "cloudtrail.amazonaws.com".into()), "{sources:?}");
    let u = ct
        .update_dashboard()
        .dashboard_id("AWSCloudTrail-Highlights")
        .widgets(widget(&counts, &["$StartTime$", "$EndTime$"]))
        .send()
        .await;
    assert_eq!(code(u), "InvalidParameterException");
    let managed = ct.list_dashboards().r#type(DashboardType::Managed).send().await.unwrap();
    assert_eq!(managed.dashboards().len(), 1);
    let prefixed = ct.list_dashboards().name_prefix("op").send().await.unwrap();
    assert_eq!(prefixed.dashboards()[0].dashboard_arn(), Some(arn.as_str()));

    // StartQuery runs a managed query by its alias.
    let q = ct
        .start_query()
        .query_alias("Highlights-TopErrors")
        .query_parameters(&store_id)
        .query_parameters("2020-01-01 00:00:00")
        .query_parameters("2099-01-01 00:00:00")
        .send()
        .await
        .unwrap();
    assert_eq!(finished(&ct, q.query_id().unwrap()).await, QueryStatus::Finished);
    let c = ct.start_query().query_alias("No-Such-Alias").send().await;
    assert_eq!(code(c), "InvalidParameterException");

    // A dashboard's resource policy lets CloudTrail refresh it; tags; termination protection.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},"Action":"cloudtrail:StartDashboardRefresh","Resource":"{arn}"}}]}}"#
    );
    ct.put_resource_policy().resource_arn(&arn).resource_policy(&policy).send().await.unwrap();
    let tags = ct.list_tags().resource_id_list(&arn).send().await.unwrap();
    assert_eq!(tags.resource_tag_list()[0].tags_list()[0].key(), "team");
    ct.update_dashboard().dashboard_id(&arn).termination_protection_enabled(true).send().await.unwrap();
    assert_eq!(code(ct.delete_dashboard().dashboard_id(&arn).send().await), "ConflictException");
    ct.update_dashboard().dashboard_id(&arn).termination_protection_enabled(false).send().await.unwrap();
    ct.delete_dashboard().dashboard_id(&arn).send().await.unwrap();
    assert_eq!(code(ct.get_dashboard().dashboard_id(&arn).send().await), "ResourceNotFoundException");
    assert_eq!(code(ct.get_resource_policy().resource_arn(&arn).send().await), "ResourceNotFoundException");
}

#[tokio::test]
async fn sample_queries_are_ranked_and_paged_and_generate_query_needs_a_model() {
    let dir = TempDir::new();
    let server = Server::start(&dir);
    let ct = server.client(MGMT, REGION);
    let found = ct.search_sample_queries().search_phrase("failed console logins").send().await.unwrap();
    let first = &found.search_results()[0];
    assert_eq!(first.name(), Some("Failed console sign-ins"));
    assert!(first.sql().unwrap().contains("$EDS_ID"));
    let relevance: Vec<f32> = found.search_results().iter().map(|r| r.relevance()).collect();
    assert!(relevance.windows(2).all(|w| w[0] >= w[1]) && relevance[0] > 0.0 && relevance[0] <= 1.0);
    let page = ct.search_sample_queries().search_phrase("changes").max_results(2).send().await.unwrap();
    assert_eq!(page.search_results().len(), 2);
    let next = ct
        .search_sample_queries()
        .search_phrase("changes")
        .max_results(2)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(next.search_results()[0].name(), page.search_results()[0].name());
    assert_eq!(code(ct.search_sample_queries().search_phrase("x").send().await), "ValidationException");
    assert_eq!(
        code(ct.search_sample_queries().search_phrase("root").max_results(51).send().await),
        "ValidationException"
    );

    let store = ct.create_event_data_store().name("samples").send().await.unwrap();
    let g =
        ct.generate_query().event_data_stores(store.event_data_store_arn().unwrap()).prompt("top users").send().await;
    assert_eq!(code(g), "UnsupportedOperationException");
    let g =
        ct.generate_query().event_data_stores("00000000-0000-4000-8000-000000000000").prompt("top users").send().await;
    assert_eq!(code(g), "EventDataStoreNotFoundException");
}

/// A stand-in for a language model server speaking OpenAI's chat completions API on loopback (no model runs here):
/// it answers every request with the content `answer` holds at the time and keeps the request bodies it received.
struct ModelServer {
    port: u16,
    answer: std::sync::Arc<std::sync::Mutex<String>>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl ModelServer {
    async fn start() -> ModelServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (a, r) = (answer.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then as many body bytes as Content-Length says.
                let body = loop {
                    let n = conn.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "the request ended early");
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    assert!(head.starts_with("post /v1/chat/completions "), "{head}");
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if buf.len() >= end + 4 + len {
                        break buf[end + 4..end + 4 + len].to_vec();
                    }
                };
                r.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                let content = a.lock().unwrap().clone();
                let reply = serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
                .to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                conn.write_all(response.as_bytes()).await.unwrap();
            }
        });
        ModelServer { port, answer, requests }
    }
}

/// With a model configured, GenerateQuery asks it (with the store's table and columns), checks its SQL, and keeps it
/// under an alias StartQuery runs; an answer that is not a query cairn can run is GenerateResponseException.
#[tokio::test]
async fn generate_query_asks_the_configured_model_and_start_query_runs_its_alias() {
    let model = ModelServer::start().await;
    let dir = TempDir::new();
    let config =
        format!("[lake.query_generator]\nendpoint = \"http://127.0.0.1:{}/v1\"\nmodel = \"sql-writer\"\n", model.port);
    let server = Server::start_configured(&dir, &config);
    let ct = server.client(MGMT, REGION);
    let store = ct.create_event_data_store().name("generated").send().await.unwrap();
    let id = store.event_data_store_arn().unwrap().rsplit('/').next().unwrap().to_string();
    crate::lookup::ingest(
        &server,
        (0..4).map(|i| crate::lookup::producer_event("RunInstances", REGION, "ec2.amazonaws.com", -i)).collect(),
    );

    *model.answer.lock().unwrap() = format!(
        "Here is the query:\n```sql\nSELECT eventname, count(*) AS n FROM {id} WHERE eventname = 'RunInstances' \
         GROUP BY eventname;\n```"
    );
    let generated =
        ct.generate_query().event_data_stores(&id).prompt("How many instances were run?").send().await.unwrap();
    let statement = generated.query_statement().unwrap();
    assert_eq!(
        statement,
        format!(
            "SELECT eventname, count(*) AS n FROM {id} WHERE eventname = 'RunInstances' \
         GROUP BY eventname"
        )
    );
    let asked = model.requests.lock().unwrap()[0].clone();
    assert_eq!(asked["model"], "sql-writer");
    assert_eq!(asked["messages"][1]["content"], "How many instances were run?");
    let instructions = asked["messages"][0]["content"].as_str().unwrap();
    assert!(instructions.contains(&id) && instructions.contains("useridentity struct<"), "{instructions}");

    let alias = generated.query_alias().unwrap();
    let started = ct.start_query().query_alias(alias).send().await.unwrap();
    let query = started.query_id().unwrap();
    assert_eq!(finished(&ct, query).await, QueryStatus::Finished);
    let rows = ct.get_query_results().query_id(query).send().await.unwrap();
    assert_eq!(rows.query_result_rows()[0][1].get("n").map(String::as_str), Some("4"));
    // The alias is its account's.
    let other = server.client(MEMBER, REGION).start_query().query_alias(alias).send().await;
    assert_eq!(code(other), "InvalidParameterException");

    // SQL over another of the caller's stores than the one given is not an answer to the prompt.
    let other_store = ct.create_event_data_store().name("other").send().await.unwrap();
    let other_id = other_store.event_data_store_arn().unwrap().rsplit('/').next().unwrap().to_string();
    *model.answer.lock().unwrap() = format!("SELECT count(*) FROM {other_id}");
    let g = ct.generate_query().event_data_stores(&id).prompt("Count the other store").send().await;
    assert_eq!(code(g), "GenerateResponseException");
    *model.answer.lock().unwrap() = "I cannot answer that.".into();
    let g = ct.generate_query().event_data_stores(&id).prompt("What is the weather?").send().await;
    assert_eq!(code(g), "GenerateResponseException");
    *model.answer.lock().unwrap() = format!("DELETE FROM {id}");
    let g = ct.generate_query().event_data_stores(&id).prompt("Remove everything").send().await;
    assert_eq!(code(g), "GenerateResponseException");
}
