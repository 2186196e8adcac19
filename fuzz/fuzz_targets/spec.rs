//! The spec pipeline on arbitrary bytes (`warren::fuzzing::spec`): load,
//! compile, check, render. Nothing may panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warren::fuzzing::spec(data));
