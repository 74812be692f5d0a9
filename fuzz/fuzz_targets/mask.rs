#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| opsta_lint_fuzz::mask(data));
