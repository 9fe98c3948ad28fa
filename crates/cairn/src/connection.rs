//! What the client commands (`cairn lookup`, `cairn query`) share: how to reach and sign for a running cairn, the
//! output formats, and aligned text tables.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::Value;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct Connection {
    /// cairn's address.
    #[arg(long, env = "CAIRN_ENDPOINT", default_value = "http://127.0.0.1:4573")]
    endpoint: String,
    /// Region of the request (the region whose event history LookupEvents reads).
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = cairn_server::config::DEV_ACCESS_KEY_ID)]
    access_key_id: String,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", default_value = cairn_server::config::DEV_SECRET_ACCESS_KEY, hide_default_value = true)]
    secret_access_key: String,
}

impl Connection {
    pub fn endpoint(&self) -> cairn_client::Endpoint {
        cairn_client::Endpoint {
            url: self.endpoint.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
        }
    }
}

/// Sends a signed request and returns cairn's JSON answer; an error answer becomes `<__type>: <message>`.
pub async fn call(
    client: &cairn_client::HttpClient,
    endpoint: &cairn_client::Endpoint,
    signer: &cairn_client::Signer,
) -> Result<Value> {
    let (status, body) =
        cairn_client::send(client, signer).await.with_context(|| format!("calling cairn at {}", endpoint.url))?;
    let answer: Value = serde_json::from_slice(&body).context("cairn's answer is not JSON")?;
    if !status.is_success() {
        bail!("{}: {}", answer["__type"].as_str().unwrap_or("error"), answer["message"].as_str().unwrap_or(""));
    }
    Ok(answer)
}

/// Rows under a header, in columns as wide as their widest cell, two spaces apart.
pub fn aligned(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let out: Vec<String> = cells.iter().zip(&widths).map(|(c, &w)| format!("{c:<w$}")).collect();
        out.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    for r in rows {
        out.push_str(&line(r));
    }
    out
}
