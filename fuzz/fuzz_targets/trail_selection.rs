//! Fuzz target: `cairn_api::fuzz_targets::trail_selection` (record parsing and trail selection) must not panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_api::fuzz_targets::trail_selection(data));
