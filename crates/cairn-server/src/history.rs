//! The event history consumer: reads the journal from its start and feeds every record to event history, within
//! moments of its append; and drops events past the 90-day retention as the clock advances.

use std::sync::Arc;
use std::time::Duration;

use crate::App;

/// Records read per journal batch.
const BATCH_RECORDS: usize = 4096;
const BATCH_BYTES: usize = 16 << 20;
/// How often events past retention are dropped.
const EXPIRE_EVERY: Duration = Duration::from_secs(60);

/// Longest a lookup waits for history to catch up with the journal.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Waits until history has applied every record committed before this call (so a lookup sees every call answered
/// before it), for at most [`CATCH_UP`]; after that the lookup answers from what history has.
pub(crate) async fn catch_up(app: &App) {
    let target = app.journal.committed();
    let mut applied = app.history_applied.subscribe();
    if tokio::time::timeout(CATCH_UP, applied.wait_for(|a| *a >= target)).await.is_err() {
        tracing::warn!(
            target,
            applied = *applied.borrow(),
            "event history is behind the journal; answering from what it has"
        );
    }
}

/// Starts the consumer and the expiry loop on the current runtime.
pub(crate) fn spawn(app: Arc<App>) {
    let consumer = Arc::clone(&app);
    tokio::spawn(async move { consume(consumer).await });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRE_EVERY);
        loop {
            tick.tick().await;
            let dropped = app.history.expire(app.clock.now_millis());
            if dropped > 0 {
                tracing::info!(dropped, "event history dropped events past retention");
            }
        }
    });
}

async fn consume(app: Arc<App>) {
    // History is rebuilt from the journal at every start; it keeps no checkpoint of its own yet, so the journal
    // keeps every segment.
    let mut reader = match app.journal.reader(app.journal.first_seq()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "event history cannot read the journal");
            return;
        }
    };
    loop {
        let (r, batch) = match tokio::task::spawn_blocking(move || {
            let batch = reader.next_batch(BATCH_RECORDS, BATCH_BYTES);
            (reader, batch)
        })
        .await
        {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "event history reader panicked");
                return;
            }
        };
        reader = r;
        match batch {
            Ok(records) if records.is_empty() => {
                app.history_applied.send_replace(reader.position());
                reader.wait().await
            }
            Ok(records) => {
                let now = app.clock.now_millis();
                app.history.insert_batch(records.iter().map(|r| (r.seq, &r.payload[..])), now);
                app.history_applied.send_replace(reader.position());
            }
            Err(e) => {
                // A corrupt or unreadable journal must be looked at; retrying keeps the rest of cairn serving.
                tracing::error!(error = %e, position = reader.position(), "event history cannot read the journal");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}
