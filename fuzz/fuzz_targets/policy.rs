//! Fuzz target: `cairn_policy::fuzz::policy` (policy parsing and evaluation) must not panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_policy::fuzz::policy(data));
