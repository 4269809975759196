//! SDES (RFC 4568): SRTP master keys exchanged in `a=crypto` lines of
//! the audio m-line, under the account's `rtp.srtp_encryption` policy:
//!
//! - `disabled`: RTP/AVP, no crypto lines; an RTP/SAVP offer is refused.
//! - `optional`: RTP/AVP with crypto lines ("best effort SRTP", what
//!   Blink and python-sipsimple send): SRTP when the peer answers with a
//!   crypto line, plain RTP when it does not.
//! - `mandatory`: RTP/SAVP; an answer or offer without a usable crypto
//!   line fails the stream, saying so.
//!
//! Each offer and answer carries fresh keys (RFC 4568 §7.1.4 allows
//! keeping them; new ones re-key the stream on every re-INVITE, which is
//! what the issue asks). Keys come from the operating system's random
//! source (getrandom), never from the identifiers' generator.

use media::srtp::{MasterKey, SrtpProfile};
use sdp::{Attribute, Crypto, Media};

pub use crate::streams::settings::SrtpPolicy;

// The policy is plain settings data; what it means for an m-line is
// SDES's.
impl SrtpPolicy {
    /// Whether we can take an offered m-line of `protocol` at all.
    pub fn takes(self, m: &Media) -> bool {
        match m.protocol.as_str() {
            "RTP/AVP" => {
                self != SrtpPolicy::Mandatory
                    || m.cryptos().any(|c| usable(&c, &SrtpProfile::ALL).is_some())
            }
            "RTP/SAVP" => self != SrtpPolicy::Disabled,
            _ => false,
        }
    }
}

/// The keys of one negotiated SRTP session: ours protects what we send,
/// the peer's what we receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub profile: SrtpProfile,
    pub send: MasterKey,
    pub receive: MasterKey,
}

/// What we offered: one key per suite, by tag.
#[derive(Debug, Clone, Default)]
pub(crate) struct OfferedCrypto {
    lines: Vec<(u32, SrtpProfile, MasterKey)>,
}

/// A key and salt of `profile`'s lengths (30, 28 or 44 bytes).
fn fresh_key(profile: SrtpProfile) -> Result<MasterKey, String> {
    let mut bytes = [0u8; 44];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source for SRTP keys: {e}"))?;
    let key = MasterKey::for_profile(profile, &bytes).map_err(|e| e.to_string());
    bytes.fill(0);
    key
}

fn line(tag: u32, profile: SrtpProfile, key: &MasterKey) -> Attribute {
    let crypto = Crypto {
        tag,
        suite: profile.name().to_owned(),
        key: key.to_base64(),
        lifetime: None,
        mki: None,
        session_params: Vec::new(),
    };
    Attribute::new("crypto", crypto.to_string())
}

/// A crypto line we can run: one of `suites`, a key of the suite's size
/// (RFC 7714 §12: 16+12 or 32+12 bytes for GCM), no MKI and no session
/// parameters (we implement neither).
fn usable(c: &Crypto, suites: &[SrtpProfile]) -> Option<(SrtpProfile, MasterKey)> {
    let profile = SrtpProfile::from_name(&c.suite).filter(|p| suites.contains(p))?;
    let key = MasterKey::from_base64(&c.key)
        .ok()
        .filter(|k| k.fits(profile))?;
    (c.mki.is_none() && c.session_params.is_empty()).then_some((profile, key))
}

impl OfferedCrypto {
    /// Our crypto lines for an offer (none when `disabled`), one per
    /// suite of `suites`, in that order (our preference, RFC 4568 §7.1.1).
    pub(crate) fn new(policy: SrtpPolicy, suites: &[SrtpProfile]) -> Result<OfferedCrypto, String> {
        if policy == SrtpPolicy::Disabled {
            return Ok(OfferedCrypto::default());
        }
        let mut lines = Vec::new();
        for (tag, profile) in (1u32..).zip(suites) {
            lines.push((tag, *profile, fresh_key(*profile)?));
        }
        Ok(OfferedCrypto { lines })
    }

    pub(crate) fn attributes(&self) -> Vec<Attribute> {
        self.lines
            .iter()
            .map(|(tag, profile, key)| line(*tag, *profile, key))
            .collect()
    }

    /// The keys the answer's m-line `answer` agreed to: the crypto line
    /// answering one of ours (same tag and suite, RFC 4568 §7.1.3).
    /// None for plain RTP, which `mandatory` refuses.
    pub(crate) fn read_answer(
        &self,
        policy: SrtpPolicy,
        answer: &Media,
    ) -> Result<Option<SrtpKeys>, String> {
        let chosen = answer.cryptos().find_map(|c| {
            let (_, profile, ours) = self
                .lines
                .iter()
                .find(|(tag, p, _)| *tag == c.tag && p.name() == c.suite)?;
            let theirs = MasterKey::from_base64(&c.key)
                .ok()
                .filter(|k| k.fits(*profile))?;
            Some(SrtpKeys {
                profile: *profile,
                send: ours.clone(),
                receive: theirs,
            })
        });
        match chosen {
            Some(keys) if !self.lines.is_empty() => Ok(Some(keys)),
            _ if policy == SrtpPolicy::Mandatory => {
                Err("the peer answered without SRTP, which this account requires".into())
            }
            _ if answer.protocol == "RTP/SAVP" => {
                Err("the peer answered RTP/SAVP without a crypto line we offered".into())
            }
            _ => Ok(None),
        }
    }
}

/// Our side of an offered m-line: the crypto line to answer with and the
/// keys, or None for plain RTP; an error when the policy and the offer
/// cannot meet (the stream is refused).
pub(crate) fn answer(
    policy: SrtpPolicy,
    suites: &[SrtpProfile],
    offer: &Media,
) -> Result<Option<(Attribute, SrtpKeys)>, String> {
    let savp = offer.protocol == "RTP/SAVP";
    if policy == SrtpPolicy::Disabled {
        // A best-effort offer's crypto lines are ignored; SAVP is refused.
        return if savp {
            Err("SRTP was offered and this account has it disabled".into())
        } else {
            Ok(None)
        };
    }
    // The offerer's preference order (RFC 4568 §7.1.2).
    let Some((c, profile, theirs)) = offer
        .cryptos()
        .find_map(|c| usable(&c, suites).map(|(p, k)| (c, p, k)))
    else {
        return if savp || policy == SrtpPolicy::Mandatory {
            Err("no crypto suite of the offer is one we run".into())
        } else {
            Ok(None)
        };
    };
    let ours = fresh_key(profile)?;
    Ok(Some((
        line(c.tag, profile, &ours),
        SrtpKeys {
            profile,
            send: ours,
            receive: theirs,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(protocol: &str, cryptos: &[&str]) -> Media {
        let mut m = Media::new("audio", 4000, protocol, vec!["0".into()]);
        for c in cryptos {
            m.attributes.push(Attribute::new("crypto", *c));
        }
        m
    }

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn an_optional_offer_is_best_effort_and_a_mandatory_one_savp() {
        let offered = OfferedCrypto::new(SrtpPolicy::Optional, &SrtpProfile::ALL).unwrap();
        let lines = offered.attributes();
        // The CM suites first (every SDES peer runs them), then GCM
        // with its RFC 7714 §12 key lengths.
        let parsed: Vec<Crypto> = lines
            .iter()
            .map(|l| Crypto::parse(l.value.as_deref().unwrap()).unwrap())
            .collect();
        let suites: Vec<(u32, &str, usize)> = parsed
            .iter()
            .map(|c| {
                use base64::Engine;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(&c.key)
                    .unwrap();
                (c.tag, c.suite.as_str(), raw.len())
            })
            .collect();
        assert_eq!(
            suites,
            [
                (1, "AES_CM_128_HMAC_SHA1_80", 30),
                (2, "AES_CM_128_HMAC_SHA1_32", 30),
                (3, "AEAD_AES_128_GCM", 16 + 12),
                (4, "AEAD_AES_256_GCM", 32 + 12),
            ]
        );
        let only_gcm =
            OfferedCrypto::new(SrtpPolicy::Optional, &[SrtpProfile::AeadAes128Gcm]).unwrap();
        assert_eq!(only_gcm.attributes().len(), 1);
        assert_eq!(SrtpPolicy::Optional.protocol(), "RTP/AVP");
        assert_eq!(SrtpPolicy::Mandatory.protocol(), "RTP/SAVP");
        assert!(OfferedCrypto::new(SrtpPolicy::Disabled, &SrtpProfile::ALL)
            .unwrap()
            .attributes()
            .is_empty());
        // Two offers never share a key.
        let again = OfferedCrypto::new(SrtpPolicy::Optional, &SrtpProfile::ALL).unwrap();
        assert_ne!(again.attributes(), lines);
    }

    #[test]
    fn answers_follow_the_policy() {
        let c80 = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}");
        let c32 = format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}");
        let unknown = format!("1 AES_192_CM_HMAC_SHA1_80 inline:{KEY}");
        // Best effort offered: taken when we want SRTP, ignored when not.
        let best = media("RTP/AVP", &[&c32, &c80]);
        let (attr, keys) = answer(SrtpPolicy::Optional, &SrtpProfile::ALL, &best)
            .unwrap()
            .unwrap();
        assert_eq!(keys.profile, SrtpProfile::AesCm128HmacSha1_32);
        assert!(attr
            .value
            .unwrap()
            .starts_with("2 AES_CM_128_HMAC_SHA1_32 inline:"));
        assert_eq!(
            answer(SrtpPolicy::Disabled, &SrtpProfile::ALL, &best).unwrap(),
            None
        );
        // SAVP: refused when disabled, or with no suite we run.
        assert!(answer(
            SrtpPolicy::Disabled,
            &SrtpProfile::ALL,
            &media("RTP/SAVP", &[&c80])
        )
        .is_err());
        assert!(answer(
            SrtpPolicy::Optional,
            &SrtpProfile::ALL,
            &media("RTP/SAVP", &[&unknown])
        )
        .is_err());
        // Mandatory: plain offers refused.
        assert!(answer(
            SrtpPolicy::Mandatory,
            &SrtpProfile::ALL,
            &media("RTP/AVP", &[])
        )
        .is_err());
        assert!(!SrtpPolicy::Mandatory.takes(&media("RTP/AVP", &[])));
        assert!(SrtpPolicy::Mandatory.takes(&best));
        assert!(!SrtpPolicy::Disabled.takes(&media("RTP/SAVP", &[&c80])));
        assert_eq!(
            answer(
                SrtpPolicy::Optional,
                &SrtpProfile::ALL,
                &media("RTP/AVP", &[])
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn an_answer_must_name_one_of_our_lines() {
        let offered = OfferedCrypto::new(SrtpPolicy::Optional, &SrtpProfile::ALL).unwrap();
        let ok = media(
            "RTP/AVP",
            &[&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}")],
        );
        let keys = offered
            .read_answer(SrtpPolicy::Optional, &ok)
            .unwrap()
            .unwrap();
        assert_eq!(keys.profile, SrtpProfile::AesCm128HmacSha1_32);
        assert_eq!(keys.receive, MasterKey::from_base64(KEY).unwrap());
        // A tag we did not offer with that suite: not an answer to us.
        let wrong = media(
            "RTP/AVP",
            &[&format!("1 AES_CM_128_HMAC_SHA1_32 inline:{KEY}")],
        );
        assert_eq!(
            offered.read_answer(SrtpPolicy::Optional, &wrong).unwrap(),
            None
        );
        assert!(offered.read_answer(SrtpPolicy::Mandatory, &wrong).is_err());
        let plain = media("RTP/AVP", &[]);
        assert_eq!(
            offered.read_answer(SrtpPolicy::Optional, &plain).unwrap(),
            None
        );
    }

    #[test]
    fn gcm_suites_are_answered_with_keys_of_their_size() {
        use base64::Engine;
        let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
        let g128 = format!("5 AEAD_AES_128_GCM inline:{}", b64(28));
        let g256 = format!("6 AEAD_AES_256_GCM inline:{}", b64(44));
        // A GCM line whose key has the CM size is not usable (RFC 7714 §12).
        let wrong = format!("4 AEAD_AES_128_GCM inline:{KEY}");
        let offer = media("RTP/SAVP", &[&wrong, &g256, &g128]);
        let (attr, keys) = answer(SrtpPolicy::Mandatory, &SrtpProfile::ALL, &offer)
            .unwrap()
            .unwrap();
        assert_eq!(keys.profile, SrtpProfile::AeadAes256Gcm);
        assert!(keys.send.fits(SrtpProfile::AeadAes256Gcm));
        let line = Crypto::parse(attr.value.as_deref().unwrap()).unwrap();
        assert_eq!((line.tag, line.suite.as_str()), (6, "AEAD_AES_256_GCM"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&line.key)
            .unwrap();
        assert_eq!(raw.len(), 44);
        // Suites left out of ours are passed over for the next line.
        let (_, keys) = answer(SrtpPolicy::Mandatory, &[SrtpProfile::AeadAes128Gcm], &offer)
            .unwrap()
            .unwrap();
        assert_eq!(keys.profile, SrtpProfile::AeadAes128Gcm);
        assert!(answer(
            SrtpPolicy::Mandatory,
            &[SrtpProfile::AesCm128HmacSha1_80],
            &offer
        )
        .is_err());
        // Our GCM offer read back from an answer on tag 3.
        let offered = OfferedCrypto::new(SrtpPolicy::Mandatory, &SrtpProfile::ALL).unwrap();
        let reply = media(
            "RTP/SAVP",
            &[&format!("3 AEAD_AES_128_GCM inline:{}", b64(28))],
        );
        let keys = offered
            .read_answer(SrtpPolicy::Mandatory, &reply)
            .unwrap()
            .unwrap();
        assert_eq!(keys.profile, SrtpProfile::AeadAes128Gcm);
        // The same tag with a key of the wrong size is no answer.
        let bad = media("RTP/SAVP", &[&format!("3 AEAD_AES_128_GCM inline:{KEY}")]);
        assert!(offered.read_answer(SrtpPolicy::Mandatory, &bad).is_err());
    }
}
