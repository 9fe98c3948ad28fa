//! Fuzz target: `cairn_api::fuzz_targets::wire_request` (RPC v2 CBOR and query protocol bodies) must not panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_api::fuzz_targets::wire_request(data));
