//! Our relay binding as the session renews it (RFC 4976 §5.1), and the
//! peer's renewed path in a re-INVITE.
//!
//! Why a session moves to a new path: a relay may name a new binding on
//! every AUTH. Kamailio's `msrp` module does (a new session-id in each
//! Use-Path); it keeps every binding until that binding's own expiry and
//! answers 481 to requests for one it dropped. The session re-AUTHs on
//! its connection before the Expires of the last 200
//! (`msrp_proto::session::RelayBinding`); a new Use-Path goes into our
//! `a=path` and the session offers it in a re-INVITE, so the peer sends
//! by the fresh binding before the old one lapses. Sessions made later
//! AUTH on their own connection (on the shared one, with
//! `msrp.connection_reuse`) and get their own fresh Use-Path; a re-AUTH
//! renews the binding of its own session only.

use std::sync::Mutex;

use msrp_proto::uri::MsrpUri;
use msrp_proto::SessionEvent;

use crate::msrp::{LogLevel, MsrpLog};
use crate::notification::NotificationData;
use crate::sync::lock;

/// Whether a re-offer's `a=path` (`new`) can replace `old`: unchanged,
/// or the same peer (its URI, last) through the same first hop under
/// another session-id there (its relay renewed the binding). The
/// connection stays; anything else would move the session, which is
/// not supported.
pub fn path_update_allowed(old: &[MsrpUri], new: &[MsrpUri]) -> bool {
    let hop = |u: Option<&MsrpUri>| {
        u.map(|u| {
            let mut u = u.clone();
            u.session_id = None;
            u
        })
    };
    old == new
        || (old.last() == new.last()
            && old.len() == new.len()
            && hop(old.first()) == hop(new.first()))
}

/// The relay's answers to our re-AUTHs (RFC 4976 §5.1); false for any
/// other event. A new Use-Path is what we give peers from now on, and
/// the notification has the session offer it: Kamailio's `msrp` module
/// names a new binding on every AUTH and routes the old one only until
/// its own expiry. `relays` is the stream's Use-Path in front of its
/// URI; `post` posts a notification of the stream.
pub(super) fn on_relay_event(
    relays: &Mutex<Vec<MsrpUri>>,
    e: &SessionEvent,
    log: &MsrpLog,
    post: impl Fn(NotificationData),
) -> bool {
    match e {
        SessionEvent::RelayReauthorized { use_path, expires } => {
            let changed = {
                let mut relays = lock(relays);
                let changed = *relays != *use_path;
                *relays = use_path.clone();
                changed
            };
            let use_path: Vec<String> = use_path.iter().map(ToString::to_string).collect();
            log.log(
                LogLevel::Info,
                format!(
                    "MSRP relay renewed the binding for {}s; Use-Path {}",
                    expires.unwrap_or(0),
                    use_path.join(" ")
                ),
            );
            post(NotificationData::MSRPRelayDidRenewBinding {
                use_path,
                expires: *expires,
                path_changed: changed,
            });
            true
        }
        SessionEvent::RelayReauthFailed { status, reason } => {
            let reason = reason.clone().unwrap_or_default();
            log.log(
                LogLevel::Warning,
                format!("MSRP relay did not renew the binding: {status} {reason}"),
            );
            post(NotificationData::MSRPRelayDidNotRenewBinding {
                code: *status,
                reason,
            });
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(uris: &[&str]) -> Vec<MsrpUri> {
        uris.iter().map(|u| MsrpUri::parse(u).unwrap()).collect()
    }

    #[test]
    fn only_a_renewed_binding_at_the_same_relay_may_change_the_path() {
        let old = path(&[
            "msrp://127.0.0.1:2855/msrp-1;tcp",
            "msrp://10.0.0.2:3000/peer;tcp",
        ]);
        assert!(path_update_allowed(&old, &old));
        let renewed = path(&[
            "msrp://127.0.0.1:2855/msrp-2;tcp",
            "msrp://10.0.0.2:3000/peer;tcp",
        ]);
        assert!(path_update_allowed(&old, &renewed));
        // Another relay, another peer, or a relay taken away: a move.
        let other_relay = path(&[
            "msrp://127.0.0.1:2856/msrp-2;tcp",
            "msrp://10.0.0.2:3000/peer;tcp",
        ]);
        assert!(!path_update_allowed(&old, &other_relay));
        let other_peer = path(&[
            "msrp://127.0.0.1:2855/msrp-2;tcp",
            "msrp://10.0.0.2:3000/other;tcp",
        ]);
        assert!(!path_update_allowed(&old, &other_peer));
        assert!(!path_update_allowed(
            &old,
            &path(&["msrp://10.0.0.2:3000/peer;tcp"])
        ));
        let direct = path(&["msrp://10.0.0.2:3000/peer;tcp"]);
        assert!(!path_update_allowed(
            &direct,
            &path(&["msrp://10.0.0.2:3000/moved;tcp"])
        ));
    }
}
