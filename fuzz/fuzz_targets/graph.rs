#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| catalyst_fuzz::graph(data));
