//! Invariants of trail selection over whole CloudTrail records: the project's own fixtures always, and the real
//! records of the reference folder when this machine has it.
//!
//! The reference folder (`CAIRN_REFERENCE_DIR`, else `shared/reference` beside the repository) is optional: the
//! project passes its tests without it, and the rules themselves are covered by the fixture tables in `select.rs`.
//! When present, every record it holds that [`EventView::parse`] accepts must obey the invariants below.

use std::fs;
use std::path::{Path, PathBuf};

use cairn_model::{AdvancedEventSelector, EventSelectors, EventView, Trail};
use serde_json::{json, Value};

/// The project's own records, relative to the package.
const FIXTURE_DIR: &str = "tests/fixtures/records";
/// The shared reference folder beside the repository, relative to the package.
const DEFAULT_REFERENCE_DIR: &str = "../../../shared/reference";
/// The folders of the reference folder that hold record and log files.
const REFERENCE_RECORD_DIRS: [&str; 2] = ["sample-logs", "aws-docs-examples/json"];

/// The package's directory, read when the test runs: cargo and nextest set it, and a compile-time path would be
/// stale when a shared target directory reuses a build made in another checkout.
fn package_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo and nextest"))
}

fn reference_dir() -> PathBuf {
    std::env::var_os("CAIRN_REFERENCE_DIR").map_or_else(|| package_dir().join(DEFAULT_REFERENCE_DIR), PathBuf::from)
}

/// Every `*.json` file under `dir`, recursively, in a stable order; files whose name contains ".invalid" are left
/// out (they are not strict JSON).
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".json") && !name.contains(".invalid") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The records of one file: a single record, a JSON array of records, or a log file (`{"Records": [...]}`).
/// `None` when the file is not JSON.
fn records(path: &Path) -> Option<Vec<Value>> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some(match v {
        Value::Array(records) => records,
        Value::Object(mut o) if o.get("Records").is_some_and(Value::is_array) => match o.remove("Records") {
            Some(Value::Array(records)) => records,
            _ => unreachable!(),
        },
        other => vec![other],
    })
}

fn trail(account: &str, home_region: &str, multi_region: bool, selectors: EventSelectors) -> Trail {
    Trail {
        is_multi_region_trail: multi_region,
        event_selectors: selectors,
        has_custom_event_selectors: true,
        ..Trail::new(account, "invariants", home_region, "cairn-example-trail-logs")
    }
}

/// An advanced selector on the event's category and name, with `name_operator` ("Equals" or "NotEquals").
fn category_and_name(e: &EventView, name_operator: &str) -> EventSelectors {
    let selectors: Vec<AdvancedEventSelector> = serde_json::from_value(json!([{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": [e.event_category]},
        {"Field": "eventName", name_operator: [e.event_name]},
    ]}]))
    .unwrap();
    EventSelectors::Advanced(selectors)
}

/// A region other than `region`.
fn other_region(region: &str) -> &'static str {
    if region == "ap-southeast-2" {
        "sa-east-1"
    } else {
        "ap-southeast-2"
    }
}

/// Checks the invariants over one record; `where_` names it in failures.
fn check(e: &EventView, where_: &str) {
    let management = e.event_category == "Management" && e.management_event;
    let never =
        |_: &str| -> bool { panic!("{where_}: a trail that is not an organization trail asked about membership") };
    let selected = category_and_name(e, "Equals");
    let other_name = category_and_name(e, "NotEquals");

    assert_eq!(EventSelectors::default().selects(e), management, "{where_}: default selectors, {e:?}");
    if e.event_category == "Insight" {
        // Insight events are delivered by insight selectors, never selected by event selectors.
        assert!(!selected.selects(e), "{where_}: an insight event was selected, {e:?}");
    } else {
        assert!(selected.selects(e), "{where_}: eventCategory and eventName Equals, {e:?}");
    }
    assert!(!other_name.selects(e), "{where_}: eventName NotEquals its name, {e:?}");

    let account = &e.recipient_account_id;
    let multi = trail(account, other_region(&e.aws_region), true, EventSelectors::default());
    assert_eq!(multi.takes(e, never), management, "{where_}: multi-region trail with default selectors, {e:?}");
    for selectors in [EventSelectors::default(), selected] {
        let elsewhere = trail(account, other_region(&e.aws_region), false, selectors);
        assert!(!elsewhere.takes(e, never), "{where_}: single-region trail in another region, {e:?}");
    }
}

/// Checks every routable record of the files; returns (files read, records read, records checked).
fn check_files(files: &[PathBuf]) -> (usize, usize, usize) {
    let (mut read, mut seen, mut checked) = (0, 0, 0);
    for path in files {
        let Some(records) = records(path) else { continue };
        read += 1;
        for (i, record) in records.iter().enumerate() {
            seen += 1;
            let Some(e) = EventView::parse(&serde_json::to_vec(record).unwrap()) else { continue };
            check(&e, &format!("{} record {i}", path.display()));
            checked += 1;
        }
    }
    (read, seen, checked)
}

#[test]
fn fixture_records_keep_the_invariants() {
    let dir = package_dir().join(FIXTURE_DIR);
    let files = json_files(&dir);
    assert!(!files.is_empty(), "no fixtures under {}", dir.display());
    let (read, _, checked) = check_files(&files);
    assert_eq!(read, files.len(), "every fixture is JSON");
    // All but the insight event and the legacy log file are routable.
    assert_eq!(checked, files.len() - 2);
}

#[test]
fn reference_records_keep_the_invariants() {
    let dir = reference_dir();
    if !dir.is_dir() {
        println!(
            "reference folder {} is absent: checked nothing (the project's fixtures cover the rules)",
            dir.display()
        );
        return;
    }
    let files: Vec<PathBuf> = REFERENCE_RECORD_DIRS.iter().flat_map(|d| json_files(&dir.join(d))).collect();
    let (read, seen, checked) = check_files(&files);
    println!(
        "reference folder {}: {} JSON files ({} others skipped), {seen} records, {checked} checked",
        dir.display(),
        read,
        files.len() - read
    );
    assert!(checked > 0, "the reference folder {} holds no routable record", dir.display());
}
