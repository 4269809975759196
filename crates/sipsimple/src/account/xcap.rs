//! The account's XCAP documents (RFC 4825): its presence authorization
//! rules (RFC 5025) on the server at `xcap.xcap_root`, edited by
//! read-modify-write so that the presence server lets a watcher see us
//! (`allow`), shows us offline to it (`polite-block`), rejects it
//! (`block`) or leaves it pending (`confirm`).
//!
//! Why here and not in the presence service: a presence server that
//! keeps watchers pending takes its decisions from this document only;
//! the SIP side (winfo) tells us who waits, this side answers.

use payloads::pres_rules::{Ruleset, SubHandling};

use super::Account;
use crate::config::Value;
use crate::xcap::{XcapClient, XcapError};

/// The prefix of the rule ids we write (`sipsimple_allow`, ...): rules of
/// other clients keep their ids and are edited only by taking a watcher
/// we decide about out of them.
pub const RULE_PREFIX: &str = "sipsimple";

/// `sip:` added to a bare `user@domain`, as the rules' identities are
/// URIs (RFC 4745 §7.1.1.1).
fn watcher_uri(uri: &str) -> String {
    let uri = uri.trim();
    let uri = uri
        .strip_prefix('<')
        .and_then(|u| u.strip_suffix('>'))
        .unwrap_or(uri);
    if uri.contains(':') {
        uri.to_owned()
    } else {
        format!("sip:{uri}")
    }
}

impl Account {
    /// The XCAP client of this account: `xcap.xcap_root`, the account's
    /// URI as XUI, its credentials, the application's TLS settings.
    /// [`XcapError::NotConfigured`] when `xcap.enabled` is off or there
    /// is no root.
    pub fn xcap_client(&self) -> Result<XcapClient, XcapError> {
        let enabled = !matches!(self.get("xcap.enabled"), Ok(Some(Value::Boolean(false))));
        let root = self.text("xcap.xcap_root").filter(|r| !r.trim().is_empty());
        let (true, Some(root)) = (enabled, root) else {
            return Err(XcapError::NotConfigured);
        };
        let services = self.services();
        let tls = services
            .as_ref()
            .and_then(|s| s.msrp.relay_tls().ok())
            .map(|c| (*c).clone());
        let user_agent = services.as_ref().and_then(|s| s.user_agent.clone());
        XcapClient::new(
            &root,
            &self.uri().to_string(),
            self.credentials(),
            tls,
            user_agent.as_deref(),
        )
    }

    /// The pres-rules document as the server holds it (empty when there
    /// is none).
    pub async fn pres_rules(&self) -> Result<Ruleset, XcapError> {
        Ok(self.xcap_client()?.pres_rules().await?.0)
    }

    /// Sets what the presence server does with `watcher`'s subscriptions
    /// (RFC 5025 §3.2.1); the server re-evaluates its subscriptions
    /// (pending ones become active or terminated). Returns the rules
    /// written.
    pub async fn set_watcher_policy(
        &self,
        watcher: &str,
        value: SubHandling,
    ) -> Result<Ruleset, XcapError> {
        let uri = watcher_uri(watcher);
        self.xcap_client()?
            .update_pres_rules(|rules| rules.set_sub_handling(RULE_PREFIX, &uri, value))
            .await
    }

    /// Lets `watcher` see our presence (`allow`, with every part of the
    /// document provided).
    pub async fn allow_watcher(&self, watcher: &str) -> Result<Ruleset, XcapError> {
        self.set_watcher_policy(watcher, SubHandling::Allow).await
    }

    /// Refuses `watcher` politely (`polite-block`): its subscription is
    /// accepted and it sees us offline, so it cannot tell (RFC 5025
    /// §3.2.1). Use [`block_watcher`](Self::block_watcher) to reject.
    pub async fn deny_watcher(&self, watcher: &str) -> Result<Ruleset, XcapError> {
        self.set_watcher_policy(watcher, SubHandling::PoliteBlock)
            .await
    }

    /// Rejects `watcher` (`block`): its subscription is terminated.
    pub async fn block_watcher(&self, watcher: &str) -> Result<Ruleset, XcapError> {
        self.set_watcher_policy(watcher, SubHandling::Block).await
    }

    /// Takes `watcher` out of every rule that names it: the server's
    /// default (or a domain rule) applies again.
    pub async fn forget_watcher(&self, watcher: &str) -> Result<Ruleset, XcapError> {
        let uri = watcher_uri(watcher);
        self.xcap_client()?
            .update_pres_rules(|rules| rules.remove_identity(&uri))
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn watcher_uris_get_a_scheme() {
        assert_eq!(super::watcher_uri("bob@example.com"), "sip:bob@example.com");
        assert_eq!(super::watcher_uri("<sip:bob@x>"), "sip:bob@x");
        assert_eq!(super::watcher_uri("sips:bob@x"), "sips:bob@x");
    }
}
