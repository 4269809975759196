//! SRTP and SRTCP (RFC 3711) with the SDES suites softphones offer
//! (RFC 4568 §6.2): AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32,
//! and the AEAD suites AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714).
//! One [`SrtpContext`] per direction: the sender's holds our master key,
//! the receiver's the peer's; each keeps per-SSRC state (rollover
//! counter, replay window, SRTCP index), shared by every suite.
//!
//! Why our own: SRTP is a fixed transform that sits on the per-packet hot
//! path; the primitives come from the RustCrypto crates (`aes`, `ctr`,
//! `hmac`, `sha1`, `aes-gcm`), and the crates that package SRTP come
//! inside whole WebRTC stacks. Checked against the RFC 3711 Appendix B
//! and RFC 7714 §16/§17 vectors, packets protected by libsrtp, and
//! rtc-srtp in the tests.
//!
//! Not here: key exchange (SDES keys travel in SDP: `sdp` crate), DTLS-SRTP,
//! MKI, key derivation rates other than 0.

mod cm;
mod gcm;

use std::collections::HashMap;

use zeroize::Zeroize;

/// RFC 3711 §3.3.2: a window of at least 64 packets.
const REPLAY_WINDOW: u64 = 64;
/// SRTCP's E flag: the payload is encrypted.
const SRTCP_E: u32 = 0x8000_0000;
/// SRTCP always carries an 80-bit tag with the CM suites (RFC 4568 §6.2.2).
const SRTCP_CM_TAG_LEN: usize = 10;
const MAX_KEY_LEN: usize = 32;
const MAX_SALT_LEN: usize = cm::SALT_LEN;

/// An SDES crypto suite (RFC 4568 §6.2, RFC 7714 §14.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
    AeadAes128Gcm,
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Every suite we run, in our order of preference for an offer: the
    /// CM suites first, which every SDES peer runs (RFC 4568 makes _80
    /// the one to implement), then GCM for the peers that prefer it.
    pub const ALL: [SrtpProfile; 4] = [
        SrtpProfile::AesCm128HmacSha1_80,
        SrtpProfile::AesCm128HmacSha1_32,
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
    ];

    /// The suite's name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpProfile::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            SrtpProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "AEAD_AES_256_GCM",
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
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => gcm::TAG_LEN,
        }
    }

    /// The master key's length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// The master salt's length in bytes: 112 bits for CM, 96 for GCM
    /// (RFC 7714 §12).
    pub fn salt_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 | SrtpProfile::AesCm128HmacSha1_32 => cm::SALT_LEN,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => gcm::SALT_LEN,
        }
    }

    fn is_gcm(self) -> bool {
        matches!(
            self,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm
        )
    }
}

/// Why a packet was not protected or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("packet too short for its header")]
    TooShort,
    #[error("packet too long for the cipher")]
    TooLong,
    #[error("not an RTP version 2 packet")]
    NotRtp,
    #[error("authentication tag mismatch")]
    AuthFailed,
    #[error("replayed packet (index {0})")]
    Replayed(u64),
    #[error("packet too old for the replay window (index {0})")]
    TooOld(u64),
    #[error(
        "master key and salt do not fit the suite (base64 of 30 bytes for AES_CM_128, \
         28 for AEAD_AES_128_GCM, 44 for AEAD_AES_256_GCM)"
    )]
    BadKey,
    #[error("SRTCP index exhausted: re-key")]
    IndexExhausted,
}

/// A master key and salt (RFC 3711 §3.2.1), wiped from memory when
/// dropped and never printed. Its lengths are those of one suite family:
/// 16+14 (AES-CM), 16+12 or 32+12 (AES-GCM, RFC 7714 §12).
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    key: [u8; MAX_KEY_LEN],
    key_len: usize,
    salt: [u8; MAX_SALT_LEN],
    salt_len: usize,
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
    /// An AES_CM_128 master key and salt.
    pub fn new(key: [u8; 16], salt: [u8; cm::SALT_LEN]) -> MasterKey {
        let mut k = MasterKey {
            key: [0; MAX_KEY_LEN],
            key_len: 16,
            salt,
            salt_len: cm::SALT_LEN,
        };
        k.key[..16].copy_from_slice(&key);
        k
    }

    /// Key then salt (the `inline:` value before base64): 30 bytes for
    /// AES_CM_128, 28 for AEAD_AES_128_GCM, 44 for AEAD_AES_256_GCM.
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, SrtpError> {
        let (key_len, salt_len) = match bytes.len() {
            30 => (16, cm::SALT_LEN),
            28 => (16, gcm::SALT_LEN),
            44 => (32, gcm::SALT_LEN),
            _ => return Err(SrtpError::BadKey),
        };
        let mut k = MasterKey {
            key: [0; MAX_KEY_LEN],
            key_len,
            salt: [0; MAX_SALT_LEN],
            salt_len,
        };
        let (key, salt) = bytes.split_at(key_len);
        k.key
            .get_mut(..key_len)
            .ok_or(SrtpError::BadKey)?
            .copy_from_slice(key);
        k.salt
            .get_mut(..salt_len)
            .ok_or(SrtpError::BadKey)?
            .copy_from_slice(salt);
        Ok(k)
    }

    /// A fresh key and salt of `profile`'s lengths from `random`.
    pub fn for_profile(profile: SrtpProfile, random: &[u8]) -> Result<MasterKey, SrtpError> {
        let len = profile.key_len() + profile.salt_len();
        let key = MasterKey::from_bytes(random.get(..len).ok_or(SrtpError::BadKey)?)?;
        if key.fits(profile) {
            Ok(key)
        } else {
            Err(SrtpError::BadKey)
        }
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
        let mut bytes = [self.key(), self.salt()].concat();
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        bytes.zeroize();
        text
    }

    /// Whether the key and salt have `profile`'s lengths.
    pub fn fits(&self, profile: SrtpProfile) -> bool {
        self.key_len == profile.key_len() && self.salt_len == profile.salt_len()
    }

    fn key(&self) -> &[u8] {
        self.key.get(..self.key_len).unwrap_or(&self.key)
    }

    fn salt(&self) -> &[u8] {
        self.salt.get(..self.salt_len).unwrap_or(&self.salt)
    }
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

/// The session keys of one of SRTP or SRTCP, by suite family.
enum Keys {
    Cm(cm::SessionKeys),
    Gcm(gcm::SessionKeys),
}

impl Keys {
    /// Labels 0.. (SRTP) or 3.. (SRTCP).
    fn derive(
        profile: SrtpProfile,
        master: &MasterKey,
        first_label: u8,
    ) -> Result<Keys, SrtpError> {
        if profile.is_gcm() {
            Ok(Keys::Gcm(gcm::SessionKeys::derive(master, first_label)?))
        } else {
            Ok(Keys::Cm(cm::SessionKeys::derive(master, first_label)))
        }
    }
}

/// One direction's SRTP and SRTCP transform under one master key.
pub struct SrtpContext {
    profile: SrtpProfile,
    rtp: Keys,
    rtcp: Keys,
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
    /// Refuses a master key whose lengths are not the suite's.
    pub fn new(profile: SrtpProfile, master: &MasterKey) -> Result<SrtpContext, SrtpError> {
        if !master.fits(profile) {
            return Err(SrtpError::BadKey);
        }
        Ok(SrtpContext {
            profile,
            rtp: Keys::derive(profile, master, 0)?,
            rtcp: Keys::derive(profile, master, 3)?,
            streams: HashMap::new(),
        })
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
        match &self.rtp {
            Keys::Cm(keys) => {
                keys.crypt(ssrc, index, cm::tail(&mut out, header)?);
                let tag = keys.tag(&[&out, &st.roc.to_be_bytes()]);
                out.extend_from_slice(cm::truncated(&tag, tag_len));
            }
            Keys::Gcm(keys) => {
                let tag = keys.seal_rtp(ssrc, index, &mut out, header)?;
                out.extend_from_slice(&tag);
            }
        }
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
        let mut out = body.to_vec();
        match &self.rtp {
            Keys::Cm(keys) => {
                let want = keys.tag(&[body, &guessed.to_be_bytes()]);
                if !cm::tags_equal(cm::truncated(&want, tag_len), tag) {
                    return Err(SrtpError::AuthFailed);
                }
                keys.crypt(ssrc, index, cm::tail(&mut out, header)?);
            }
            Keys::Gcm(keys) => keys.open_rtp(ssrc, index, &mut out, header, tag)?,
        }
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

    /// An RTCP compound packet as SRTCP, always encrypted (E set): with
    /// CM (RFC 3711 §3.4) all after the first 8 bytes encrypted, then
    /// E‖index, then the 80-bit tag; with GCM (RFC 7714 §9) the sealed
    /// packet, its 16-byte tag, then E‖index.
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
        let word = (SRTCP_E | index).to_be_bytes();
        let mut out = Vec::with_capacity(packet.len() + 4 + gcm::TAG_LEN);
        out.extend_from_slice(packet);
        match &self.rtcp {
            Keys::Cm(keys) => {
                keys.crypt(ssrc, u64::from(index), cm::tail(&mut out, 8)?);
                out.extend_from_slice(&word);
                let tag = keys.tag(&[&out]);
                out.extend_from_slice(cm::truncated(&tag, SRTCP_CM_TAG_LEN));
            }
            Keys::Gcm(keys) => {
                let tag = keys.seal_rtcp(ssrc, SRTCP_E | index, &mut out)?;
                out.extend_from_slice(&tag);
                out.extend_from_slice(&word);
            }
        }
        self.keep(ssrc, st);
        Ok(out)
    }

    /// An SRTCP packet back to RTCP, encrypted or not (E flag).
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let (out, e_index) = match &self.rtcp {
            Keys::Cm(keys) => {
                let body_len = packet
                    .len()
                    .checked_sub(SRTCP_CM_TAG_LEN)
                    .filter(|n| *n >= 12)
                    .ok_or(SrtpError::TooShort)?;
                let (authenticated, tag) = packet.split_at(body_len);
                let want = keys.tag(&[authenticated]);
                if !cm::tags_equal(cm::truncated(&want, SRTCP_CM_TAG_LEN), tag) {
                    return Err(SrtpError::AuthFailed);
                }
                let (body, e_index) = authenticated.split_at(body_len - 4);
                let e_index = be32(e_index, 0)?;
                let ssrc = be32(body, 4)?;
                let st = self.streams.get(&ssrc).cloned().unwrap_or_default();
                let index = u64::from(e_index & !SRTCP_E);
                replay_check(st.rtcp_highest, st.rtcp_window, st.rtcp_started, index)?;
                let mut out = body.to_vec();
                if e_index & SRTCP_E != 0 {
                    keys.crypt(ssrc, index, cm::tail(&mut out, 8)?);
                }
                (out, e_index)
            }
            Keys::Gcm(keys) => {
                let body_len = packet
                    .len()
                    .checked_sub(gcm::TAG_LEN + 4)
                    .filter(|n| *n >= 8)
                    .ok_or(SrtpError::TooShort)?;
                let (body, trailer) = packet.split_at(body_len);
                let (tag, e_index) = trailer.split_at(gcm::TAG_LEN);
                let e_index = be32(e_index, 0)?;
                let ssrc = be32(body, 4)?;
                let st = self.streams.get(&ssrc).cloned().unwrap_or_default();
                let index = u64::from(e_index & !SRTCP_E);
                replay_check(st.rtcp_highest, st.rtcp_window, st.rtcp_started, index)?;
                let mut out = body.to_vec();
                keys.open_rtcp(ssrc, e_index, &mut out, tag)?;
                (out, e_index)
            }
        };
        let ssrc = be32(&out, 4)?;
        let index = u64::from(e_index & !SRTCP_E);
        let mut st = self.state(ssrc);
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
mod gcm_vectors;
