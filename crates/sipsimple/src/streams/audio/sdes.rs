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

/// The account's `rtp.srtp_encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SrtpPolicy {
    #[default]
    Disabled,
    Optional,
    Mandatory,
}

impl SrtpPolicy {
    /// The setting's value (`disabled`, `optional`, `mandatory`); anything
    /// else is `disabled`.
    pub fn from_setting(value: &str) -> SrtpPolicy {
        match value {
            "optional" => SrtpPolicy::Optional,
            "mandatory" => SrtpPolicy::Mandatory,
            _ => SrtpPolicy::Disabled,
        }
    }

    /// The m-line's protocol we offer.
    pub fn protocol(self) -> &'static str {
        match self {
            SrtpPolicy::Mandatory => "RTP/SAVP",
            _ => "RTP/AVP",
        }
    }

    /// Whether we can take an offered m-line of `protocol` at all.
    pub fn takes(self, m: &Media) -> bool {
        match m.protocol.as_str() {
            "RTP/AVP" => self != SrtpPolicy::Mandatory || m.cryptos().any(|c| usable(&c)),
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

fn fresh_key() -> Result<MasterKey, String> {
    let mut bytes = [0u8; 30];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source for SRTP keys: {e}"))?;
    let key = MasterKey::from_bytes(&bytes).map_err(|e| e.to_string());
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

/// A crypto line we can run: a suite we have, a key of the right size,
/// no MKI and no session parameters (we implement neither).
fn usable(c: &Crypto) -> bool {
    SrtpProfile::from_name(&c.suite).is_some()
        && c.mki.is_none()
        && c.session_params.is_empty()
        && MasterKey::from_base64(&c.key).is_ok()
}

impl OfferedCrypto {
    /// Our crypto lines for an offer (none when `disabled`).
    pub(crate) fn new(policy: SrtpPolicy) -> Result<OfferedCrypto, String> {
        if policy == SrtpPolicy::Disabled {
            return Ok(OfferedCrypto::default());
        }
        let mut lines = Vec::new();
        for (n, profile) in SrtpProfile::ALL.into_iter().enumerate() {
            lines.push((n as u32 + 1, profile, fresh_key()?));
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
            let theirs = MasterKey::from_base64(&c.key).ok()?;
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
    let Some(c) = offer.cryptos().find(usable) else {
        return if savp || policy == SrtpPolicy::Mandatory {
            Err("no crypto suite of the offer is one we run".into())
        } else {
            Ok(None)
        };
    };
    let (Some(profile), Ok(theirs)) = (
        SrtpProfile::from_name(&c.suite),
        MasterKey::from_base64(&c.key),
    ) else {
        return Err("unusable crypto line".into());
    };
    let ours = fresh_key()?;
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
        let offered = OfferedCrypto::new(SrtpPolicy::Optional).unwrap();
        let lines = offered.attributes();
        assert_eq!(lines.len(), 2);
        let first = Crypto::parse(lines[0].value.as_deref().unwrap()).unwrap();
        assert_eq!(first.suite, "AES_CM_128_HMAC_SHA1_80");
        assert!(MasterKey::from_base64(&first.key).is_ok());
        assert_eq!(SrtpPolicy::Optional.protocol(), "RTP/AVP");
        assert_eq!(SrtpPolicy::Mandatory.protocol(), "RTP/SAVP");
        assert!(OfferedCrypto::new(SrtpPolicy::Disabled)
            .unwrap()
            .attributes()
            .is_empty());
        // Two offers never share a key.
        let again = OfferedCrypto::new(SrtpPolicy::Optional).unwrap();
        assert_ne!(again.attributes(), lines);
    }

    #[test]
    fn answers_follow_the_policy() {
        let c80 = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}");
        let c32 = format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}");
        let unknown = format!("1 AEAD_AES_256_GCM inline:{KEY}");
        // Best effort offered: taken when we want SRTP, ignored when not.
        let best = media("RTP/AVP", &[&c32, &c80]);
        let (attr, keys) = answer(SrtpPolicy::Optional, &best).unwrap().unwrap();
        assert_eq!(keys.profile, SrtpProfile::AesCm128HmacSha1_32);
        assert!(attr
            .value
            .unwrap()
            .starts_with("2 AES_CM_128_HMAC_SHA1_32 inline:"));
        assert_eq!(answer(SrtpPolicy::Disabled, &best).unwrap(), None);
        // SAVP: refused when disabled, or with no suite we run.
        assert!(answer(SrtpPolicy::Disabled, &media("RTP/SAVP", &[&c80])).is_err());
        assert!(answer(SrtpPolicy::Optional, &media("RTP/SAVP", &[&unknown])).is_err());
        // Mandatory: plain offers refused.
        assert!(answer(SrtpPolicy::Mandatory, &media("RTP/AVP", &[])).is_err());
        assert!(!SrtpPolicy::Mandatory.takes(&media("RTP/AVP", &[])));
        assert!(SrtpPolicy::Mandatory.takes(&best));
        assert!(!SrtpPolicy::Disabled.takes(&media("RTP/SAVP", &[&c80])));
        assert_eq!(
            answer(SrtpPolicy::Optional, &media("RTP/AVP", &[])).unwrap(),
            None
        );
    }

    #[test]
    fn an_answer_must_name_one_of_our_lines() {
        let offered = OfferedCrypto::new(SrtpPolicy::Optional).unwrap();
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
}
