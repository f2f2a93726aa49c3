#!/usr/bin/env bash
# The whole test suite: installs the system tools the tests drive, then runs
# formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# Benchmarks are compiled by clippy above and run by `cargo bench`, not here.
cargo test --lib --bins --tests --locked
