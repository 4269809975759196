"""Writes srtp_vectors.txt: RTP and RTCP packets protected by libsrtp
(through pylibsrtp 1.0.0, PyPI), the oracle for tests/srtp.rs. Run:
python3 -m venv v && v/bin/pip install pylibsrtp==1.0.0 && v/bin/python make_srtp_vectors.py

Each block: the suite, the master key||salt (hex), then lines
`rtp PLAIN PROTECTED` / `rtcp PLAIN PROTECTED` in sending order. The
RTP sequence numbers cross 65535 -> 0 so the rollover counter counts."""
import struct
import pylibsrtp

KEY = bytes(range(1, 31))
SSRC = 0xDEADBEEF


def rtp(seq, ts, payload, pt=0, marker=0, csrcs=(), ext=None):
    first = 0x80 | len(csrcs) | (0x10 if ext is not None else 0)
    h = struct.pack("!BBHII", first, (marker << 7) | pt, seq, ts, SSRC)
    for c in csrcs:
        h += struct.pack("!I", c)
    if ext is not None:
        h += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    return h + payload


def rtcp_sr(n):
    body = struct.pack("!IIIII", 0x11111111, 0x22222222, 160 * n, n, 160 * n)
    return struct.pack("!BBHI", 0x80, 200, 6, SSRC) + body


lines = []
for name, profile in (
    ("AES_CM_128_HMAC_SHA1_80", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80),
    ("AES_CM_128_HMAC_SHA1_32", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32),
):
    policy = pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
    session = pylibsrtp.Session(policy)
    lines.append(f"suite {name} {KEY.hex()}")
    seqs = [65533, 65534, 65535, 0, 1, 2]
    for i, seq in enumerate(seqs):
        payload = bytes((i * 7 + j) % 256 for j in range(160))
        if i == 2:
            packet = rtp(seq, 160 * i, payload, csrcs=(0x01020304,))
        elif i == 4:
            packet = rtp(seq, 160 * i, payload, ext=b"\x10\xaa\x00\x00")
        else:
            packet = rtp(seq, 160 * i, payload, marker=int(i == 0))
        lines.append(f"rtp {packet.hex()} {session.protect(packet).hex()}")
    for n in range(3):
        packet = rtcp_sr(n)
        lines.append(f"rtcp {packet.hex()} {session.protect_rtcp(packet).hex()}")

with open("srtp_vectors.txt", "w") as f:
    f.write("\n".join(lines) + "\n")
