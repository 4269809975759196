//! AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714): AES-GCM seals the
//! payload and authenticates the header as associated data with one
//! 16-byte tag; no HMAC, no separate authentication key (§11).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use zeroize::Zeroize;

use super::cm::derive;
use super::{MasterKey, SrtpError};

pub(super) const SALT_LEN: usize = 12;
/// RFC 7714 §5.2.2 / §14.2: a 16-octet tag, SRTP and SRTCP alike.
pub(super) const TAG_LEN: usize = 16;

enum Aead {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
}

/// Session key (as an AES-GCM instance) and salt for one of SRTP or SRTCP.
pub(super) struct SessionKeys {
    aead: Aead,
    salt: [u8; SALT_LEN],
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.salt.zeroize();
    }
}

impl SessionKeys {
    /// Label 0 and 2 (SRTP) or 3 and 5 (SRTCP): the session key has the
    /// master key's length, the session salt 96 bits (RFC 7714 §11).
    pub(super) fn derive(master: &MasterKey, first_label: u8) -> Result<SessionKeys, SrtpError> {
        let mut key = [0u8; 32];
        let key_len = master.key().len();
        let session_key = key.get_mut(..key_len).ok_or(SrtpError::BadKey)?;
        derive(master, first_label, session_key);
        let mut salt = [0u8; SALT_LEN];
        derive(master, first_label + 2, &mut salt);
        let keys = SessionKeys::new(session_key, salt);
        key.zeroize();
        keys
    }

    /// From session keys as they are (the RFC 7714 §16 vectors give these).
    pub(super) fn new(key: &[u8], salt: [u8; SALT_LEN]) -> Result<SessionKeys, SrtpError> {
        let aead = match key.len() {
            16 => Aead::Aes128(Box::new(
                Aes128Gcm::new_from_slice(key).map_err(|_| SrtpError::BadKey)?,
            )),
            32 => Aead::Aes256(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|_| SrtpError::BadKey)?,
            )),
            _ => return Err(SrtpError::BadKey),
        };
        Ok(SessionKeys { aead, salt })
    }

    /// RFC 7714 §8.1: 00 00 || SSRC || ROC || SEQ, XORed with the salt.
    fn rtp_iv(&self, ssrc: u32, index: u64) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        // ROC || SEQ is the 48-bit packet index.
        iv[6..12].copy_from_slice(&index.to_be_bytes()[2..8]);
        self.salted(iv)
    }

    /// RFC 7714 §9.1: 00 00 || SSRC || 00 00 || 0 || SRTCP index (31
    /// bits), XORed with the salt.
    fn rtcp_iv(&self, ssrc: u32, index: u32) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..12].copy_from_slice(&index.to_be_bytes());
        self.salted(iv)
    }

    fn salted(&self, mut iv: [u8; 12]) -> [u8; 12] {
        for (b, s) in iv.iter_mut().zip(self.salt) {
            *b ^= s;
        }
        iv
    }

    fn seal(&self, iv: &[u8; 12], aad: &[u8], data: &mut [u8]) -> Result<[u8; TAG_LEN], SrtpError> {
        let nonce = iv.into();
        let tag = match &self.aead {
            Aead::Aes128(c) => c.encrypt_in_place_detached(nonce, aad, data),
            Aead::Aes256(c) => c.encrypt_in_place_detached(nonce, aad, data),
        }
        // Only a payload beyond GCM's 2^36-byte limit is refused.
        .map_err(|_| SrtpError::TooLong)?;
        Ok(tag.into())
    }

    fn open(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<(), SrtpError> {
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| SrtpError::TooShort)?;
        let nonce = iv.into();
        let tag = (&tag).into();
        match &self.aead {
            Aead::Aes128(c) => c.decrypt_in_place_detached(nonce, aad, data, tag),
            Aead::Aes256(c) => c.decrypt_in_place_detached(nonce, aad, data, tag),
        }
        .map_err(|_| SrtpError::AuthFailed)
    }

    /// Seals `packet[header..]` in place (the header is the associated
    /// data) and returns the tag to append (RFC 7714 §8.2).
    pub(super) fn seal_rtp(
        &self,
        ssrc: u32,
        index: u64,
        packet: &mut [u8],
        header: usize,
    ) -> Result<[u8; TAG_LEN], SrtpError> {
        if header > packet.len() {
            return Err(SrtpError::TooShort);
        }
        let (aad, payload) = packet.split_at_mut(header);
        self.seal(&self.rtp_iv(ssrc, index), aad, payload)
    }

    /// Checks `tag` and opens `packet[header..]` in place; on failure the
    /// packet's bytes are unchanged (the AEAD decrypts only after the tag
    /// has matched).
    pub(super) fn open_rtp(
        &self,
        ssrc: u32,
        index: u64,
        packet: &mut [u8],
        header: usize,
        tag: &[u8],
    ) -> Result<(), SrtpError> {
        if header > packet.len() {
            return Err(SrtpError::TooShort);
        }
        let (aad, payload) = packet.split_at_mut(header);
        self.open(&self.rtp_iv(ssrc, index), aad, payload, tag)
    }

    /// SRTCP (RFC 7714 §9): with E set, the first 8 bytes and the E‖index
    /// word are associated data and the rest is sealed; with E clear,
    /// the whole packet and the word are associated data, nothing is
    /// sealed. Returns the tag.
    pub(super) fn seal_rtcp(
        &self,
        ssrc: u32,
        e_index: u32,
        packet: &mut [u8],
    ) -> Result<[u8; TAG_LEN], SrtpError> {
        let iv = self.rtcp_iv(ssrc, e_index & !super::SRTCP_E);
        let word = e_index.to_be_bytes();
        if e_index & super::SRTCP_E != 0 {
            let (head, rest) = split8(packet)?;
            let aad = [head, &word[..]].concat();
            self.seal(&iv, &aad, rest)
        } else {
            let aad = [&packet[..], &word[..]].concat();
            self.seal(&iv, &aad, &mut [])
        }
    }

    pub(super) fn open_rtcp(
        &self,
        ssrc: u32,
        e_index: u32,
        packet: &mut [u8],
        tag: &[u8],
    ) -> Result<(), SrtpError> {
        let iv = self.rtcp_iv(ssrc, e_index & !super::SRTCP_E);
        let word = e_index.to_be_bytes();
        if e_index & super::SRTCP_E != 0 {
            let (head, rest) = split8(packet)?;
            let aad = [head, &word[..]].concat();
            self.open(&iv, &aad, rest, tag)
        } else {
            let aad = [&packet[..], &word[..]].concat();
            self.open(&iv, &aad, &mut [], tag)
        }
    }
}

/// The RTCP header's first 8 bytes (left in clear) and the rest.
fn split8(packet: &mut [u8]) -> Result<(&[u8], &mut [u8]), SrtpError> {
    if packet.len() < 8 {
        return Err(SrtpError::TooShort);
    }
    let (head, rest) = packet.split_at_mut(8);
    Ok((head, rest))
}
