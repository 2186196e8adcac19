//! Definitions import on arbitrary JSON (`warren::fuzzing::definitions`).
//! Nothing may panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warren::fuzzing::definitions(data));
