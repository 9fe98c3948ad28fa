//! Fuzz target: CloudTrail Lake statements (StartQuery's entry: store ids, the Trino dialect pass, planning and
//! running).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cairn_store::fuzz::lake_sql(data);
});
