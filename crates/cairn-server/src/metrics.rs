//! `GET /metrics`: journal consumers, trail deliveries and the CloudWatch metrics metric filters publish, in the
//! Prometheus text format. Unauthenticated, so it
//! answers only callers on the loopback interface.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::App;

pub(crate) const PATH: &str = "/metrics";

pub(crate) async fn handle(State(app): State<Arc<App>>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    if !peer.ip().is_loopback() {
        return (StatusCode::FORBIDDEN, "metrics are served to loopback callers only\n").into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render(&app)).into_response()
}

/// Escapes a label value as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

pub(crate) fn render(app: &App) -> String {
    let mut out = String::new();
    let committed = app.journal.committed();
    family(&mut out, "cairn_journal_committed_records", "counter", "Records durable in the journal.");
    let _ = writeln!(out, "cairn_journal_committed_records {committed}");
    family(
        &mut out,
        "cairn_history_duplicates_skipped_total",
        "counter",
        "Records event history skipped because it held one with the same account, region, eventID and eventTime.",
    );
    let _ = writeln!(out, "cairn_history_duplicates_skipped_total {}", app.history.duplicates_skipped());
    family(
        &mut out,
        "cairn_lake_events_dropped_total",
        "counter",
        "Events of encrypted event data stores dropped at flush because the store's KMS key could not be used.",
    );
    let _ = writeln!(out, "cairn_lake_events_dropped_total {}", app.lake_dropped.load(Ordering::Relaxed));

    let consumers = app.consumers.snapshot();
    family(
        &mut out,
        "cairn_consumer_lag_records",
        "gauge",
        "Journal records not yet durable in the consumer's output.",
    );
    for (name, s) in &consumers {
        let lag = committed.saturating_sub(s.checkpoint.load(Ordering::Relaxed));
        let _ = writeln!(out, "cairn_consumer_lag_records{{consumer=\"{}\"}} {lag}", label(name));
    }
    family(&mut out, "cairn_consumer_position_records", "gauge", "Next journal record the consumer reads.");
    for (name, s) in &consumers {
        let _ = writeln!(
            out,
            "cairn_consumer_position_records{{consumer=\"{}\"}} {}",
            label(name),
            s.position.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "cairn_consumer_errors_total",
        "counter",
        "Failures of the consumer (reads, output, checkpoints).",
    );
    for (name, s) in &consumers {
        let _ = writeln!(
            out,
            "cairn_consumer_errors_total{{consumer=\"{}\"}} {}",
            label(name),
            s.errors_total.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "cairn_consumer_last_success_timestamp_seconds",
        "gauge",
        "When the consumer last made progress durable.",
    );
    for (name, s) in &consumers {
        let at = s.last_success_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = writeln!(out, "cairn_consumer_last_success_timestamp_seconds{{consumer=\"{}\"}} {at}", label(name));
    }
    family(&mut out, "cairn_consumer_failing", "gauge", "1 while the consumer's last attempt failed.");
    for (name, s) in &consumers {
        let failing = u8::from(s.last_error().is_some());
        let _ = writeln!(out, "cairn_consumer_failing{{consumer=\"{}\"}} {failing}", label(name));
    }

    let trails = app.deliveries.all();
    let lag_of = |arn: &str| {
        app.consumers
            .get(&crate::delivery::consumer_name(arn))
            .map(|s| committed.saturating_sub(s.checkpoint.load(Ordering::Relaxed)))
    };
    family(
        &mut out,
        "cairn_trail_delivery_lag_records",
        "gauge",
        "Journal records the trail has not yet delivered or passed.",
    );
    for (arn, _) in &trails {
        if let Some(lag) = lag_of(arn) {
            let _ = writeln!(out, "cairn_trail_delivery_lag_records{{trail=\"{}\"}} {lag}", label(arn));
        }
    }
    type Counter = (&'static str, &'static str, fn(&cairn_delivery::DeliveryStatus) -> u64);
    let counters: [Counter; 3] = [
        ("cairn_trail_delivered_files_total", "Log files delivered.", |d| d.delivered_files),
        ("cairn_trail_delivered_events_total", "Events delivered in log files.", |d| d.delivered_events),
        ("cairn_trail_delivery_failures_total", "Failed attempts to write a log file.", |d| d.failed_attempts),
    ];
    for (name, help, value) in counters {
        family(&mut out, name, "counter", help);
        for (arn, d) in &trails {
            let _ = writeln!(out, "{name}{{trail=\"{}\"}} {}", label(arn), value(d));
        }
    }
    family(
        &mut out,
        "cairn_trail_delivery_error",
        "gauge",
        "1 with the storage's error code while the trail's last delivery attempt failed.",
    );
    for (arn, d) in &trails {
        if let Some(code) = &d.latest_error {
            let _ = writeln!(out, "cairn_trail_delivery_error{{trail=\"{}\",code=\"{}\"}} 1", label(arn), label(code));
        }
    }
    family(
        &mut out,
        "cairn_trail_last_delivery_timestamp_seconds",
        "gauge",
        "When the trail last delivered a log file.",
    );
    for (arn, d) in &trails {
        if let Some(at) = d.latest_delivery_ms {
            let _ = writeln!(
                out,
                "cairn_trail_last_delivery_timestamp_seconds{{trail=\"{}\"}} {}",
                label(arn),
                at as f64 / 1000.0
            );
        }
    }
    cloudwatch(&mut out, app);
    out
}

/// What metric filters published, per CloudWatch metric, as counters a Prometheus server can alert on with `rate()`.
fn cloudwatch(out: &mut String, app: &App) {
    let totals = match app.metrics.totals() {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read CloudWatch metric totals for /metrics");
            return;
        }
    };
    let labels = |s: &cairn_metrics::Series| {
        format!(
            "account=\"{}\",region=\"{}\",namespace=\"{}\",metric=\"{}\",dimensions=\"{}\"",
            label(&s.account),
            label(&s.region),
            label(&s.namespace),
            label(&s.name),
            label(&s.dimensions_text())
        )
    };
    family(
        out,
        "cairn_cloudwatch_metric_samples_total",
        "counter",
        "Datapoints published to the CloudWatch metric (by metric filters).",
    );
    for (series, samples, _) in &totals {
        let _ = writeln!(out, "cairn_cloudwatch_metric_samples_total{{{}}} {samples}", labels(series));
    }
    family(
        out,
        "cairn_cloudwatch_metric_sum_total",
        "counter",
        "Sum of the values published to the CloudWatch metric.",
    );
    for (series, _, sum) in &totals {
        let _ = writeln!(out, "cairn_cloudwatch_metric_sum_total{{{}}} {sum}", labels(series));
    }
}
