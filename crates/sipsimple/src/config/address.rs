//! The spec's SIPAddress: an account id, `user@domain`.

use std::fmt;

use sip_proto::uri::Uri;

/// `username@domain`, checked with the SDK's URI parser.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SipAddress {
    pub username: String,
    pub domain: String,
}

impl SipAddress {
    /// Reads `user@domain` (a `sip:` prefix is accepted and dropped).
    pub fn parse(text: &str) -> Result<SipAddress, String> {
        let bare = text
            .strip_prefix("sip:")
            .or_else(|| text.strip_prefix("sips:"))
            .unwrap_or(text);
        let uri_text = format!("sip:{bare}");
        let uri = Uri::parse(&uri_text).map_err(|e| format!("{text:?} is not user@domain: {e}"))?;
        let sip = uri
            .as_sip()
            .ok_or_else(|| format!("{text:?} is not user@domain"))?;
        let username = match &sip.user {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => return Err(format!("{text:?} has no user part (user@domain)")),
        };
        if sip.port.is_some() || !sip.params.is_empty() || !sip.headers.is_empty() {
            return Err(format!("{text:?} is not plain user@domain"));
        }
        Ok(SipAddress {
            username,
            domain: sip.host.to_string(),
        })
    }
}

impl fmt::Display for SipAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.username, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::SipAddress;

    #[test]
    fn user_at_domain_only() {
        let a = SipAddress::parse("alice@example.test").unwrap();
        assert_eq!(
            (a.username.as_str(), a.domain.as_str()),
            ("alice", "example.test")
        );
        assert_eq!(a.to_string(), "alice@example.test");
        assert_eq!(
            SipAddress::parse("sip:bob@[2001:db8::1]").unwrap().domain,
            "[2001:db8::1]"
        );
        for bad in [
            "example.test",
            "@example.test",
            "alice@",
            "alice@ex ample",
            "a@b:5060",
            "a@b;x=1",
            "",
        ] {
            assert!(SipAddress::parse(bad).is_err(), "{bad:?}");
        }
    }
}
