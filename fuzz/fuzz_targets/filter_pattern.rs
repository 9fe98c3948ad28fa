//! Fuzz target: `cairn_logs::fuzz::filter_pattern` must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_logs::fuzz::filter_pattern(data));
