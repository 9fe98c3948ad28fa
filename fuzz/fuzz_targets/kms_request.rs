//! Fuzz target: `cairn_kms::fuzz::request` (every KMS operation's input, and ciphertext blobs) must not panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_kms::fuzz::request(data));
