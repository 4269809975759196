#!/usr/bin/env bash
# The main job: `sip demo`, two SIP applications exchanging MESSAGEs and
# calling each other on loopback; then a chat over MSRP between two `sip`
# processes (bob: `sip listen --echo`, alice: `sip chat --message`).
# No server, no input, no set-up beyond the Rust toolchain and libopus
# (the Opus codec links the system's; installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pkg-config --exists opus 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopus-dev pkg-config >/dev/null
fi
cargo run --quiet --release --locked --bin sip -- demo "$@"
# With arguments (`--samples`) only `sip demo` runs.
[ "$#" -eq 0 ] || exit 0

sip="${CARGO_TARGET_DIR:-target}/release/sip"
dir=$(mktemp -d)
bob_pid=
cleanup() {
    if [ -n "$bob_pid" ] && kill -0 "$bob_pid" 2>/dev/null; then
        kill "$bob_pid" 2>/dev/null || true
        wait "$bob_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

account() { # user port
    cat <<TOML
local_ip = "127.0.0.1"
default_account = "$1@127.0.0.1"
[sip]
transport_list = ["udp"]
udp_port = $2
[accounts."$1@127.0.0.1"]
enabled = true
registration.enabled = false
TOML
}
account bob 0 >"$dir/bob.toml"
account alice 0 >"$dir/alice.toml"

echo
echo "=== chat over MSRP (TLS): two sip processes"
echo "\$ sip listen --auto-answer --echo --max-calls 1   # bob, in the background"
"$sip" --config "$dir/bob.toml" listen --auto-answer --echo --max-calls 1 \
    </dev/null >"$dir/bob.out" 2>&1 &
bob_pid=$!
for _ in $(seq 100); do
    grep -q '^accounts:' "$dir/bob.out" 2>/dev/null && break
    sleep 0.1
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) (UDP)$/\1/p' "$dir/bob.out")
[ -n "$port" ] || { echo "bob did not start listening:"; cat "$dir/bob.out"; exit 1; }
echo "\$ sip chat sip:bob@127.0.0.1:$port --message 'hello bob, over MSRP'   # alice"
status=0
"$sip" --config "$dir/alice.toml" chat "sip:bob@127.0.0.1:$port" \
    --message "hello bob, over MSRP" --timeout 10 </dev/null | sed 's/^/alice| /' || status=$?
# Bob stops by himself after one call; give him a moment.
for _ in $(seq 50); do
    kill -0 "$bob_pid" 2>/dev/null || break
    sleep 0.1
done
sed 's/^/bob  | /' "$dir/bob.out"
if [ "$status" -ne 0 ] || ! grep -q 'sip:alice@127.0.0.1: hello bob, over MSRP' "$dir/bob.out"; then
    echo "the chat message was not delivered"
    exit 1
fi
echo "the chat message was delivered (alice had the report, bob printed it)"
