//! A registration client (RFC 3261 §10.2), sans-IO: it builds REGISTER
//! requests and reads their final responses; the caller sends them through
//! a client transaction, keeps the clock, and re-registers when told.
//!
//! What it handles: digest challenges (401/407, through [`crate::digest`],
//! once per challenge, so a wrong password ends instead of looping), 423
//! Interval Too Brief (retry with Min-Expires), the expiry the registrar
//! granted (our Contact's `expires` in the 2xx, else Expires, else what we
//! asked), the refresh time, and a failure's retry time (Retry-After, or a
//! doubling backoff between the configured bounds).
//!
//! What it does not: choosing the registrar's address (RFC 3263 and
//! failover are the caller's: it tries the next route on a failure whose
//! `next_route` is true), timers, sockets.

use std::time::Duration;

use crate::digest::{self, AuthError, CredentialStore, DigestState};
use crate::headers::{Contact, Expires, HeaderName, MinExpires, RetryAfter};
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

/// What a registration is about: fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct RegisterConfig {
    /// The address of record (To and From), e.g. `sip:alice@example.com`.
    pub aor: Uri<'static>,
    /// The Request-URI: the registrar's domain, `sip:example.com`.
    pub registrar: Uri<'static>,
    /// Our Contact URI.
    pub contact: Uri<'static>,
    /// The expiry to ask for, in seconds.
    pub expires: u32,
    /// One Call-ID for every REGISTER of this registration (§10.2.4).
    pub call_id: String,
    pub from_tag: String,
    /// Unique per client; branches are this plus the CSeq.
    pub branch_prefix: String,
    pub user_agent: Option<String>,
    /// Retry delays after a failure: first, then doubling up to the max.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

/// What the caller does next with a final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Send this request (an answer to a challenge, or a longer expiry
    /// after 423) in a new client transaction.
    Send(Request),
    /// Registered: the registrar keeps our binding for `expires` seconds;
    /// register again after `refresh_in`. `contacts` are every binding
    /// the registrar listed for the AOR.
    Registered {
        expires: u32,
        refresh_in: Duration,
        contacts: Vec<String>,
    },
    /// Our binding is removed (answer to an unregister).
    Unregistered,
    /// The attempt failed; try again after `retry_in`. `next_route`: the
    /// failure is about this registrar (timeout, 5xx), so another route
    /// may do better now.
    Failed {
        code: Option<u16>,
        reason: String,
        retry_in: Duration,
        next_route: bool,
    },
}

/// One registration's state between requests.
#[derive(Debug)]
pub struct RegisterClient {
    config: RegisterConfig,
    credentials: CredentialStore,
    digest: DigestState,
    cseq: u32,
    expires: u32,
    /// The last request sent, to answer a challenge to it.
    last: Option<Request>,
    failures: u32,
    cnonce_counter: u64,
    /// The last request reused earlier credentials rather than answering
    /// a challenge: a 401 to it is a new challenge, not a rejection.
    reused_credentials: bool,
}

impl RegisterClient {
    pub fn new(config: RegisterConfig, credentials: CredentialStore) -> Self {
        RegisterClient {
            expires: config.expires,
            config,
            credentials,
            digest: DigestState::default(),
            cseq: 0,
            last: None,
            failures: 0,
            cnonce_counter: 0,
            reused_credentials: false,
        }
    }

    /// The Contact URI this client registers.
    pub fn contact(&self) -> &Uri<'static> {
        &self.config.contact
    }

    /// The expiry currently asked for (raised by a 423).
    pub fn expires(&self) -> u32 {
        self.expires
    }

    /// A REGISTER adding or refreshing our binding. `via` is the Via value
    /// without branch, e.g. `SIP/2.0/UDP 192.0.2.1:5060;rport`.
    pub fn register(&mut self, via: &str) -> Request {
        // A new round forgets answered realms so a refresh may be
        // challenged again without counting as a rejection.
        self.digest = DigestState::default();
        self.reused_credentials = false;
        let r = self.build(via, self.expires);
        self.last = Some(r.clone());
        r
    }

    /// A REGISTER removing our binding (Expires 0).
    pub fn unregister(&mut self, via: &str) -> Request {
        self.digest = DigestState::default();
        self.reused_credentials = false;
        let r = self.build(via, 0);
        self.last = Some(r.clone());
        r
    }

    fn build(&mut self, via: &str, expires: u32) -> Request {
        self.cseq = self.cseq.wrapping_add(1).max(1);
        let c = &self.config;
        let mut r = Request::new(Method::Register, &c.registrar);
        let h = &mut r.headers;
        h.push(
            HeaderName::Via,
            format!("{via};branch=z9hG4bK{}{}", c.branch_prefix, self.cseq),
        );
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, format!("<{}>;tag={}", c.aor, c.from_tag));
        h.push(HeaderName::To, format!("<{}>", c.aor));
        h.push(HeaderName::CallId, c.call_id.as_str());
        h.push(HeaderName::CSeq, format!("{} REGISTER", self.cseq));
        h.push(HeaderName::Contact, format!("<{}>", c.contact));
        h.push(HeaderName::Expires, expires.to_string());
        if let Some(ua) = &c.user_agent {
            h.push(HeaderName::UserAgent, ua.as_str());
        }
        h.push(HeaderName::ContentLength, "0");
        r
    }

    /// The same request with a new branch and CSeq (§10.2: a retry is a
    /// new transaction).
    fn rebuild(&mut self, expires: u32) -> Option<Request> {
        let last = self.last.as_ref()?;
        let via = last.headers.get_str(&HeaderName::Via)?;
        let via = via.split(";branch=").next().unwrap_or(via).to_owned();
        let r = self.build(&via, expires);
        Some(r)
    }

    /// Copies the last request's credentials into `request` (RFC 3261
    /// §22.3: credentials for a realm are reused for later requests).
    fn copy_credentials(&self, request: &mut Request) {
        if let Some(last) = &self.last {
            for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
                for h in last.headers.get_all(&name) {
                    request.headers.push_copy(h);
                }
            }
        }
    }

    fn failed(
        &mut self,
        code: Option<u16>,
        reason: String,
        retry_after: Option<u32>,
        next_route: bool,
    ) -> RegisterOutcome {
        self.failures = self.failures.saturating_add(1);
        let backoff = self
            .config
            .backoff_min
            .saturating_mul(1u32 << self.failures.saturating_sub(1).min(16))
            .min(self.config.backoff_max);
        let retry_in = retry_after.map_or(backoff, |s| Duration::from_secs(u64::from(s)));
        RegisterOutcome::Failed {
            code,
            reason,
            retry_in,
            next_route,
        }
    }

    /// The transaction ended without a final response (Timer F).
    pub fn handle_timeout(&mut self) -> RegisterOutcome {
        self.failed(Some(408), "no answer from the registrar".into(), None, true)
    }

    /// Reads a final response to the last request.
    pub fn handle_response(&mut self, response: &Response) -> RegisterOutcome {
        let code = response.status.code();
        let asked_expires = self
            .last
            .as_ref()
            .and_then(|r| r.headers.typed::<Expires>())
            .and_then(Result::ok)
            .map_or(self.expires, |e| e.0);
        match code {
            200..=299 if asked_expires == 0 => {
                self.failures = 0;
                RegisterOutcome::Unregistered
            }
            200..=299 => self.registered(response),
            401 | 407 => self.challenge(response, asked_expires),
            423 => {
                let min = response
                    .headers
                    .typed::<MinExpires>()
                    .and_then(Result::ok)
                    .map(|m| m.0);
                match min {
                    Some(min) if min > self.expires => {
                        self.expires = min;
                        match self.rebuild(min) {
                            Some(mut r) => {
                                self.copy_credentials(&mut r);
                                self.reused_credentials = true;
                                self.last = Some(r.clone());
                                RegisterOutcome::Send(r)
                            }
                            None => {
                                self.failed(Some(423), "no request to retry".into(), None, false)
                            }
                        }
                    }
                    _ => self.failed(
                        Some(423),
                        "423 without a usable Min-Expires".into(),
                        None,
                        false,
                    ),
                }
            }
            _ => {
                let retry_after = response
                    .headers
                    .typed::<RetryAfter>()
                    .and_then(Result::ok)
                    .map(|r| r.seconds);
                // A server error or "unavailable" is about this server;
                // a 4xx/6xx answer would be the same from any of them.
                let next_route = (500..600).contains(&code) || code == 408;
                self.failed(
                    Some(code),
                    format!("{code} {}", response.reason()),
                    retry_after,
                    next_route,
                )
            }
        }
    }

    fn challenge(&mut self, response: &Response, asked_expires: u32) -> RegisterOutcome {
        let code = response.status.code();
        let Some(mut request) = self.rebuild(asked_expires) else {
            return self.failed(Some(code), "no request to authorize".into(), None, false);
        };
        if std::mem::take(&mut self.reused_credentials) {
            // The reused credentials were refused (e.g. the nonce aged):
            // answer this challenge afresh.
            self.digest = DigestState::default();
        }
        // Keep earlier answers for other realms (several proxies);
        // `authorize` replaces those for the realms challenged now.
        self.copy_credentials(&mut request);
        self.cnonce_counter = self.cnonce_counter.wrapping_add(1);
        let cnonce = format!("{}{:x}", self.config.branch_prefix, self.cnonce_counter);
        match digest::authorize(
            &mut request,
            response,
            &self.credentials,
            &mut self.digest,
            &cnonce,
        ) {
            Ok(()) => {
                self.last = Some(request.clone());
                RegisterOutcome::Send(request)
            }
            Err(e @ AuthError::Rejected(_)) => self.failed(
                Some(code),
                format!("authentication failed: {e}"),
                None,
                false,
            ),
            Err(e) => self.failed(Some(code), e.to_string(), None, false),
        }
    }

    fn registered(&mut self, response: &Response) -> RegisterOutcome {
        self.failures = 0;
        let mut contacts = Vec::new();
        let mut ours = None;
        for c in response.headers.typed_all::<Contact>().flatten() {
            if let Some(a) = c.addr() {
                if a.uri.equivalent(&self.config.contact) {
                    ours = c.expires();
                }
                contacts.push(a.uri.to_string());
            }
        }
        let header = response
            .headers
            .typed::<Expires>()
            .and_then(Result::ok)
            .map(|e| e.0);
        let expires = ours.or(header).unwrap_or(self.expires);
        RegisterOutcome::Registered {
            expires,
            refresh_in: refresh_in(expires),
            contacts,
        }
    }
}

/// When to refresh a binding that lasts `expires` seconds: a minute
/// early for long ones, at three quarters for short ones.
pub fn refresh_in(expires: u32) -> Duration {
    let e = u64::from(expires);
    Duration::from_secs((e * 3 / 4).max(e.saturating_sub(60)))
}
