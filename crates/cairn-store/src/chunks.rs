//! Events not yet in files, kept in chunks that are converted to Arrow at most once: the first query that reads a
//! sealed chunk converts it and leaves the batch for the queries after it, so a query's cost does not grow with the
//! number of recent events it has to convert again (event history's tail holds up to 64 MiB of records by default).
//!
//! Only the open chunk, the newest events, is converted by every query. Dropping events (a flush, an expiry) keeps
//! the chunks that lose none, with their batches, and rebuilds the others from what stays.

use std::sync::{Arc, OnceLock};

use arrow_array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;

use crate::Result;

/// Events a chunk takes before it is sealed.
pub const CHUNK_EVENTS: usize = 4096;

/// An event with an eventTime in milliseconds.
pub trait Timed {
    fn time_ms(&self) -> i64;
}

/// Sealed events and their batch, once a query has converted them.
#[derive(Debug)]
struct Chunk<E> {
    events: Vec<E>,
    /// The lowest and highest eventTime held.
    times: (i64, i64),
    batch: OnceLock<RecordBatch>,
}

impl<E: Timed> Chunk<E> {
    fn new(events: Vec<E>) -> Arc<Chunk<E>> {
        let times = events.iter().map(Timed::time_ms).fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        Arc::new(Chunk { events, times, batch: OnceLock::new() })
    }
}

/// Events in arrival order: sealed chunks, then the open one. A query reads a [`View`] of them; the chunks
/// themselves are a view of everything, changed only here.
#[derive(Debug)]
pub struct Chunks<E>(View<E>);

impl<E> Default for Chunks<E> {
    fn default() -> Chunks<E> {
        Chunks(View::default())
    }
}

impl<E: Timed + Clone> Chunks<E> {
    pub fn push(&mut self, event: E) {
        let all = &mut self.0;
        all.open.push(event);
        if all.open.len() >= CHUNK_EVENTS {
            all.sealed.push(Chunk::new(std::mem::take(&mut all.open)));
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.0.iter()
    }

    /// Keeps the events `keep` keeps. A chunk that keeps all of them keeps its batch; one that keeps some is
    /// rebuilt from those, to be converted again when next read.
    pub fn retain(&mut self, keep: impl Fn(&E) -> bool) {
        let all = &mut self.0;
        all.sealed = std::mem::take(&mut all.sealed)
            .into_iter()
            .filter_map(|c| {
                let kept = c.events.iter().filter(|e| keep(e)).count();
                match kept {
                    0 => None,
                    n if n == c.events.len() => Some(c),
                    _ => Some(Chunk::new(c.events.iter().filter(|e| keep(e)).cloned().collect())),
                }
            })
            .collect();
        all.open.retain(|e| keep(e));
    }

    /// The events that may have an eventTime of `low` or later, as of now, for a query.
    pub fn view(&self, low: i64) -> View<E> {
        View {
            sealed: self.0.sealed.iter().filter(|c| c.times.1 >= low).cloned().collect(),
            open: self.0.open.iter().filter(|e| e.time_ms() >= low).cloned().collect(),
        }
    }
}

/// What a query reads of some [`Chunks`]: the sealed chunks it holds stay readable whatever happens to the
/// chunks after it was taken.
#[derive(Debug, Clone)]
pub struct View<E> {
    sealed: Vec<Arc<Chunk<E>>>,
    open: Vec<E>,
}

impl<E> Default for View<E> {
    fn default() -> View<E> {
        View { sealed: Vec::new(), open: Vec::new() }
    }
}

impl<E: Timed + Clone> View<E> {
    /// A view of events no chunk holds (each query converts them).
    pub fn of(events: Vec<E>) -> View<E> {
        View { sealed: Vec::new(), open: events }
    }

    pub fn len(&self) -> usize {
        self.sealed.iter().map(|c| c.events.len()).sum::<usize>() + self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.open.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.sealed.iter().flat_map(|c| c.events.iter()).chain(&self.open)
    }

    /// The events with an eventTime in `low..=high` as batches, sealed chunks converted by `convert` only when no
    /// query has converted them before. Open events are converted in pieces of at most [`CHUNK_EVENTS`].
    pub fn batches(
        &self,
        low: i64,
        high: i64,
        convert: impl Fn(&[E]) -> Result<RecordBatch>,
    ) -> Result<Vec<RecordBatch>> {
        let within = |e: &E| (low..=high).contains(&e.time_ms());
        let mut batches = Vec::new();
        for c in &self.sealed {
            if c.times.1 < low || c.times.0 > high {
                continue;
            }
            let batch = match c.batch.get() {
                Some(b) => b.clone(),
                None => {
                    // Two queries may convert the same chunk at once; the first to finish leaves its batch.
                    let b = convert(&c.events)?;
                    c.batch.get_or_init(|| b).clone()
                }
            };
            if batch.num_rows() != c.events.len() {
                // The filter below pairs rows with events: a converter that left a record out cannot be read here.
                let counts = format!("{} events converted to {} rows", c.events.len(), batch.num_rows());
                return Err(crate::Error::Engine(format!("recent events cannot be read: {counts}")));
            }
            if low <= c.times.0 && c.times.1 <= high {
                batches.push(batch);
            } else {
                let mask: BooleanArray = c.events.iter().map(|e| Some(within(e))).collect();
                batches.push(filter_record_batch(&batch, &mask)?);
            }
        }
        let open: Vec<E> = self.open.iter().filter(|e| within(e)).cloned().collect();
        for piece in open.chunks(CHUNK_EVENTS) {
            batches.push(convert(piece)?);
        }
        Ok(batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int64Array};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Clone, PartialEq)]
    struct E(i64);

    impl Timed for E {
        fn time_ms(&self) -> i64 {
            self.0
        }
    }

    fn times(batches: &[RecordBatch]) -> Vec<i64> {
        let column = |b: &RecordBatch| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec();
        batches.iter().flat_map(column).collect()
    }

    #[test]
    fn sealed_chunks_convert_once_and_keep_their_batch_while_they_lose_nothing() {
        let converted = AtomicUsize::new(0);
        let convert = |events: &[E]| {
            converted.fetch_add(events.len(), Ordering::Relaxed);
            let column = Int64Array::from(events.iter().map(|e| e.0).collect::<Vec<_>>());
            Ok(RecordBatch::try_from_iter([("t", Arc::new(column) as Arc<dyn Array>)])?)
        };
        let mut chunks = Chunks::default();
        let n = CHUNK_EVENTS as i64 * 2 + 10;
        for t in 0..n {
            chunks.push(E(t));
        }
        assert_eq!(chunks.len(), n as usize);
        let all = chunks.view(i64::MIN).batches(i64::MIN, i64::MAX, convert).unwrap();
        assert_eq!(times(&all), (0..n).collect::<Vec<_>>());
        assert_eq!(converted.load(Ordering::Relaxed), n as usize);
        // Again: only the open chunk is converted.
        chunks.view(i64::MIN).batches(i64::MIN, i64::MAX, convert).unwrap();
        assert_eq!(converted.load(Ordering::Relaxed), n as usize + 10);
        // Bounds inside a sealed chunk filter its batch; chunks wholly outside are not read.
        let some = chunks.view(100).batches(100, 199, convert).unwrap();
        assert_eq!(times(&some), (100..200).collect::<Vec<_>>());
        assert_eq!(converted.load(Ordering::Relaxed), n as usize + 10);
        // A view taken before a retain still reads what it held.
        let before = chunks.view(i64::MIN);
        // Dropping the first 100 rebuilds the first chunk only.
        chunks.retain(|e| e.0 >= 100);
        assert_eq!(chunks.len(), n as usize - 100);
        converted.store(0, Ordering::Relaxed);
        let after = chunks.view(i64::MIN).batches(i64::MIN, i64::MAX, convert).unwrap();
        assert_eq!(times(&after), (100..n).collect::<Vec<_>>());
        assert_eq!(converted.load(Ordering::Relaxed), CHUNK_EVENTS - 100 + 10);
        assert_eq!(times(&before.batches(i64::MIN, i64::MAX, convert).unwrap()), (0..n).collect::<Vec<_>>());
        chunks.retain(|_| false);
        assert!(chunks.is_empty() && chunks.view(i64::MIN).is_empty());
    }
}
