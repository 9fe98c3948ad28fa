//! GenerateQuery: a natural-language prompt turned into Lake SQL by a language model cairn is configured to use
//! (`[lake.query_generator]`: any server that speaks OpenAI's chat completions API, such as Ollama, llama.cpp's
//! server or vLLM). Without one, the answer is UnsupportedOperationException.
//!
//! The model is told the store's table name and its Lake columns, and asked for one SELECT. Its answer is checked as
//! StartQuery checks a statement before it is returned (an answer that is not a query cairn can run is
//! GenerateResponseException, as is SQL over another store), and is kept 7 days (in memory: not across a restart)
//! under the returned QueryAlias, which StartQuery accepts.

use std::time::Duration;

use cairn_api::dashboards::{GenerateQueryRequest, GenerateQueryResponse};
use cairn_api::{required, ApiError, ErrorCode, Result};

use crate::config::QueryGeneratorConfig;
use crate::lake::{queries, stores};
use crate::{App, Ctx};

/// GenerateQuery: the store and prompt are checked as AWS checks them, then the configured model writes the SQL.
pub(crate) fn generate(app: &App, ctx: &Ctx, req: GenerateQueryRequest) -> Result<GenerateQueryResponse> {
    let given = required(req.event_data_stores, "eventDataStores")?;
    let prompt = required(req.prompt, "prompt")?;
    if given.len() != 1 || !(3..=500).contains(&prompt.len()) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "1 validation error detected: GenerateQuery takes exactly one event data store and a prompt of 3 to 500 characters",
        ));
    }
    let store = app.catalog.read(|state| {
        let s = stores::resolve(state, ctx, &given[0])?;
        stores::active(s)?;
        Ok::<_, ApiError>(s.clone())
    })?;
    let Some(config) = &app.settings.lake.query_generator else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperation,
            "GenerateQuery turns a prompt into SQL with a language model, and no model is configured for this cairn ([lake.query_generator]); write the query (SearchSampleQueries has examples) and run it with StartQuery",
        ));
    };
    let columns = super::kind_of(&store)
        .schema()
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), cairn_store::lake::schema::type_name(f.data_type())))
        .collect::<Vec<_>>()
        .join(", ");
    let instructions = format!(
        "You write SQL for AWS CloudTrail Lake, which runs Trino's dialect. The user asks a question about the events \
         of the event data store whose table is named {id}. Its columns are: {columns}. Compare eventtime with \
         timestamps such as '2026-01-31 00:00:00'; read map columns with element_at(map, 'key'). Today is {today}. \
         Answer with one SELECT statement over {id} and nothing else.",
        id = store.id,
        today = cairn_model::event::format_event_time(app.clock.now_millis()).get(..10).unwrap_or_default(),
    );
    let answer = app.queries.block_on(complete(config, &instructions, &prompt))?;
    let statement = sql_of(&answer).ok_or_else(|| refused("the model's answer holds no SQL"))?;
    let (_, read) = queries::plan(app, ctx, &statement)
        .map_err(|e| refused(&format!("the model's answer is not a query cairn can run: {}", e.message)))?;
    if read.iter().any(|s| s.id != store.id) {
        return Err(refused("the model's answer reads another event data store than the one given"));
    }
    let alias = format!("generated-{}", uuid::Uuid::new_v4().simple());
    app.lake_queries.remember_generated(&ctx.account_id, &alias, &statement, app.clock.now_millis());
    Ok(GenerateQueryResponse {
        query_statement: Some(statement),
        query_alias: Some(alias),
        event_data_store_owner_account_id: None,
    })
}

fn refused(reason: &str) -> ApiError {
    ApiError::new(ErrorCode::GenerateResponse, format!("The query could not be generated: {reason}."))
}

/// The model's answer to the prompt, through the chat completions API.
async fn complete(config: &QueryGeneratorConfig, instructions: &str, prompt: &str) -> Result<String> {
    let url = format!("{}/chat/completions", config.endpoint.trim_end_matches('/'));
    let body = serde_json::json!({
        "model": config.model,
        "temperature": 0,
        "messages": [{"role": "system", "content": instructions}, {"role": "user", "content": prompt}],
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_seconds))
        .build()
        .map_err(|e| refused(&format!("cannot reach the model: {e}")))?;
    let mut request = client.post(&url).header("content-type", "application/json").body(body.to_string());
    if let Some(key) = &config.api_key {
        request = request.bearer_auth(key);
    }
    // What went wrong with the model's server is for the operator's log, not for API callers.
    let unavailable = |detail: String| {
        tracing::warn!(endpoint = %url, %detail, "GenerateQuery's model did not answer");
        refused("the language model did not answer; see the server's log")
    };
    let response = request.send().await.map_err(|e| unavailable(format!("cannot reach it: {e}")))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| unavailable(format!("its answer was cut short: {e}")))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        return Err(unavailable(format!("it answered {status}: {text}")));
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| unavailable(format!("its answer is not JSON: {e}")))?;
    answer["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| unavailable("its answer has no choices[0].message.content".into()))
}

/// The SQL in a model's answer: its first fenced block when it has one, else all of it; no final semicolon.
fn sql_of(answer: &str) -> Option<String> {
    let text = match answer.split_once("```") {
        Some((_, rest)) => {
            let rest = rest.strip_prefix("sql").or_else(|| rest.strip_prefix("SQL")).unwrap_or(rest);
            rest.split("```").next().unwrap_or(rest)
        }
        None => answer,
    };
    let sql = text.trim().trim_end_matches(';').trim();
    (!sql.is_empty()).then(|| sql.to_string())
}

#[cfg(test)]
mod tests {
    use super::sql_of;

    #[test]
    fn the_sql_of_an_answer_is_its_fenced_block_or_all_of_it() {
        assert_eq!(sql_of("SELECT 1 FROM t;").as_deref(), Some("SELECT 1 FROM t"));
        assert_eq!(sql_of("Here:\n```sql\nSELECT a\nFROM t\n```\nDone.").as_deref(), Some("SELECT a\nFROM t"));
        assert_eq!(sql_of("```\nSELECT b FROM t;\n```").as_deref(), Some("SELECT b FROM t"));
        assert_eq!(sql_of("  ;  "), None);
        assert_eq!(sql_of("```sql\n```"), None);
    }
}
