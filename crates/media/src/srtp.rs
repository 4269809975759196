//! SRTP and SRTCP (RFC 3711) with the two SDES suites every softphone
//! offers (RFC 4568 §6.2): AES_CM_128_HMAC_SHA1_80 and
//! AES_CM_128_HMAC_SHA1_32. One [`SrtpContext`] per direction: the
//! sender's holds our master key, the receiver's the peer's; each keeps
//! per-SSRC state (rollover counter, replay window, SRTCP index).
//!
//! Why our own: SRTP is a fixed transform over AES-CM and HMAC-SHA1 that
//! sits on the per-packet hot path; the primitives come from the
//! RustCrypto crates (`aes`, `ctr`, `hmac`, `sha1`), and the crates that
//! package SRTP come inside whole WebRTC stacks. Checked against the RFC
//! 3711 Appendix B vectors and packets protected by libsrtp.
//!
//! Not here: key exchange (SDES keys travel in SDP: `sdp` crate), DTLS-SRTP,
//! MKI, key derivation rates other than 0, AEAD suites.

use std::collections::HashMap;

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use zeroize::Zeroize;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type HmacSha1 = Hmac<Sha1>;

const KEY_LEN: usize = 16;
const SALT_LEN: usize = 14;
const AUTH_KEY_LEN: usize = 20;
/// RFC 3711 §3.3.2: a window of at least 64 packets.
const REPLAY_WINDOW: u64 = 64;
/// SRTCP's E flag: the payload is encrypted.
const SRTCP_E: u32 = 0x8000_0000;
/// SRTCP always carries an 80-bit tag with these suites (RFC 4568 §6.2.2).
const SRTCP_TAG_LEN: usize = 10;

/// An SDES crypto suite (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl SrtpProfile {
    /// Every suite we run, in our order of preference.
    pub const ALL: [SrtpProfile; 2] = [
        SrtpProfile::AesCm128HmacSha1_80,
        SrtpProfile::AesCm128HmacSha1_32,
    ];

    /// The suite's name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpProfile::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    pub fn from_name(name: &str) -> Option<SrtpProfile> {
        SrtpProfile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The SRTP authentication tag's length in bytes.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 => 10,
            SrtpProfile::AesCm128HmacSha1_32 => 4,
        }
    }
}

/// Why a packet was not protected or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("packet too short for its header")]
    TooShort,
    #[error("not an RTP version 2 packet")]
    NotRtp,
    #[error("authentication tag mismatch")]
    AuthFailed,
    #[error("replayed packet (index {0})")]
    Replayed(u64),
    #[error("packet too old for the replay window (index {0})")]
    TooOld(u64),
    #[error("master key must be {KEY_LEN} bytes and salt {SALT_LEN}, base64 of 30 bytes")]
    BadKey,
    #[error("SRTCP index exhausted: re-key")]
    IndexExhausted,
}

/// A master key and salt (RFC 3711 §3.2.1), wiped from memory when
/// dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    key: [u8; KEY_LEN],
    salt: [u8; SALT_LEN],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.key.zeroize();
        self.salt.zeroize();
    }
}

impl MasterKey {
    pub fn new(key: [u8; KEY_LEN], salt: [u8; SALT_LEN]) -> MasterKey {
        MasterKey { key, salt }
    }

    /// Key then salt, 30 bytes (the `inline:` value before base64).
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, SrtpError> {
        let key = bytes.get(..KEY_LEN).ok_or(SrtpError::BadKey)?;
        let salt = bytes
            .get(KEY_LEN..KEY_LEN + SALT_LEN)
            .ok_or(SrtpError::BadKey)?;
        if bytes.len() != KEY_LEN + SALT_LEN {
            return Err(SrtpError::BadKey);
        }
        let mut k = MasterKey::new([0; KEY_LEN], [0; SALT_LEN]);
        k.key.copy_from_slice(key);
        k.salt.copy_from_slice(salt);
        Ok(k)
    }

    /// From the base64 of an `a=crypto` `inline:` key (RFC 4568 §6.1).
    pub fn from_base64(text: &str) -> Result<MasterKey, SrtpError> {
        use base64::Engine;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| SrtpError::BadKey)?;
        let key = MasterKey::from_bytes(&bytes);
        bytes.zeroize();
        key
    }

    /// The base64 `inline:` value.
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        let mut bytes = [0u8; KEY_LEN + SALT_LEN];
        bytes[..KEY_LEN].copy_from_slice(&self.key);
        bytes[KEY_LEN..].copy_from_slice(&self.salt);
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        bytes.zeroize();
        text
    }
}

/// Session keys for one of SRTP or SRTCP (RFC 3711 §4.3).
struct SessionKeys {
    cipher_key: [u8; KEY_LEN],
    salt: [u8; SALT_LEN],
    auth: HmacSha1,
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.cipher_key.zeroize();
        self.salt.zeroize();
    }
}

/// The AES-CM keystream with `iv` XORed into `data` (RFC 3711 §4.1.1).
fn aes_cm(key: &[u8; KEY_LEN], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes128Ctr::new(key.into(), iv.into());
    cipher.apply_keystream(data);
}

/// The key derivation PRF (RFC 3711 §4.3.1 with kdr 0): AES-CM under
/// the master key, the IV the master salt with `label` at byte 7.
fn derive(master: &MasterKey, label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..SALT_LEN].copy_from_slice(&master.salt);
    iv[7] ^= label;
    out.fill(0);
    aes_cm(&master.key, &iv, out);
}

impl SessionKeys {
    /// Labels 0, 1, 2 (SRTP) or 3, 4, 5 (SRTCP).
    fn derive(master: &MasterKey, first_label: u8) -> SessionKeys {
        let mut cipher_key = [0u8; KEY_LEN];
        let mut auth_key = [0u8; AUTH_KEY_LEN];
        let mut salt = [0u8; SALT_LEN];
        derive(master, first_label, &mut cipher_key);
        derive(master, first_label + 1, &mut auth_key);
        derive(master, first_label + 2, &mut salt);
        // HMAC accepts keys of any length: this cannot fail.
        let auth =
            <HmacSha1 as Mac>::new_from_slice(&auth_key).unwrap_or_else(|_| unreachable_hmac());
        auth_key.zeroize();
        SessionKeys {
            cipher_key,
            salt,
            auth,
        }
    }

    /// The IV of packet `index` of `ssrc` (RFC 3711 §4.1.1).
    fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..SALT_LEN].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        // The 48-bit index at bytes 8..14.
        for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..8]) {
            *b ^= s;
        }
        iv
    }

    /// HMAC-SHA1 over `parts`, the full 20 bytes.
    fn tag(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut mac = self.auth.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

#[allow(clippy::panic)] // HMAC's new_from_slice accepts every key length.
#[cold]
fn unreachable_hmac() -> HmacSha1 {
    panic!("HMAC-SHA1 refused a 20-byte key")
}

/// Constant-time comparison of a received tag.
fn tags_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Per-SSRC state of a receiver or a sender.
#[derive(Debug, Default, Clone)]
struct StreamState {
    /// SRTP: rollover counter and highest sequence number (s_l).
    roc: u32,
    s_l: u16,
    started: bool,
    /// Replay protection: the highest index accepted and a bitmask of
    /// the 64 before it (bit n: highest - n seen).
    highest: u64,
    window: u64,
    /// SRTCP: the next index we send; the receiver's replay state is
    /// in `rtcp_highest`/`rtcp_window`.
    rtcp_next: u32,
    rtcp_started: bool,
    rtcp_highest: u64,
    rtcp_window: u64,
}

/// Replay check of `index` against (highest, window); `commit` records it.
fn replay_check(highest: u64, window: u64, started: bool, index: u64) -> Result<(), SrtpError> {
    if !started || index > highest {
        return Ok(());
    }
    let delta = highest - index;
    if delta >= REPLAY_WINDOW {
        return Err(SrtpError::TooOld(index));
    }
    if window & (1u64 << delta) != 0 {
        return Err(SrtpError::Replayed(index));
    }
    Ok(())
}

fn replay_commit(highest: &mut u64, window: &mut u64, started: bool, index: u64) {
    if !started {
        *highest = index;
        *window = 1;
    } else if index > *highest {
        let shift = index - *highest;
        *window = if shift >= REPLAY_WINDOW {
            1
        } else {
            (*window << shift) | 1
        };
        *highest = index;
    } else {
        *window |= 1u64 << (*highest - index);
    }
}

/// The length of an RTP header with its CSRCs and extension.
fn rtp_header_len(packet: &[u8]) -> Result<usize, SrtpError> {
    let first = *packet.first().ok_or(SrtpError::TooShort)?;
    if first >> 6 != 2 {
        return Err(SrtpError::NotRtp);
    }
    let mut len = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        len += 4 + 4 * usize::from(be16(packet, len + 2)?);
    }
    if packet.len() < len {
        return Err(SrtpError::TooShort);
    }
    Ok(len)
}

fn be16(b: &[u8], at: usize) -> Result<u16, SrtpError> {
    let b: [u8; 2] = b
        .get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .ok_or(SrtpError::TooShort)?;
    Ok(u16::from_be_bytes(b))
}

fn be32(b: &[u8], at: usize) -> Result<u32, SrtpError> {
    let b: [u8; 4] = b
        .get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .ok_or(SrtpError::TooShort)?;
    Ok(u32::from_be_bytes(b))
}

/// `data[from..]`, which the caller has checked exists.
fn tail(data: &mut [u8], from: usize) -> Result<&mut [u8], SrtpError> {
    data.get_mut(from..).ok_or(SrtpError::TooShort)
}

/// The first `len` bytes of a full HMAC-SHA1.
fn truncated(tag: &[u8; 20], len: usize) -> &[u8] {
    tag.get(..len).unwrap_or(tag)
}

/// One direction's SRTP and SRTCP transform under one master key.
pub struct SrtpContext {
    profile: SrtpProfile,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    streams: HashMap<u32, StreamState>,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("streams", &self.streams.len())
            .finish_non_exhaustive()
    }
}

/// More SSRCs than a call has: state beyond this is not kept (a flood of
/// forged SSRCs cannot grow memory; their packets fail authentication).
const MAX_STREAMS: usize = 64;

impl SrtpContext {
    pub fn new(profile: SrtpProfile, master: &MasterKey) -> SrtpContext {
        SrtpContext {
            profile,
            rtp: SessionKeys::derive(master, 0),
            rtcp: SessionKeys::derive(master, 3),
            streams: HashMap::new(),
        }
    }

    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    fn state(&mut self, ssrc: u32) -> StreamState {
        self.streams.get(&ssrc).cloned().unwrap_or_default()
    }

    fn keep(&mut self, ssrc: u32, state: StreamState) {
        if self.streams.len() < MAX_STREAMS || self.streams.contains_key(&ssrc) {
            self.streams.insert(ssrc, state);
        }
    }

    /// An RTP packet as SRTP: payload encrypted, tag appended.
    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let header = rtp_header_len(packet)?;
        let seq = be16(packet, 2)?;
        let ssrc = be32(packet, 8)?;
        let mut st = self.state(ssrc);
        if st.started && seq < st.s_l && st.s_l - seq > 0x8000 {
            st.roc = st.roc.wrapping_add(1);
        }
        if !st.started || seq > st.s_l || st.s_l - seq > 0x8000 {
            st.s_l = seq;
        }
        st.started = true;
        let index = (u64::from(st.roc) << 16) | u64::from(seq);
        let tag_len = self.profile.rtp_tag_len();
        let mut out = Vec::with_capacity(packet.len() + tag_len);
        out.extend_from_slice(packet);
        let iv = self.rtp.iv(ssrc, index);
        aes_cm(&self.rtp.cipher_key, &iv, tail(&mut out, header)?);
        let tag = self.rtp.tag(&[&out, &st.roc.to_be_bytes()]);
        out.extend_from_slice(truncated(&tag, tag_len));
        self.keep(ssrc, st);
        Ok(out)
    }

    /// An SRTP packet back to RTP: tag checked, replay refused, payload
    /// decrypted. Nothing is remembered of a packet that fails.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let tag_len = self.profile.rtp_tag_len();
        let body_len = packet
            .len()
            .checked_sub(tag_len)
            .ok_or(SrtpError::TooShort)?;
        let (body, tag) = packet.split_at(body_len);
        let header = rtp_header_len(body)?;
        let seq = be16(body, 2)?;
        let ssrc = be32(body, 8)?;
        let mut st = self.state(ssrc);
        // RFC 3711 Appendix A: the rollover counter this packet has.
        let v: i64 = if !st.started {
            i64::from(st.roc)
        } else if st.s_l < 0x8000 {
            if i32::from(seq) - i32::from(st.s_l) > 0x8000 {
                i64::from(st.roc) - 1
            } else {
                i64::from(st.roc)
            }
        } else if i32::from(st.s_l) - 0x8000 > i32::from(seq) {
            i64::from(st.roc) + 1
        } else {
            i64::from(st.roc)
        };
        let guessed = u32::try_from(v).map_err(|_| SrtpError::TooOld(u64::from(seq)))?;
        let index = (u64::from(guessed) << 16) | u64::from(seq);
        replay_check(st.highest, st.window, st.started, index)?;
        let want = self.rtp.tag(&[body, &guessed.to_be_bytes()]);
        if !tags_equal(truncated(&want, tag_len), tag) {
            return Err(SrtpError::AuthFailed);
        }
        let mut out = body.to_vec();
        let iv = self.rtp.iv(ssrc, index);
        aes_cm(&self.rtp.cipher_key, &iv, tail(&mut out, header)?);
        replay_commit(&mut st.highest, &mut st.window, st.started, index);
        if !st.started || guessed > st.roc {
            st.roc = guessed;
            st.s_l = seq;
        } else if guessed == st.roc && seq > st.s_l {
            st.s_l = seq;
        }
        st.started = true;
        self.keep(ssrc, st);
        Ok(out)
    }

    /// An RTCP compound packet as SRTCP (RFC 3711 §3.4): all after the
    /// first 8 bytes encrypted, E flag and index, 80-bit tag.
    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        if packet.len() < 8 {
            return Err(SrtpError::TooShort);
        }
        let ssrc = be32(packet, 4)?;
        let mut st = self.state(ssrc);
        let index = st.rtcp_next;
        if index >= SRTCP_E {
            return Err(SrtpError::IndexExhausted);
        }
        st.rtcp_next += 1;
        let mut out = Vec::with_capacity(packet.len() + 4 + SRTCP_TAG_LEN);
        out.extend_from_slice(packet);
        let iv = self.rtcp.iv(ssrc, u64::from(index));
        aes_cm(&self.rtcp.cipher_key, &iv, tail(&mut out, 8)?);
        out.extend_from_slice(&(SRTCP_E | index).to_be_bytes());
        let tag = self.rtcp.tag(&[&out]);
        out.extend_from_slice(truncated(&tag, SRTCP_TAG_LEN));
        self.keep(ssrc, st);
        Ok(out)
    }

    /// An SRTCP packet back to RTCP.
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let body_len = packet
            .len()
            .checked_sub(SRTCP_TAG_LEN)
            .filter(|n| *n >= 12)
            .ok_or(SrtpError::TooShort)?;
        let (authenticated, tag) = packet.split_at(body_len);
        let want = self.rtcp.tag(&[authenticated]);
        if !tags_equal(truncated(&want, SRTCP_TAG_LEN), tag) {
            return Err(SrtpError::AuthFailed);
        }
        let (body, e_index) = authenticated.split_at(body_len - 4);
        let e_index = be32(e_index, 0)?;
        let index = u64::from(e_index & !SRTCP_E);
        let ssrc = be32(body, 4)?;
        let mut st = self.state(ssrc);
        replay_check(st.rtcp_highest, st.rtcp_window, st.rtcp_started, index)?;
        let mut out = body.to_vec();
        if e_index & SRTCP_E != 0 {
            let iv = self.rtcp.iv(ssrc, index);
            aes_cm(&self.rtcp.cipher_key, &iv, tail(&mut out, 8)?);
        }
        replay_commit(
            &mut st.rtcp_highest,
            &mut st.rtcp_window,
            st.rtcp_started,
            index,
        );
        st.rtcp_started = true;
        self.keep(ssrc, st);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let key: [u8; 16] = hex("2B7E151628AED2A6ABF7158809CF4F3C").try_into().unwrap();
        let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").try_into().unwrap();
        let mut stream = vec![0u8; 48];
        aes_cm(&key, &iv, &mut stream);
        assert_eq!(
            stream,
            hex(
                "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB \
                 41E95B3BB0A2E8DD477901E4FCA894C0"
            )
        );
    }

    #[test]
    fn rfc3711_b3_key_derivation() {
        let master = MasterKey::from_bytes(&hex(
            "E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6",
        ))
        .unwrap();
        let mut cipher = [0u8; 16];
        derive(&master, 0, &mut cipher);
        assert_eq!(cipher.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut salt = [0u8; 14];
        derive(&master, 2, &mut salt);
        assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut auth = [0u8; 20];
        derive(&master, 1, &mut auth);
        assert_eq!(
            auth.to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
        );
    }
}
