//! The RFC 3903 publication client against a scripted presence agent (an
//! event state compositor written from RFC 3903 §6 in this file), through
//! the transaction layer, on virtual time, over an in-memory network that
//! drops, duplicates and reorders datagrams (`sim_net::DatagramNetwork`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sim_net::{next_event, DatagramNetwork, Rng};
use sip_proto::digest::{Algorithm, CredentialStore, DigestInput};
use sip_proto::headers::{Credentials, HeaderName};
use sip_proto::invite::Body;
use sip_proto::publication::{PublicationState, PublishConfig, PublishOutcome, Publisher};
use sip_proto::transaction::{
    ClientKey, Event, ServerKey, Target, TimerConfig, Transactions, TransportKind,
};
use sip_proto::uri::Uri;
use sip_proto::{Message, Request, Response, StatusCode};

fn target(i: usize) -> Target {
    Target {
        addr: SocketAddr::from(([127, 0, 0, 1], 5060 + i as u16)),
        transport: TransportKind::Udp,
    }
}

fn pidf(note: &str) -> Body {
    Body {
        content_type: "application/pidf+xml".into(),
        data: format!("<presence><note>{note}</note></presence>").into_bytes(),
    }
}

/// The presence agent: entities by entity tag (RFC 3903 §6).
#[derive(Default)]
struct Agent {
    min_expires: u32,
    max_expires: u32,
    /// Challenge requests without valid credentials (digest, MD5).
    password: Option<&'static str>,
    entities: HashMap<String, (Vec<u8>, Instant)>,
    next_tag: u32,
    /// Entities that expired before a refresh came.
    expired: usize,
    /// Status codes sent, in order.
    answers: Vec<u16>,
}

impl Agent {
    fn authorized(&self, req: &Request) -> bool {
        let Some(password) = self.password else {
            return true;
        };
        let Some(c) = req
            .headers
            .get_str(&HeaderName::Authorization)
            .and_then(|v| Credentials::parse(v).ok())
        else {
            return false;
        };
        let p = |n: &str| c.param(n).map(|v| v.into_owned()).unwrap_or_default();
        let input = DigestInput {
            algorithm: Algorithm::Md5,
            username: &p("username"),
            realm: &p("realm"),
            password,
            method: "PUBLISH",
            uri: &p("uri"),
            nonce: &p("nonce"),
            cnonce: &p("cnonce"),
            nc: u32::from_str_radix(&p("nc"), 16).unwrap_or(0),
            qop: Some("auth"),
            body: b"",
        };
        p("nonce") == "pa-nonce" && input.response() == p("response")
    }

    fn expire(&mut self, now: Instant) {
        let before = self.entities.len();
        self.entities.retain(|_, (_, at)| *at > now);
        self.expired += before - self.entities.len();
    }

    fn respond(&mut self, req: &Request, now: Instant) -> Response {
        self.expire(now);
        let r = self.answer(req, now);
        self.answers.push(r.status.code());
        r
    }

    fn answer(&mut self, req: &Request, now: Instant) -> Response {
        let reply =
            |code: u16| Response::for_request(req, StatusCode::new(code).unwrap(), Some("pa"));
        if !self.authorized(req) {
            let mut r = reply(401);
            r.headers.push(
                HeaderName::WwwAuthenticate,
                "Digest realm=\"example.test\", nonce=\"pa-nonce\", qop=\"auth\", algorithm=MD5",
            );
            return r;
        }
        if req.headers.get_str(&HeaderName::Event) != Some("presence") {
            let mut r = reply(489);
            r.headers.push(HeaderName::AllowEvents, "presence");
            return r;
        }
        let expires: u32 = req
            .headers
            .get_str(&HeaderName::Expires)
            .map_or(3600, |e| e.parse().unwrap());
        if expires != 0 && expires < self.min_expires {
            let mut r = reply(423);
            r.headers
                .push(HeaderName::MinExpires, self.min_expires.to_string());
            return r;
        }
        let granted = expires.min(self.max_expires);
        let body = match req.headers.get_str(&HeaderName::SipIfMatch) {
            Some(tag) => {
                let Some((old, _)) = self.entities.remove(tag) else {
                    return reply(412);
                };
                if req.body.is_empty() {
                    old
                } else {
                    req.body.to_vec()
                }
            }
            None if req.body.is_empty() => return reply(400),
            None => req.body.to_vec(),
        };
        let mut r = reply(200);
        if granted == 0 {
            return r;
        }
        self.next_tag += 1;
        let tag = format!("pa{}", self.next_tag);
        self.entities.insert(
            tag.clone(),
            (body, now + Duration::from_secs(u64::from(granted))),
        );
        r.headers.push(HeaderName::SipETag, tag);
        r.headers.push(HeaderName::Expires, granted.to_string());
        r
    }

    fn bodies(&self) -> Vec<String> {
        self.entities
            .values()
            .map(|(b, _)| String::from_utf8(b.clone()).unwrap())
            .collect()
    }
}

struct Sim {
    start: Instant,
    now: Instant,
    tx: [Transactions; 2],
    /// Datagrams: (to node, from, bytes).
    net: DatagramNetwork<(usize, Target, Bytes)>,
    client: Publisher,
    agent: Agent,
    in_flight: Vec<ClientKey>,
    /// When to refresh, and when to retry after a failure.
    refresh_at: Option<Instant>,
    /// Every PUBLISH sent (once per transaction), timed.
    sent: Vec<(Duration, Request)>,
    outcomes: Vec<PublishOutcome>,
    /// At this time the agent restarts and forgets every entity.
    forget_at: Option<Duration>,
}

impl Sim {
    fn new(seed: u64, loss: f64, dup: f64, expires: u32, agent: Agent) -> Sim {
        let start = Instant::now();
        let config = PublishConfig {
            aor: Uri::parse("sip:alice@127.0.0.1:5061").unwrap().into_owned(),
            event: "presence".into(),
            expires,
            call_id: "pub-1@127.0.0.1".into(),
            from_tag: "alice-p".into(),
            via: "SIP/2.0/UDP 127.0.0.1:5060;rport".into(),
            branch_prefix: "p".into(),
            user_agent: None,
        };
        Sim {
            start,
            now: start,
            tx: [
                Transactions::new(TimerConfig::default()),
                Transactions::new(TimerConfig::default()),
            ],
            net: DatagramNetwork::new(Rng::new(seed), loss, dup),
            client: Publisher::new(config, CredentialStore::with_default("alice", "s3cret")),
            agent,
            in_flight: Vec::new(),
            refresh_at: None,
            sent: Vec::new(),
            outcomes: Vec::new(),
            forget_at: None,
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn send(&mut self, r: Request) {
        self.sent.push((self.elapsed(), r.clone()));
        let key = self.tx[0].send_request(self.now, r, target(1)).unwrap();
        self.in_flight.push(key);
    }

    fn outcome(&mut self, o: PublishOutcome) {
        match &o {
            PublishOutcome::Send(r) => self.send(r.clone()),
            PublishOutcome::Published { refresh_in, .. } => {
                self.refresh_at = Some(self.now + *refresh_in)
            }
            PublishOutcome::Removed => self.refresh_at = None,
            PublishOutcome::Failed { retry_in, .. } => {
                self.refresh_at = retry_in.map(|d| self.now + d)
            }
        }
        self.outcomes.push(o);
    }

    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            for i in 0..2 {
                while let Some(t) = self.tx[i].poll_transmit() {
                    progressed = true;
                    let to = 1 - i;
                    self.net.send(self.now, (to, target(i), t.data.clone()));
                }
                while let Some(e) = self.tx[i].poll_event() {
                    progressed = true;
                    self.on_event(i, e);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_event(&mut self, node: usize, e: Event) {
        let now = self.now;
        match (node, e) {
            (1, Event::Request { key, request, .. }) => self.answer(key, &request, now),
            (0, Event::Response { key, response }) if response.status.is_final() => {
                self.in_flight.retain(|k| *k != key);
                if let Some(o) = self.client.handle_response(&response) {
                    self.outcome(o);
                }
            }
            (0, Event::Timeout { key }) => {
                self.in_flight.retain(|k| *k != key);
                let o = self.client.handle_timeout();
                self.outcome(o);
            }
            _ => {}
        }
    }

    fn answer(&mut self, key: ServerKey, request: &Request, now: Instant) {
        let r = self.agent.respond(request, now);
        self.tx[1].send_response(now, &key, r).unwrap();
    }

    fn run_until(&mut self, limit: Duration) {
        self.drain();
        loop {
            let next = [
                self.net.next_due(),
                self.tx.iter().filter_map(|t| t.poll_timeout()).min(),
                self.refresh_at,
                self.forget_at.map(|d| self.start + d),
            ];
            let Some(t) = next_event(next, self.start + limit) else {
                break;
            };
            self.now = self.now.max(t);
            if self.forget_at.is_some_and(|d| self.start + d <= self.now) {
                self.forget_at = None;
                self.agent.entities.clear();
            }
            for (to, from, data) in self.net.take_due(self.now) {
                let msg = Message::parse(data).expect("our own messages parse");
                self.tx[to].handle_message(self.now, msg, from);
            }
            for t in &mut self.tx {
                t.handle_timeout(self.now);
            }
            if self.refresh_at.is_some_and(|t| t <= self.now) {
                self.refresh_at = None;
                let r = match self.client.refresh() {
                    Some(r) => r,
                    None => self.client.publish(pidf("retry")),
                };
                self.send(r);
            }
            self.drain();
        }
        self.now = self.start + limit;
        self.agent.expire(self.now);
    }

    fn publish(&mut self, note: &str) {
        let r = self.client.publish(pidf(note));
        self.send(r);
        self.drain();
    }
}

fn agent() -> Agent {
    Agent {
        min_expires: 60,
        max_expires: 600,
        ..Agent::default()
    }
}

fn if_match(r: &Request) -> Option<&str> {
    r.headers.get_str(&HeaderName::SipIfMatch)
}

#[test]
fn refreshes_keep_the_state_alive_under_loss() {
    for seed in 1..=10u64 {
        let mut sim = Sim::new(seed, 0.2, 0.1, 3600, agent());
        sim.publish("open");
        sim.run_until(Duration::from_secs(4000));
        assert_eq!(
            sim.agent.expired, 0,
            "seed {seed}: the state expired at the agent"
        );
        assert_eq!(sim.agent.bodies().len(), 1, "seed {seed}");
        assert!(sim.agent.bodies()[0].contains("open"));
        // Granted 600 s: refreshes every 540 s, each with the last tag and no body.
        let refreshes: Vec<_> = sim
            .sent
            .iter()
            .filter(|(_, r)| if_match(r).is_some())
            .collect();
        assert!(
            refreshes.len() >= 7,
            "seed {seed}: {} refreshes",
            refreshes.len()
        );
        let mut last = Duration::ZERO;
        for (t, r) in &refreshes {
            assert!(r.body.is_empty());
            assert!(
                *t - last < Duration::from_secs(600) && *t - last > Duration::from_secs(400),
                "seed {seed}: {t:?}"
            );
            last = *t;
        }
        assert!(matches!(
            sim.client.state(),
            PublicationState::Published { expires: 600, .. }
        ));
    }
}

#[test]
fn precondition_failed_after_an_agent_restart_republishes() {
    let mut sim = Sim::new(4, 0.1, 0.1, 600, agent());
    sim.forget_at = Some(Duration::from_secs(100));
    sim.publish("busy");
    sim.run_until(Duration::from_secs(560));
    assert!(sim.agent.answers.contains(&412), "{:?}", sim.agent.answers);
    // The answer to the 412 is a fresh PUBLISH with the body we publish.
    let after: Vec<_> = sim
        .sent
        .iter()
        .skip_while(|(_, r)| if_match(r).is_none())
        .skip(1)
        .collect();
    let (_, fresh) = after.first().expect("a PUBLISH after the failed refresh");
    assert_eq!(if_match(fresh), None);
    assert!(String::from_utf8_lossy(&fresh.body).contains("busy"));
    assert_eq!(sim.agent.bodies().len(), 1);
    assert!(sim.agent.bodies()[0].contains("busy"));
    assert!(matches!(
        sim.client.state(),
        PublicationState::Published { .. }
    ));
}

#[test]
fn interval_too_brief_and_digest() {
    let mut a = agent();
    a.min_expires = 1200;
    a.max_expires = 7200;
    a.password = Some("s3cret");
    let mut sim = Sim::new(6, 0.2, 0.1, 300, a);
    sim.publish("open");
    sim.run_until(Duration::from_secs(60));
    assert_eq!(
        sim.agent.answers,
        [401, 423, 200],
        "{:?}",
        sim.agent.answers
    );
    assert_eq!(sim.client.expires(), 1200);
    let last = &sim.sent.last().unwrap().1;
    assert!(last.headers.contains(&HeaderName::Authorization));
    assert_eq!(last.headers.get_str(&HeaderName::Expires), Some("1200"));
    assert!(matches!(
        sim.client.state(),
        PublicationState::Published { expires: 1200, .. }
    ));
}

#[test]
fn modify_then_remove() {
    let mut sim = Sim::new(8, 0.2, 0.1, 600, agent());
    sim.publish("open");
    sim.run_until(Duration::from_secs(30));
    let tag = sim.client.etag().unwrap().to_owned();
    sim.publish("away");
    sim.run_until(Duration::from_secs(60));
    let modify = &sim.sent[1].1;
    assert_eq!(if_match(modify), Some(tag.as_str()));
    assert_eq!(sim.agent.bodies().len(), 1);
    assert!(sim.agent.bodies()[0].contains("away"));
    assert_ne!(
        sim.client.etag(),
        Some(tag.as_str()),
        "a new tag for the new state"
    );
    let remove = sim.client.remove().unwrap();
    sim.send(remove);
    sim.run_until(Duration::from_secs(120));
    assert!(sim.agent.entities.is_empty());
    assert_eq!(sim.client.state(), &PublicationState::Idle);
    assert_eq!(sim.outcomes.last(), Some(&PublishOutcome::Removed));
}
