//! What the client commands (`cairn lookup`, `cairn query`, `cairn trails`) share: how to reach and sign for a
//! running cairn (taken the way the AWS CLI takes them), the output formats, and aligned text tables.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::Value;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Where cairn is and who is calling, resolved as the AWS CLI does: a flag, else the environment variable, else the
/// profile (`--profile` / `AWS_PROFILE`, from `~/.aws/credentials` and `~/.aws/config`), else cairn's development
/// defaults.
#[derive(Debug, Args)]
pub struct Connection {
    /// cairn's address [env: AWS_ENDPOINT_URL, CAIRN_ENDPOINT; profile: endpoint_url; default http://127.0.0.1:4573].
    #[arg(long, alias = "endpoint-url")]
    endpoint: Option<String>,
    /// Region of the requests [env: AWS_REGION, AWS_DEFAULT_REGION; profile: region; default us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// Named profile of ~/.aws/credentials and ~/.aws/config.
    #[arg(long, env = "AWS_PROFILE", default_value = "default")]
    profile: String,
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    access_key_id: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_access_key: Option<String>,
    #[arg(long, env = "AWS_ENDPOINT_URL", hide = true)]
    env_endpoint_url: Option<String>,
    #[arg(long, env = "CAIRN_ENDPOINT", hide = true)]
    env_cairn_endpoint: Option<String>,
    #[arg(long, env = "AWS_REGION", hide = true)]
    env_region: Option<String>,
    #[arg(long, env = "AWS_DEFAULT_REGION", hide = true)]
    env_default_region: Option<String>,
    #[arg(long, env = "AWS_SHARED_CREDENTIALS_FILE", hide = true)]
    credentials_file: Option<std::path::PathBuf>,
    #[arg(long, env = "AWS_CONFIG_FILE", hide = true)]
    config_file: Option<std::path::PathBuf>,
    #[arg(long, env = "HOME", hide = true)]
    home: Option<std::path::PathBuf>,
}

impl Connection {
    /// The `--endpoint-url` flag, if given (it wins over every variable).
    pub fn endpoint_flag(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    pub fn endpoint(&self) -> cairn_client::Endpoint {
        let home = self.home.clone().unwrap_or_default().join(".aws");
        let credentials_file = self.credentials_file.clone().unwrap_or_else(|| home.join("credentials"));
        let config_file = self.config_file.clone().unwrap_or_else(|| home.join("config"));
        let credentials = crate::profile::section(&credentials_file, &self.profile);
        let config = crate::profile::section(&config_file, &crate::profile::config_section(&self.profile));
        let from_profile = |key: &str| credentials.get(key).or_else(|| config.get(key)).cloned();
        // Keys come as a pair: a flag or variable pair wins over the profile's pair, never half of each.
        let (access_key_id, secret_access_key) = match (&self.access_key_id, &self.secret_access_key) {
            (Some(a), Some(s)) => (a.clone(), s.clone()),
            _ => match (from_profile("aws_access_key_id"), from_profile("aws_secret_access_key")) {
                (Some(a), Some(s)) => (a, s),
                _ => (
                    cairn_server::config::DEV_ACCESS_KEY_ID.to_string(),
                    cairn_server::config::DEV_SECRET_ACCESS_KEY.to_string(),
                ),
            },
        };
        let pick = |candidates: [Option<String>; 4], default: &str| {
            candidates.into_iter().flatten().find(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
        };
        cairn_client::Endpoint {
            url: pick(
                [
                    self.endpoint.clone(),
                    self.env_endpoint_url.clone(),
                    self.env_cairn_endpoint.clone(),
                    config.get("endpoint_url").cloned(),
                ],
                "http://127.0.0.1:4573",
            ),
            region: pick(
                [
                    self.region.clone(),
                    self.env_region.clone(),
                    self.env_default_region.clone(),
                    config.get("region").cloned(),
                ],
                "us-east-1",
            ),
            access_key_id,
            secret_access_key,
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
