//! Fuzz target: event history's index files (the on-disk lookup index beside each Parquet file).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("cairn-fuzz-index-{}", std::process::id()));
    cairn_store::fuzz::history_index(&path, data);
});
