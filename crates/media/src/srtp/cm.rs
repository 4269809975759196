//! AES_CM_128_HMAC_SHA1_80 and _32 (RFC 3711 §4.1.1, §4.2): AES in
//! counter mode for confidentiality, HMAC-SHA1 for integrity, and the
//! AES-CM key derivation PRF that the GCM suites reuse (RFC 7714 §11).

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use zeroize::Zeroize;

use super::{MasterKey, SrtpError};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha1 = Hmac<Sha1>;

pub(super) const KEY_LEN: usize = 16;
pub(super) const SALT_LEN: usize = 14;
const AUTH_KEY_LEN: usize = 20;

/// The AES-CM keystream with `iv` XORed into `data` (RFC 3711 §4.1.1).
pub(super) fn aes_cm(key: &[u8; KEY_LEN], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes128Ctr::new(key.into(), iv.into());
    cipher.apply_keystream(data);
}

/// The key derivation PRF (RFC 3711 §4.3.1 with kdr 0): AES-CM under the
/// master key, the IV the master salt with `label` at byte 7. A 12-byte
/// GCM salt sits at the same place, zero-padded to 14 (RFC 7714 §11, as
/// libsrtp does); a 32-byte master key runs AES-256-CM (RFC 6188 §7).
pub(super) fn derive(master: &MasterKey, label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    for (b, s) in iv.iter_mut().zip(master.salt()) {
        *b = *s;
    }
    iv[7] ^= label;
    out.fill(0);
    let key = master.key();
    if let Ok(key) = <&[u8; 32]>::try_from(key) {
        let mut cipher = Aes256Ctr::new(key.into(), (&iv).into());
        cipher.apply_keystream(out);
    } else if let Ok(key) = <&[u8; KEY_LEN]>::try_from(key) {
        aes_cm(key, &iv, out);
    }
}

/// Session keys for one of SRTP or SRTCP (RFC 3711 §4.3).
pub(super) struct SessionKeys {
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

#[allow(clippy::panic)] // HMAC's new_from_slice accepts every key length.
#[cold]
fn unreachable_hmac() -> HmacSha1 {
    panic!("HMAC-SHA1 refused a 20-byte key")
}

impl SessionKeys {
    /// Labels 0, 1, 2 (SRTP) or 3, 4, 5 (SRTCP).
    pub(super) fn derive(master: &MasterKey, first_label: u8) -> SessionKeys {
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

    /// Encrypts or decrypts (the same XOR) `data` as packet `index`.
    pub(super) fn crypt(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        aes_cm(&self.cipher_key, &self.iv(ssrc, index), data);
    }

    /// HMAC-SHA1 over `parts`, the full 20 bytes.
    pub(super) fn tag(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut mac = self.auth.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Constant-time comparison of a received tag.
pub(super) fn tags_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The first `len` bytes of a full HMAC-SHA1.
pub(super) fn truncated(tag: &[u8; 20], len: usize) -> &[u8] {
    tag.get(..len).unwrap_or(tag)
}

/// `data[from..]`, which the caller has checked exists.
pub(super) fn tail(data: &mut [u8], from: usize) -> Result<&mut [u8], SrtpError> {
    data.get_mut(from..).ok_or(SrtpError::TooShort)
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
        let master = super::MasterKey::from_bytes(&hex(
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
