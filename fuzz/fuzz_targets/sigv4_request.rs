//! Fuzz target: `cairn_api::fuzz_targets::sigv4_request` must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_api::fuzz_targets::sigv4_request(data));
