//! Resolves cairn's configuration: defaults, then `CAIRN_*` environment variables, then the TOML file, then flags,
//! each overriding the one before; the result is validated once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cairn_server::config::{Config, Settings};

/// Flags of `cairn serve` that override the configuration.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

/// Environment variables cairn reads; nothing deeper in the code reads the environment.
pub const ENV_LISTEN: &str = "CAIRN_LISTEN";
pub const ENV_DATA_DIR: &str = "CAIRN_DATA_DIR";
pub const ENV_MAX_REQUEST_BYTES: &str = "CAIRN_MAX_REQUEST_BYTES";
pub const ENV_MAX_INGEST_BYTES: &str = "CAIRN_MAX_INGEST_BYTES";
pub const ENV_CONSOLE_DIR: &str = "CAIRN_CONSOLE_DIR";

pub fn load(flags: &Overrides, env: &HashMap<String, String>) -> Result<Settings> {
    let mut config = match &flags.config {
        Some(path) => read_file(path)?,
        None => Config::default(),
    };
    if config.listen.is_none() {
        if let Some(v) = env.get(ENV_LISTEN) {
            config.listen = Some(v.parse().with_context(|| format!("{ENV_LISTEN}={v:?} is not an address"))?);
        }
    }
    if config.data_dir.is_none() {
        config.data_dir = env.get(ENV_DATA_DIR).map(PathBuf::from);
    }
    if config.max_request_bytes.is_none() {
        if let Some(v) = env.get(ENV_MAX_REQUEST_BYTES) {
            config.max_request_bytes =
                Some(v.parse().with_context(|| format!("{ENV_MAX_REQUEST_BYTES}={v:?} is not a number"))?);
        }
    }
    if config.max_ingest_bytes.is_none() {
        if let Some(v) = env.get(ENV_MAX_INGEST_BYTES) {
            config.max_ingest_bytes =
                Some(v.parse().with_context(|| format!("{ENV_MAX_INGEST_BYTES}={v:?} is not a number"))?);
        }
    }
    if config.console_dir.is_none() {
        config.console_dir = env.get(ENV_CONSOLE_DIR).filter(|d| !d.is_empty()).map(PathBuf::from);
    }
    if let Some(l) = flags.listen {
        config.listen = Some(l);
    }
    if let Some(d) = &flags.data_dir {
        config.data_dir = Some(d.clone());
    }
    Ok(config.validate()?)
}

fn read_file(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading configuration {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing configuration {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn write_config(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("cairn-config-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn precedence_flags_then_file_then_env_then_defaults() {
        let s = load(&Overrides::default(), &env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), cairn_server::config::DEFAULT_LISTEN);
        assert_eq!(s.data_dir, PathBuf::from("cairn-data"));

        let e = env(&[(ENV_LISTEN, "127.0.0.1:1111"), (ENV_DATA_DIR, "/env/dir")]);
        let s = load(&Overrides::default(), &e).unwrap();
        assert_eq!((s.listen.port(), s.data_dir.clone()), (1111, PathBuf::from("/env/dir")));

        let file = write_config("precedence", "listen = \"127.0.0.1:2222\"\n");
        let flags = Overrides { config: Some(file.clone()), ..Default::default() };
        let s = load(&flags, &e).unwrap();
        assert_eq!((s.listen.port(), s.data_dir.clone()), (2222, PathBuf::from("/env/dir")));

        let flags = Overrides {
            config: Some(file.clone()),
            listen: Some("127.0.0.1:3333".parse().unwrap()),
            data_dir: Some("/flag/dir".into()),
        };
        let s = load(&flags, &e).unwrap();
        assert_eq!((s.listen.port(), s.data_dir), (3333, PathBuf::from("/flag/dir")));
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn the_documented_example_parses() {
        let file = write_config(
            "example",
            r#"
data_dir = "/var/lib/cairn"
[[accounts]]
id = "111111111111"
[[accounts.credentials]]
access_key_id = "AKIAMGMT000000000001"
secret_access_key = "mgmt-secret-0000000000000000000000000000"
principal = "root"
[organization]
id = "o-a1b2c3d4e5"
management_account = "111111111111"
member_accounts = ["222222222222", "444444444444"]
[storage]
kind = "local"
buckets = ["trail-bucket"]
"#,
        );
        let s = load(&Overrides { config: Some(file.clone()), ..Default::default() }, &env(&[])).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/cairn"));
        assert_eq!(s.credentials[0].0, "AKIAMGMT000000000001");
        assert_eq!(s.organization.unwrap().member_accounts.len(), 2);
        assert!(matches!(&s.storage, cairn_server::config::Storage::Local { buckets } if buckets == &["trail-bucket"]));
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        for (name, text) in [("unknown", "listn = \"x\"\n"), ("badaddr", "listen = \"nope\"\n")] {
            let file = write_config(name, text);
            assert!(load(&Overrides { config: Some(file.clone()), ..Default::default() }, &env(&[])).is_err());
            std::fs::remove_file(file).unwrap();
        }
        assert!(load(&Overrides::default(), &env(&[(ENV_LISTEN, "not-an-address")])).is_err());
    }
}
