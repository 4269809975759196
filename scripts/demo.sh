#!/usr/bin/env bash
# The main job: `sip demo`, two SIP applications exchanging MESSAGEs on loopback.
# No server, no input, no set-up beyond the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release --locked --bin sip -- demo "$@"
