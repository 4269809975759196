//! The sessions as a request owner: dialog-creating INVITEs become
//! incoming sessions, requests of a dialog go to its session, ACKs and
//! CANCELs to the session whose INVITE they concern. Nothing here waits:
//! making the streams of an offer is spawned, and a session whose queue
//! is full is answered for instead of waited on.

use sip_proto::headers::HeaderName;
use sip_proto::transaction::ServerKey;
use sip_proto::{Method, Request};

use super::account::recipient;
use super::SessionManager;
use crate::account::AccountManager;
use crate::router::{Disposition, IncomingRequest, RequestOwner};

pub(crate) struct SessionRequests {
    pub sessions: SessionManager,
    pub accounts: AccountManager,
}

impl RequestOwner for SessionRequests {
    fn methods(&self) -> Vec<Method> {
        // No stream type, no session: INVITE is not taken then.
        if self.sessions.registry().types().is_empty() {
            return Vec::new();
        }
        vec![Method::Invite, Method::Bye]
    }

    fn accepts(&self) -> Vec<String> {
        if self.sessions.registry().types().is_empty() {
            return Vec::new();
        }
        vec!["application/sdp".into()]
    }

    fn request(&self, incoming: IncomingRequest) -> Disposition {
        if incoming.request.method != Method::Invite {
            // A BYE outside any dialog (§12.2.2 / §15.1.2).
            return Disposition::answer(481);
        }
        let Some(account) = recipient(&self.accounts, &incoming.request) else {
            return Disposition::answer(404);
        };
        if let Err(refusal) = self.sessions.admit_incoming() {
            return refusal;
        }
        let sessions = self.sessions.clone();
        tokio::spawn(async move {
            let user = account.contact_username().to_owned();
            let outcome = sessions
                .incoming(
                    account,
                    &user,
                    incoming.key.clone(),
                    &incoming.request,
                    incoming.source,
                )
                .await;
            sessions.admitted();
            if let Err(code) = outcome {
                incoming.answer(code, &[]).await;
            }
        });
        Disposition::Taken
    }

    fn in_dialog(
        &self,
        incoming: Box<IncomingRequest>,
    ) -> Result<Disposition, Box<IncomingRequest>> {
        match self.sessions.dispatch(incoming) {
            Ok(None) => Ok(Disposition::Taken),
            // The session is behind: the peer retries (RFC 3261 §21.5.1,
            // transaction-only per RFC 5057) instead of us waiting on it.
            Ok(Some(_)) => Ok(Disposition::Answer(
                500,
                vec![(HeaderName::RetryAfter, "1".to_owned())],
            )),
            Err(back) => Err(back),
        }
    }

    fn ack(&self, request: &Request) {
        self.sessions.ack(request.clone());
    }

    fn cancelled(&self, invite: &ServerKey) {
        self.sessions.cancelled(invite);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::notification::NotificationCenter;
    use crate::router::RequestRouter;
    use crate::streams::MediaStreamRegistry;

    /// INVITE and SDP are offered exactly while the registry has a stream
    /// type to answer with.
    #[test]
    fn capabilities_follow_the_stream_registry() {
        let center = NotificationCenter::default();
        let registry = MediaStreamRegistry::default();
        let router = RequestRouter::new();
        router.register(Arc::new(SessionRequests {
            sessions: SessionManager::new(center.clone(), registry.clone()),
            accounts: AccountManager::new(center),
        }));
        let caps = router.capabilities();
        assert!(!caps.allow.contains(&Method::Invite));
        assert!(!caps.accept.iter().any(|a| a == "application/sdp"));
        registry.add(Arc::new(crate::streams::audio::AudioStreamType));
        let caps = router.capabilities();
        assert_eq!(
            caps.allow_header(),
            "INVITE, ACK, CANCEL, BYE, OPTIONS",
            "INVITE first, then the fixed order"
        );
        assert_eq!(caps.accept, ["application/sdp"]);
    }
}
