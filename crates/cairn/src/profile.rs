//! AWS CLI-style settings for the client commands: `~/.aws/credentials` and `~/.aws/config` profiles (INI files),
//! resolved in the AWS CLI's order: flags, then environment variables, then the profile, then cairn's defaults.

use std::collections::HashMap;
use std::path::Path;

/// The `key = value` pairs of one section of an AWS INI file; missing files and sections are empty.
pub fn section(path: &Path, name: &str) -> HashMap<String, String> {
    std::fs::read_to_string(path).map(|text| parse(&text, name)).unwrap_or_default()
}

/// The pairs of section `[name]` of `text` (keys lowercased; nested sub-settings are skipped).
pub fn parse(text: &str, name: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let (k, v) = (k.trim(), v.trim());
            if !v.is_empty() {
                out.insert(k.to_ascii_lowercase(), v.to_string());
            }
        }
    }
    out
}

/// The config file's section name for a profile: `default`, or `profile <name>`.
pub fn config_section(profile: &str) -> String {
    if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_read_as_the_aws_cli_reads_them() {
        let text = "# comment\n[default]\naws_access_key_id = AKIADEFAULT\n\n[profile audit]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:4573\ns3 =\n  addressing_style = path\n[audit]\naws_access_key_id=AKIAAUDIT\naws_secret_access_key = s3cr3t=with=equals\n";
        assert_eq!(parse(text, "default")["aws_access_key_id"], "AKIADEFAULT");
        let audit = parse(text, "audit");
        assert_eq!(audit["aws_access_key_id"], "AKIAAUDIT");
        assert_eq!(audit["aws_secret_access_key"], "s3cr3t=with=equals");
        let config = parse(text, &config_section("audit"));
        assert_eq!(config["region"], "eu-west-1");
        assert_eq!(config["endpoint_url"], "http://127.0.0.1:4573");
        assert!(!config.contains_key("s3"));
        assert!(parse(text, "missing").is_empty());
        assert_eq!(config_section("default"), "default");
    }
}
