//! Fuzz target: `cairn_integrity::fuzz::digest_files` (digest objects, log files and their records) must not panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_integrity::fuzz::digest_files(data));
