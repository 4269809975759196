#!/usr/bin/env bash
# Runs every cargo-fuzz target (SIP, SDP, RTP, MSRP, CPIM, XML and presence
# payloads) for a bounded time.
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 300        # 300 s per target
#   scripts/fuzz.sh --smoke    # 10 s per target, fixed seed (what CI runs)
#   FUZZ_TARGETS="uri headers" scripts/fuzz.sh 30
#
# Seeds come from the RFC 4475 corpus and the crates' test data. Crashes land
# in fuzz/artifacts/<target>/ and make the script exit non-zero. Installs
# cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=60
# The smoke run (CI) uses a fixed seed so that a pass or a fail reproduces
# from the same clone; longer runs draw a new seed each time to explore.
seed=()
case "${1:-}" in
  --smoke) secs=10; seed=(-seed=1) ;;
  "") ;;
  *) secs="$1" ;;
esac
targets=${FUZZ_TARGETS:-"message stream uri headers multipart sdp rtp codec invite msrp msrp_session msrp_demux msrp_uri cpim payload_xml subscription publication presence srtp"}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# cargo-fuzz needs nightly rustc flags; use a nightly toolchain when there is
# one, else let the stable compiler accept them (same compiler, gated flags).
if rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz=(rustup run nightly cargo fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

seed_dir=crates/sip-proto/tests/data/rfc4475
for t in $targets; do
  mkdir -p "fuzz/corpus/$t"
  case $t in
    message|stream|invite) cp -n "$seed_dir"/*.dat "fuzz/corpus/$t/" ;;
    sdp) cp -n crates/sdp/tests/data/*.sdp "fuzz/corpus/$t/" ;;
    msrp|msrp_session|msrp_demux) cp -n crates/msrp-proto/tests/data/*.msrp "fuzz/corpus/$t/" 2>/dev/null || true ;;
    cpim) cp -n crates/payloads/tests/data/*.cpim "fuzz/corpus/$t/" 2>/dev/null || true ;;
    # The crash that a CI run found (an element name `a/`), kept as a seed.
    payload_xml)
      printf '<a/ >x</a/>' >"fuzz/corpus/$t/name-with-slash.xml"
      # The RFC 5025 and RFC 4745 rulesets seed the pres-rules round trip.
      for f in crates/payloads/tests/data/pres_rules/*; do
        cp -n "$f" "fuzz/corpus/$t/pres_rules-$(basename "$f")" 2>/dev/null || true
      done ;;
    # A Subscription-State value, then a NOTIFY the subscriber core matches.
    subscription) printf 'terminated;reason=probation;retry-after=30\0NOTIFY sip:a@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bKn1\r\nFrom: <sip:b@example.test>;tag=nt\r\nTo: <sip:a@example.test>;tag=ft\r\nCall-ID: fuzz\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\nContact: <sip:b@127.0.0.1:5061>\r\nEvent: presence\r\nSubscription-State: active;expires=600\r\nContent-Length: 0\r\n\r\n' >"fuzz/corpus/$t/notify.dat" ;;
    # Responses to PUBLISH (two status bytes, a header byte, its value;
    # no NUL inside a piece): 401 with a challenge, 200 with an entity
    # tag, 423 with Min-Expires, 412, 503 with Retry-After.
    publication) printf '\x01\x2d\x04Digest realm="r", nonce="n"\0\x02\xbc\x06et1\0\x01\x43\x021200\0\x01\x38\x06x\0\x01\x93\x0330' >"fuzz/corpus/$t/rounds.bin" ;;
    # Packets libsrtp protected (the vectors of crates/media/tests/srtp.rs).
    srtp) python3 -c '
import sys
for n, line in enumerate(open("crates/media/tests/data/srtp_vectors.txt")):
    f = line.split()
    if f[0] in ("rtp", "rtcp"):
        open(f"fuzz/corpus/srtp/{f[0]}-{n}.bin", "wb").write(bytes.fromhex(f[2]))
' ;;
    presence)
      for d in pidf watcherinfo dialog_info resource_lists rlmi message_summary; do
        for f in crates/payloads/tests/data/"$d"/*; do
          cp -n "$f" "fuzz/corpus/$t/$d-$(basename "$f")" 2>/dev/null || true
        done
      done ;;
  esac
done

status=0
mkdir -p target/fuzz-logs
for t in $targets; do
  echo "== fuzz $t for ${secs}s"
  log="target/fuzz-logs/$t.log"
  if "${fuzz[@]}" run "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" "${seed[@]}" -max_len=8192 -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^Done [0-9]+ runs" "$log" || true
  else
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" || tail -20 "$log"
    echo "!! fuzz target $t failed: see $log and fuzz/artifacts/$t/"
    status=1
  fi
done
exit $status
