//! The registration task of one account: RFC 3263 routes for the outbound
//! proxy or the domain, the sans-IO [`RegisterClient`] driven over the
//! engine, refreshes, failover across routes, backoff, and unregistration
//! when the account stops — each step posted as the spec's
//! SIPAccountRegistration* notifications.

use std::net::SocketAddr;
use std::time::Duration;

use sip_proto::digest::CredentialStore;
use sip_proto::registration::{RegisterClient, RegisterConfig, RegisterOutcome};
use sip_proto::transaction::Target;
use sip_proto::uri::Uri;
use sip_proto::Request;

use tokio::sync::watch;

use crate::engine::{host_port, transport_param, via_without_branch};
use crate::lookup::Route;
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::random;
use crate::services::Services;

/// The settings a registration runs with (read when it starts).
pub(crate) struct Plan {
    pub aor: Uri<'static>,
    pub domain: String,
    pub outbound_proxy: Option<Uri<'static>>,
    pub username: String,
    pub password: String,
    pub contact_user: String,
    pub expires: u32,
    /// What the registrar (or the proxy on the way) must prove over TLS.
    pub tls_name: String,
}

/// How long unregistering may take when the account stops.
const UNREGISTER_GRACE: Duration = Duration::from_secs(5);

pub(crate) struct Registration {
    pub plan: Plan,
    pub services: Services,
    pub center: NotificationCenter,
    pub sender: SenderId,
    pub stop: watch::Receiver<bool>,
    /// Rounds over all routes that failed in a row: the backoff grows
    /// with them, and a success resets it.
    pub failed_rounds: u32,
    /// The transport's reason for the last request that failed without
    /// an answer (a refused connect, a certificate refused): said in
    /// SIPAccountRegistrationDidFail instead of "no registrar answered".
    pub transport_error: Option<String>,
}

/// 5 s after the first failed round, doubling up to 10 minutes.
fn backoff(failed_rounds: u32) -> Duration {
    Duration::from_secs(5)
        .saturating_mul(1u32 << failed_rounds.saturating_sub(1).min(10))
        .min(Duration::from_secs(600))
}

enum Step {
    /// Registered on this route until the refresh time.
    Registered(Duration),
    /// Failed: at least this long to wait, whether the next route may
    /// do better, and the error to report if not.
    Failed(Duration, bool, Option<String>),
    Stopped,
}

impl Registration {
    fn post(&self, data: NotificationData) {
        self.center.post(self.sender, data);
    }

    /// Sleeps, or returns true early if the account is stopping.
    async fn wait(&mut self, d: Duration) -> bool {
        if *self.stop.borrow() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = self.stop.changed() => true,
        }
    }

    async fn routes(&self) -> Result<Vec<Route>, String> {
        let target = match &self.plan.outbound_proxy {
            Some(p) => p.clone(),
            None => Uri::parse(&format!("sip:{}", self.plan.domain))
                .map_err(|e| e.to_string())?
                .into_owned(),
        };
        let Some(sip) = target.as_sip() else {
            return Err(format!("{target} is not a SIP URI"));
        };
        let lookup = self
            .services
            .dns
            .lookup_sip_proxy(sip, &self.services.engine.transports())
            .await;
        lookup.result.map_err(|e| e.to_string())
    }

    fn client(&self, route: &Route, local: SocketAddr) -> Result<RegisterClient, String> {
        let transport = transport_param(route.transport);
        let contact = Uri::parse(&format!(
            "sip:{}@{}{transport}",
            self.plan.contact_user,
            host_port(local)
        ))
        .map_err(|e| e.to_string())?
        .into_owned();
        let registrar = Uri::parse(&format!("sip:{}", self.plan.domain))
            .map_err(|e| e.to_string())?
            .into_owned();
        let config = RegisterConfig {
            aor: self.plan.aor.clone(),
            registrar,
            contact,
            expires: self.plan.expires,
            call_id: format!("{}@{}", random::tag(), local.ip()),
            from_tag: random::tag(),
            branch_prefix: random::letters(10),
            user_agent: self.services.user_agent.clone(),
            backoff_min: Duration::from_secs(5),
            backoff_max: Duration::from_secs(600),
        };
        Ok(RegisterClient::new(
            config,
            CredentialStore::with_default(&self.plan.username, &self.plan.password),
        ))
    }

    fn via(route: &Route, local: SocketAddr) -> String {
        via_without_branch(route.transport, local)
    }

    /// Sends `request` and every follow-up the client asks for, until an
    /// outcome that is not another request.
    async fn exchange(
        &mut self,
        client: &mut RegisterClient,
        route: &Route,
        mut request: Request,
    ) -> RegisterOutcome {
        let target = Target {
            addr: route.socket_addr(),
            transport: route.transport,
        };
        let tls_name = self.plan.tls_name.clone();
        // Bounded: challenges and 423s cannot go on forever.
        for _ in 0..8 {
            let sent = self
                .services
                .engine
                .request(request, target, Some(&tls_name))
                .await;
            let answer = match sent {
                Ok(mut answers) => {
                    let answer = answers.final_response().await;
                    if answer.is_none() {
                        self.transport_error = answers.failure();
                    }
                    answer
                }
                Err(e) => {
                    self.transport_error = Some(e.to_string());
                    None
                }
            };
            let outcome = match answer {
                Some(response) => {
                    self.post(NotificationData::SIPAccountRegistrationGotAnswer {
                        code: response.status.code(),
                        reason: response.reason().to_owned(),
                        registrar: *route,
                    });
                    client.handle_response(&response)
                }
                None => client.handle_timeout(),
            };
            match outcome {
                RegisterOutcome::Send(next) => request = next,
                other => return other,
            }
        }
        client.handle_timeout()
    }

    /// One registration on `route`, refreshed until it fails or the
    /// account stops; then unregisters.
    async fn on_route(&mut self, route: Route) -> Step {
        let Some(local) = self
            .services
            .engine
            .local_addr_towards(route.transport, route.socket_addr())
        else {
            return Step::Failed(Duration::ZERO, true, None);
        };
        let mut client = match self.client(&route, local) {
            Ok(c) => c,
            Err(e) => return Step::Failed(Duration::from_secs(60), false, Some(e)),
        };
        let via = Self::via(&route, local);
        let mut refreshing = false;
        loop {
            if refreshing {
                self.post(NotificationData::SIPAccountRegistrationWillRefresh);
            }
            let request = client.register(&via);
            let permit = self.services.registering.clone().acquire_owned().await;
            let outcome = self.exchange(&mut client, &route, request).await;
            drop(permit);
            let step = match outcome {
                RegisterOutcome::Registered {
                    expires,
                    refresh_in,
                    contacts,
                } => {
                    self.failed_rounds = 0;
                    self.post(NotificationData::SIPAccountRegistrationDidSucceed {
                        contact_header: format!("<{}>", client.contact()),
                        contact_header_list: contacts,
                        expires,
                        registrar: route,
                    });
                    Step::Registered(refresh_in)
                }
                RegisterOutcome::Failed {
                    code,
                    reason,
                    retry_in,
                    next_route,
                } => {
                    let error = match code {
                        Some(c) if !reason.starts_with(&c.to_string()) => format!("{c} {reason}"),
                        _ => reason,
                    };
                    return Step::Failed(retry_in, next_route, Some(error));
                }
                RegisterOutcome::Unregistered | RegisterOutcome::Send(_) => Step::Failed(
                    Duration::from_secs(5),
                    false,
                    Some("unexpected answer to REGISTER".into()),
                ),
            };
            let Step::Registered(refresh_in) = step else {
                return step;
            };
            if self.wait(refresh_in).await {
                self.unregister(&mut client, &route, &via).await;
                return Step::Stopped;
            }
            refreshing = true;
        }
    }

    async fn unregister(&mut self, client: &mut RegisterClient, route: &Route, via: &str) {
        let request = client.unregister(via);
        // Waiting for a turn counts against the grace: stopping stays
        // bounded however many accounts there are.
        let outcome = tokio::time::timeout(UNREGISTER_GRACE, async {
            let _permit = self.services.registering.clone().acquire_owned().await;
            self.exchange(client, route, request).await
        })
        .await;
        match outcome {
            Ok(RegisterOutcome::Unregistered) => {
                self.post(NotificationData::SIPAccountRegistrationDidEnd)
            }
            Ok(RegisterOutcome::Failed { code, reason, .. }) => {
                self.post(NotificationData::SIPAccountRegistrationDidNotEnd {
                    code: code.unwrap_or(408),
                    reason,
                })
            }
            Ok(_) | Err(_) => self.post(NotificationData::SIPAccountRegistrationDidNotEnd {
                code: 408,
                reason: "no answer to the unregistration".into(),
            }),
        }
    }

    /// Runs until the account stops.
    pub async fn run(mut self) {
        self.post(NotificationData::SIPAccountWillRegister);
        loop {
            let routes = match self.routes().await {
                Ok(r) => r,
                Err(error) => {
                    let retry_in = Duration::from_secs(30);
                    self.post(NotificationData::SIPAccountRegistrationDidFail { error, retry_in });
                    if self.wait(retry_in).await {
                        return;
                    }
                    continue;
                }
            };
            let mut retry_in = Duration::ZERO;
            self.transport_error = None;
            let mut error = "no registrar answered".to_owned();
            for route in routes {
                match self.on_route(route).await {
                    Step::Stopped => return,
                    Step::Failed(d, next_route, e) => {
                        retry_in = retry_in.max(d);
                        if let (false, Some(e)) = (next_route, e) {
                            error = e;
                            break;
                        }
                    }
                    Step::Registered(_) => {}
                }
                if *self.stop.borrow() {
                    return;
                }
            }
            if let (true, Some(why)) = (error == "no registrar answered", &self.transport_error) {
                error = format!("no registrar answered: {why}");
            }
            self.failed_rounds = self.failed_rounds.saturating_add(1);
            retry_in = retry_in.max(backoff(self.failed_rounds));
            self.post(NotificationData::SIPAccountRegistrationDidFail { error, retry_in });
            if self.wait(retry_in).await {
                return;
            }
        }
    }
}
