//! Fuzz target: SQL statements over event history (the query API's entry: parsing, planning and running).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cairn_store::fuzz::history_sql(data);
});
