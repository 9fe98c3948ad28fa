//! The filter pattern benchmark: matching the CIS metric filter patterns against a stream of realistic CloudTrail
//! records (as a log group with those metric filters matches each event a trail sends it), against the floor of
//! parsing the same records with serde_json and nothing else. Both run on one thread over records held in memory.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use cairn_logs::{FilterPattern, LogEvent};

/// The patterns of the TSV (`id`, `name`, `pattern` columns, a header line).
fn patterns(tsv: &Path) -> Result<Vec<(String, FilterPattern)>> {
    let text = std::fs::read_to_string(tsv).with_context(|| format!("reading {}", tsv.display()))?;
    let mut out = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [id, _, pattern] = cols[..] else { bail!("{} has a line without three columns: {line}", tsv.display()) };
        out.push((id.to_string(), FilterPattern::parse(pattern).with_context(|| format!("pattern {id}"))?));
    }
    Ok(out)
}

fn best(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        result = f();
        best = best.min(start.elapsed());
    }
    (best, result)
}

pub fn bench(tsv: &Path, records: usize, runs: usize) -> Result<()> {
    let patterns = patterns(tsv)?;
    let messages: Vec<String> = (0..records).map(|i| crate::records::record(i).to_string()).collect();
    let bytes: usize = messages.iter().map(String::len).sum();
    let (floor, parsed) = best(runs, || {
        messages.iter().filter(|m| black_box(serde_json::from_str::<serde_json::Value>(m)).is_ok()).count()
    });
    let mut hits = vec![0usize; patterns.len()];
    let (matching, _) = best(runs, || {
        hits.iter_mut().for_each(|h| *h = 0);
        for m in &messages {
            let event = LogEvent::new(m);
            for (i, (_, p)) in patterns.iter().enumerate() {
                if black_box(p.matches_event(&event)).is_some() {
                    hits[i] += 1;
                }
            }
        }
        hits.iter().sum()
    });
    if parsed != records {
        bail!("only {parsed} of {records} records parsed");
    }
    let rate = |d: Duration| records as f64 / d.as_secs_f64();
    println!(
        "{records} records ({:.0} MiB), {} patterns, best of {runs} runs on one thread",
        bytes as f64 / 1048576.0,
        patterns.len()
    );
    println!("floor (serde_json parse only): {:>12.0} records/s", rate(floor));
    println!("cairn (parse + {} patterns):   {:>12.0} records/s", patterns.len(), rate(matching));
    println!("ratio cairn/floor: {:.2} (goal: at least 0.5)", rate(matching) / rate(floor));
    for ((id, _), n) in patterns.iter().zip(&hits) {
        println!("  {id:<14} matched {n}");
    }
    Ok(())
}
