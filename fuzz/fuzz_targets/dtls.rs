#![no_main]
//! Fuzz target `dtls`: see `tests/support/harness.rs` for what it feeds where.

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::dtls(data));
