#!/usr/bin/env bash
# The main job: the `sip` command's demo on embedded sample messages.
# No server, no input, no set-up beyond the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release --locked --bin sip -- demo "$@"
