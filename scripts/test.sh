#!/usr/bin/env bash
# Runs every test of sipsimple-rs on a fresh machine of this kind:
# formatting, lints, a fuzz smoke of every parser, then all unit, corpus,
# property, differential, engine, TLS, DNS, SIPp and Kamailio interop and
# CLI tests.
# Set-up is done here: toolchain components, SIPp, dnsmasq and Kamailio (apt),
# cargo-fuzz (by scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== set-up"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# Real peers for the interop and DNS tests (Debian packages).
missing=""
command -v sipp >/dev/null 2>&1 || missing="$missing sip-tester"
command -v dnsmasq >/dev/null 2>&1 || missing="$missing dnsmasq-base"
command -v kamailio >/dev/null 2>&1 || missing="$missing kamailio"
ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1 || missing="$missing kamailio-tls-modules"
# Kamailio as the presence server of tests/presence.rs.
ls /usr/lib/*/kamailio/modules/presence.so >/dev/null 2>&1 || missing="$missing kamailio-presence-modules"
command -v baresip >/dev/null 2>&1 || missing="$missing baresip"
# The Bonjour tests run in network namespaces of their own.
command -v unshare >/dev/null 2>&1 || missing="$missing util-linux"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
# ALSA headers for the sound card device (cargo feature sound-card), and
# a sound server for its end-to-end test (no sound card here).
pkg-config --exists alsa 2>/dev/null || missing="$missing libasound2-dev pkg-config"
# libopus for the Opus codec (media links the system's), and spandsp's
# G.722 as the reference our own is checked against.
pkg-config --exists opus 2>/dev/null || missing="$missing libopus-dev pkg-config"
pkg-config --exists spandsp 2>/dev/null || missing="$missing libspandsp-dev"
command -v pulseaudio >/dev/null 2>&1 || missing="$missing pulseaudio"
ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 || missing="$missing libasound2-plugins"
# Desktop sharing's proof (tests/desktop_sharing.rs, sip-cli's
# cli_desktop.rs): a VNC server on a virtual display, a tool that paints
# it, and a real RFB client that captures it.
command -v Xvnc >/dev/null 2>&1 || missing="$missing tigervnc-standalone-server"
command -v xsetroot >/dev/null 2>&1 || missing="$missing x11-xserver-utils"
command -v vncsnapshot >/dev/null 2>&1 || missing="$missing vncsnapshot"
if [ -n "$missing" ]; then
  echo "installing$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# PJSIP 2.15 (the pjsua2 binding, a PyPI wheel) for tests/interop_pjsip.rs.
export SIPSIMPLE_PJ_VENV=${SIPSIMPLE_PJ_VENV:-$HOME/.cache/sipsimple-rs/pjvenv}
if ! "$SIPSIMPLE_PJ_VENV/bin/python" -c "import pjsua2" >/dev/null 2>&1; then
  echo "installing pjsua2 into $SIPSIMPLE_PJ_VENV"
  python3 -m venv "$SIPSIMPLE_PJ_VENV"
  "$SIPSIMPLE_PJ_VENV/bin/pip" install -q pjsua2-python==2.15.1.post1
fi

# A clean clone builds the suite from nothing: incremental caches would only
# double the disk it takes (see the profile notes in Cargo.toml).
export CARGO_INCREMENTAL=0
echo "disk free before the build: $(df -h --output=avail . | tail -1 | tr -d ' ')"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings (default features, then all)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --locked --all-features -- -D warnings

echo "== fuzz smoke (every target, bounded)"
scripts/fuzz.sh --smoke

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # The sound card device's tests again, built with cpal.
  cargo nextest run -p sipsimple --features sound-card --test sound_card --locked
else
  cargo test --workspace --locked --no-fail-fast
  cargo test -p sipsimple --features sound-card --test sound_card --locked
fi
