//! The entry point of the `filter_pattern` fuzz target in `fuzz/` (cargo-fuzz), shared with the deterministic
//! mutation test below so that every test run exercises it: parsing any text as a filter pattern, and matching
//! whatever parses against events made from the same text, must never panic.

use crate::FilterPattern;

/// Parses `data` as a pattern; when it parses, matches it against a text event, a space-delimited one and JSON ones,
/// and reads the values a metric filter would.
pub fn filter_pattern(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(pattern) = FilterPattern::parse(&text) else { return };
    let tail: String = text.chars().rev().take(60).collect();
    let events = [
        text.to_string(),
        tail.clone(),
        format!("127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \"GET /{tail} HTTP/1.0\" 404 1534"),
        serde_json::json!({"a": {"b": [1, "x", null, true, {"c": tail}]}, "n": -1.5e3, "s": tail}).to_string(),
        r#"{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"},"errorCode":"AccessDenied","n":400}"#.to_string(),
        "[\"unclosed \"quote".to_string(),
    ];
    for event in &events {
        if let Some(m) = pattern.matches(event) {
            for (name, _) in m.extracted.clone() {
                let _ = m.value(&name);
            }
            for reference in ["$.a.b[4].c", "$.n", "$.*", "$", "$.", "$1", &tail] {
                let _ = m.value(reference);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    const SEEDS: &[&[u8]] = &[
        br#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress != "delivery.logs.amazonaws.com") }"#,
        br#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
        br#"{ $.a.b[*] = %x.{1,2}% || $.n >= -1e3 || $.['c.d'] IS NULL || $.* IS TRUE }"#,
        br#"[ip, user, ..., request = "*html*", status_code = 4* || status_code = 5*, bytes > 1000]"#,
        br#"[(ip != 10.* && ip != 192.*) || ip = %127\.0\.0\.[1-9]%, , w3]"#,
        br#"?ERROR ?WARN "quoted \" phrase" -%[Ee]xit{2,}% _under"#,
    ];

    #[test]
    fn the_target_survives_mutated_seeds() {
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut parsed = 0;
        for _ in 0..20_000 {
            let mut input = SEEDS[next() as usize % SEEDS.len()].to_vec();
            for _ in 0..(next() % 4 + 1) {
                let len = input.len().max(1);
                match next() % 5 {
                    0 if !input.is_empty() => {
                        let i = next() as usize % input.len();
                        input[i] ^= 1 << (next() % 8);
                    }
                    1 => input.truncate(next() as usize % len),
                    2 => input.insert(next() as usize % len.min(input.len() + 1), next() as u8),
                    3 => {
                        let other = SEEDS[next() as usize % SEEDS.len()];
                        let at = next() as usize % other.len();
                        input.extend_from_slice(&other[at..]);
                    }
                    _ => {
                        let i = next() as usize % len.min(input.len() + 1);
                        let c = b"{}[]()\"%$.*&|!=<>?- ,"[next() as usize % 21];
                        input.insert(i, c);
                    }
                }
            }
            if crate::FilterPattern::parse(&String::from_utf8_lossy(&input)).is_ok() {
                parsed += 1;
            }
            super::filter_pattern(&input);
        }
        // The mutations must reach the matcher, not only the parser's refusals.
        assert!(parsed > 1_000, "only {parsed} mutated patterns parsed");
    }
}
