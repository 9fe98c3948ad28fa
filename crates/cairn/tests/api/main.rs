//! Integration tests: the real `cairn` binary driven by the official AWS SDK for Rust and the official signer.

mod audit;
mod buckets;
mod channels;
mod common;
mod console;
mod dashboards;
mod delivery;
mod event_size;
mod ingest;
mod integrity;
mod kms;
mod lake;
mod lake_kms;
mod lifecycle;
mod logs;
mod lookup;
mod monitoring;
mod offline;
mod organizations;
mod protocol;
mod query;
mod recorded;
mod selectors;
mod sse;
mod tags;
mod trails;
