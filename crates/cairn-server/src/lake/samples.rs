//! SearchSampleQueries over cairn's library of investigation queries.

use cairn_api::dashboards::{SampleQueryResult, SearchSampleQueriesRequest, SearchSampleQueriesResponse};
use cairn_api::{required, ApiError, ErrorCode, Result};

const TOKEN_PREFIX: &str = "sq1-";

pub(crate) fn search(req: SearchSampleQueriesRequest) -> Result<SearchSampleQueriesResponse> {
    let phrase = required(req.search_phrase, "searchPhrase")?;
    let printable = phrase.chars().all(|c| c == '\n' || (' '..='~').contains(&c));
    if !(2..=1000).contains(&phrase.len()) || !printable {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "1 validation error detected: Value at 'searchPhrase' failed to satisfy constraint: Member must have length between 2 and 1000 and match pattern ^[ -~\\n]*$",
        ));
    }
    let max = match req.max_results {
        None => 10,
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50"),
            ))
        }
    };
    let offset = match &req.next_token {
        None => 0,
        Some(t) => cairn_api::token::decode(TOKEN_PREFIX, t)
            .and_then(|s| s.rsplit_once('|').filter(|(p, _)| *p == phrase).and_then(|(_, n)| n.parse::<usize>().ok()))
            .ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidParameter, "the pagination token is not valid for this search")
            })?,
    };
    let found = cairn_store::lake::samples::search(&phrase);
    let search_results: Vec<SampleQueryResult> = found
        .iter()
        .skip(offset)
        .take(max)
        .map(|(q, relevance)| SampleQueryResult {
            name: q.name.into(),
            description: q.description.into(),
            sql: q.sql.into(),
            relevance: *relevance,
        })
        .collect();
    let shown = offset + search_results.len();
    let next_token =
        (shown < found.len()).then(|| cairn_api::token::encode(TOKEN_PREFIX, &format!("{phrase}|{shown}")));
    Ok(SearchSampleQueriesResponse { search_results, next_token })
}
