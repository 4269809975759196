//! The sans-IO registration client against a registrar written from
//! RFC 3261 §10.3 in this file: digest challenge and check, 423 with
//! Min-Expires, the granted expiry, wrong passwords, failures and backoff.

use std::time::Duration;

use sip_proto::digest::{Algorithm, CredentialStore, DigestInput};
use sip_proto::headers::{Credentials, HeaderName};
use sip_proto::registration::{refresh_in, RegisterClient, RegisterConfig, RegisterOutcome};
use sip_proto::uri::Uri;
use sip_proto::{Request, Response, StatusCode};

const VIA: &str = "SIP/2.0/UDP 192.0.2.1:5060;rport";

fn config() -> RegisterConfig {
    RegisterConfig {
        aor: Uri::parse("sip:alice@example.test").unwrap().into_owned(),
        registrar: Uri::parse("sip:example.test").unwrap().into_owned(),
        contact: Uri::parse("sip:qwertyui@192.0.2.1:5060")
            .unwrap()
            .into_owned(),
        expires: 600,
        call_id: "reg-1@192.0.2.1".into(),
        from_tag: "ft1".into(),
        branch_prefix: "abc".into(),
        user_agent: Some("test-ua".into()),
        backoff_min: Duration::from_secs(10),
        backoff_max: Duration::from_secs(60),
    }
}

fn client(password: &str) -> RegisterClient {
    RegisterClient::new(config(), CredentialStore::with_default("alice", password))
}

/// A registrar with one user, a minimum expiry, and digest (MD5, qop=auth).
struct Registrar {
    password: &'static str,
    min_expires: u32,
    nonce: &'static str,
    binding: Option<(String, u32)>,
}

impl Registrar {
    fn new() -> Self {
        Registrar {
            password: "s3cret",
            min_expires: 60,
            nonce: "n0nce",
            binding: None,
        }
    }

    fn respond(&mut self, req: &Request) -> Response {
        let ok_auth = req
            .headers
            .get_str(&HeaderName::Authorization)
            .and_then(|v| Credentials::parse(v).ok())
            .is_some_and(|c| self.check(req, &c));
        if !ok_auth {
            let mut r = Response::for_request(req, StatusCode::UNAUTHORIZED, Some("rt"));
            r.headers.push(
                HeaderName::WwwAuthenticate,
                format!(
                    "Digest realm=\"example.test\", nonce=\"{}\", qop=\"auth\", algorithm=MD5",
                    self.nonce
                ),
            );
            return r;
        }
        let expires: u32 = req
            .headers
            .get_str(&HeaderName::Expires)
            .unwrap()
            .parse()
            .unwrap();
        if expires != 0 && expires < self.min_expires {
            let mut r = Response::for_request(req, StatusCode::new(423).unwrap(), Some("rt"));
            r.headers
                .push(HeaderName::MinExpires, self.min_expires.to_string());
            return r;
        }
        let contact = req
            .headers
            .get_str(&HeaderName::Contact)
            .unwrap()
            .to_owned();
        // The registrar may shorten the expiry (§10.3 step 7).
        let granted = expires.min(300);
        self.binding = (expires != 0).then(|| (contact.clone(), granted));
        let mut r = Response::for_request(req, StatusCode::OK, Some("rt"));
        if let Some((c, e)) = &self.binding {
            r.headers
                .push(HeaderName::Contact, format!("{c};expires={e}"));
            r.headers
                .push(HeaderName::Contact, "<sip:alice@198.51.100.7>;expires=100");
        }
        r
    }

    fn check(&self, req: &Request, c: &Credentials<'_>) -> bool {
        let p = |n: &str| c.param(n).map(|v| v.into_owned()).unwrap_or_default();
        let nc = u32::from_str_radix(&p("nc"), 16).unwrap_or(0);
        let input = DigestInput {
            algorithm: Algorithm::Md5,
            username: &p("username"),
            realm: &p("realm"),
            password: self.password,
            method: "REGISTER",
            uri: &p("uri"),
            nonce: &p("nonce"),
            cnonce: &p("cnonce"),
            nc,
            qop: Some("auth"),
            body: b"",
        };
        p("nonce") == self.nonce
            && p("username") == "alice"
            && p("uri") == req.uri_str()
            && input.response() == p("response")
    }
}

fn send(outcome: RegisterOutcome) -> Request {
    match outcome {
        RegisterOutcome::Send(r) => r,
        other => panic!("expected a request to send, got {other:?}"),
    }
}

#[test]
fn registers_through_a_digest_challenge_and_a_423() {
    let mut registrar = Registrar::new();
    registrar.min_expires = 900;
    let mut c = client("s3cret");
    let first = c.register(VIA);
    assert_eq!(first.headers.get_str(&HeaderName::Expires), Some("600"));
    assert_eq!(first.headers.get_str(&HeaderName::CSeq), Some("1 REGISTER"));
    assert_eq!(
        first.headers.get_str(&HeaderName::UserAgent),
        Some("test-ua")
    );

    // 401 → the same REGISTER, new CSeq and branch, with Authorization.
    let second = send(c.handle_response(&registrar.respond(&first)));
    assert_eq!(
        second.headers.get_str(&HeaderName::CSeq),
        Some("2 REGISTER")
    );
    assert_ne!(
        second.headers.get_str(&HeaderName::Via),
        first.headers.get_str(&HeaderName::Via)
    );
    assert_eq!(
        second.headers.get_str(&HeaderName::CallId),
        first.headers.get_str(&HeaderName::CallId),
        "one Call-ID for the whole registration (§10.2.4)"
    );
    assert!(second.headers.contains(&HeaderName::Authorization));

    // 423 → asks again with Min-Expires, keeping the credentials.
    let third = send(c.handle_response(&registrar.respond(&second)));
    assert_eq!(third.headers.get_str(&HeaderName::Expires), Some("900"));
    assert!(third.headers.contains(&HeaderName::Authorization));
    assert_eq!(c.expires(), 900);

    match c.handle_response(&registrar.respond(&third)) {
        RegisterOutcome::Registered {
            expires,
            refresh_in: r,
            contacts,
        } => {
            assert_eq!(expires, 300, "our Contact's expires, not the other one");
            assert_eq!(r, refresh_in(300));
            assert_eq!(
                contacts,
                ["sip:qwertyui@192.0.2.1:5060", "sip:alice@198.51.100.7"]
            );
        }
        other => panic!("not registered: {other:?}"),
    }
    assert!(registrar.binding.is_some());

    // Unregister: Expires 0, the registrar challenges again, then removes.
    let un = c.unregister(VIA);
    assert_eq!(un.headers.get_str(&HeaderName::Expires), Some("0"));
    let un = send(c.handle_response(&registrar.respond(&un)));
    assert_eq!(
        c.handle_response(&registrar.respond(&un)),
        RegisterOutcome::Unregistered
    );
    assert!(registrar.binding.is_none());
}

#[test]
fn a_refresh_may_be_challenged_again() {
    let mut registrar = Registrar::new();
    let mut c = client("s3cret");
    for _ in 0..3 {
        let r = c.register(VIA);
        let r = send(c.handle_response(&registrar.respond(&r)));
        assert!(matches!(
            c.handle_response(&registrar.respond(&r)),
            RegisterOutcome::Registered { .. }
        ));
    }
}

#[test]
fn a_wrong_password_fails_once_instead_of_looping() {
    let mut registrar = Registrar::new();
    let mut c = client("wrong");
    let r = c.register(VIA);
    let r = send(c.handle_response(&registrar.respond(&r)));
    match c.handle_response(&registrar.respond(&r)) {
        RegisterOutcome::Failed {
            code,
            reason,
            next_route,
            ..
        } => {
            assert_eq!(code, Some(401));
            assert!(reason.contains("authentication failed"), "{reason}");
            assert!(!next_route, "another registrar would refuse it too");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn failures_back_off_and_honour_retry_after() {
    let mut c = client("s3cret");
    let req = c.register(VIA);
    let retry = |o: RegisterOutcome| match o {
        RegisterOutcome::Failed {
            retry_in,
            next_route,
            ..
        } => (retry_in, next_route),
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(retry(c.handle_timeout()), (Duration::from_secs(10), true));
    assert_eq!(retry(c.handle_timeout()), (Duration::from_secs(20), true));
    assert_eq!(retry(c.handle_timeout()), (Duration::from_secs(40), true));
    assert_eq!(retry(c.handle_timeout()), (Duration::from_secs(60), true));
    let mut unavailable = Response::for_request(&req, StatusCode::new(503).unwrap(), None);
    unavailable.headers.push(HeaderName::RetryAfter, "120");
    assert_eq!(
        retry(c.handle_response(&unavailable)),
        (Duration::from_secs(120), true)
    );
    let forbidden = Response::for_request(&req, StatusCode::new(403).unwrap(), None);
    assert_eq!(
        retry(c.handle_response(&forbidden)),
        (Duration::from_secs(60), false)
    );
    // Success resets the backoff.
    let ok = Response::for_request(&req, StatusCode::OK, Some("t"));
    assert!(matches!(
        c.handle_response(&ok),
        RegisterOutcome::Registered { expires: 600, .. }
    ));
    assert_eq!(retry(c.handle_timeout()).0, Duration::from_secs(10));
}

#[test]
fn a_423_without_a_larger_min_expires_fails() {
    let mut c = client("s3cret");
    let req = c.register(VIA);
    let mut r = Response::for_request(&req, StatusCode::new(423).unwrap(), None);
    r.headers.push(HeaderName::MinExpires, "30");
    assert!(matches!(
        c.handle_response(&r),
        RegisterOutcome::Failed {
            code: Some(423),
            ..
        }
    ));
}

#[test]
fn refresh_times() {
    assert_eq!(refresh_in(3600), Duration::from_secs(3540));
    assert_eq!(refresh_in(120), Duration::from_secs(90));
    assert_eq!(refresh_in(0), Duration::ZERO);
}

#[test]
fn reused_credentials_refused_after_a_423_are_answered_afresh() {
    let mut registrar = Registrar::new();
    registrar.min_expires = 900;
    let mut c = client("s3cret");
    let r = c.register(VIA);
    let r = send(c.handle_response(&registrar.respond(&r)));
    let r = send(c.handle_response(&registrar.respond(&r))); // 423
    registrar.nonce = "fresh-nonce"; // the old nonce is no longer accepted
    let r = send(c.handle_response(&registrar.respond(&r))); // 401 again
    assert!(matches!(
        c.handle_response(&registrar.respond(&r)),
        RegisterOutcome::Registered { .. }
    ));
}
