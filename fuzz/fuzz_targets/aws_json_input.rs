//! Fuzz target: `cairn_api::fuzz_targets::aws_json_input` must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_api::fuzz_targets::aws_json_input(data));
