#![no_main]
opsta_lint_fuzz::target!(opsta_lint_fuzz::mask);
