//! The network and the scripted notifier of tests/subscriptions.rs.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sim_net::{next_event, DatagramNetwork, Rng};
use sip_proto::digest::CredentialStore;
use sip_proto::headers::{HeaderName, NameAddr, To};
use sip_proto::invite::Body;
use sip_proto::subscription::{
    timeout_response, IncomingSubscription, NotifierConfig, SubStateValue, SubscribeConfig,
    Subscriber, SubscriberEvent, TerminationReason,
};
use sip_proto::transaction::{ClientKey, Event, Target, TimerConfig, Transactions, TransportKind};
use sip_proto::uri::Uri;
use sip_proto::{Message, Method, Request};

pub fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060 + i as u16))
}

pub fn target(i: usize) -> Target {
    Target {
        addr: addr(i),
        transport: TransportKind::Udp,
    }
}

/// The node a Request-URI `sip:x@127.0.0.1:506N` points at.
pub fn node_of_uri(uri: &str) -> usize {
    let port: u16 = uri
        .rsplit(':')
        .next()
        .and_then(|p| p.split(';').next())
        .and_then(|p| p.parse().ok())
        .expect("test URIs carry a port");
    usize::from(port - 5060)
}

pub fn uri(s: &str) -> Uri<'static> {
    Uri::parse(s).unwrap().into_owned()
}

pub fn sub_config(expires: u32) -> SubscribeConfig {
    SubscribeConfig {
        local: NameAddr::new(uri("sip:alice@example.test")),
        target: uri("sip:bob@127.0.0.1:5061"),
        contact: uri("sip:alice@127.0.0.1:5060"),
        event: "presence".into(),
        event_id: Some("7".into()),
        accept: vec!["application/pidf+xml".into()],
        expires,
        supported: Vec::new(),
        call_id: "sub-1@127.0.0.1".into(),
        from_tag: "alice1".into(),
        via: "SIP/2.0/UDP 127.0.0.1:5060;rport".into(),
        branch_prefix: "s".into(),
        user_agent: None,
        body: None,
        retry_default: Duration::from_secs(90),
        notify_wait: TimerConfig::default().timeout(),
    }
}

/// `n` tells the subscriptions of one node apart: branches must be unique.
pub fn notifier_config(node: usize, n: usize, min_expires: u32) -> NotifierConfig {
    NotifierConfig {
        packages: vec!["presence".into()],
        min_expires,
        max_expires: 3600,
        default_expires: 600,
        contact: uri(&format!("sip:bob@127.0.0.1:{}", 5060 + node)),
        via: format!("SIP/2.0/UDP 127.0.0.1:{};rport", 5060 + node),
        branch_prefix: format!("n{node}s{n}x"),
        user_agent: None,
    }
}

pub fn pidf(n: u32) -> Body {
    Body {
        content_type: "application/pidf+xml".into(),
        data: format!("<presence n=\"{n}\"/>").into_bytes(),
    }
}

/// How the notifier behaves.
#[derive(Clone, Default)]
pub struct Script {
    pub min_expires: u32,
    /// Answer 202 and authorize after this long (winfo style).
    pub pending_for: Option<Duration>,
    /// Reject the pending subscription instead of authorizing it.
    pub reject: bool,
    /// Send the first NOTIFY and hold the 2xx back this long.
    pub notify_first: Option<Duration>,
    pub fork: bool,
    /// At this time, end every live subscription with this reason.
    pub terminate_at: Option<(Duration, TerminationReason, Option<u32>)>,
}

pub struct Notifier {
    pub node: usize,
    pub sub: IncomingSubscription,
    /// When to authorize (or reject) a pending one.
    pub decide_at: Option<Instant>,
}

pub struct Sim {
    pub start: Instant,
    pub now: Instant,
    pub tx: Vec<Transactions>,
    /// Datagrams: (to node, from, bytes).
    pub net: DatagramNetwork<(usize, Target, Bytes)>,
    pub subscriber: Subscriber,
    /// Requests in flight from the subscriber, to answer a timeout.
    pub in_flight: Vec<(ClientKey, Request)>,
    /// Every SUBSCRIBE the subscriber sent (once per transaction), timed.
    pub subscribes: Vec<(Duration, Request)>,
    pub events: Vec<(Duration, SubscriberEvent)>,
    pub notifiers: Vec<Notifier>,
    pub script: Script,
    /// Responses held back: (when, node, key, response).
    pub held: Vec<(
        Instant,
        usize,
        sip_proto::transaction::ServerKey,
        sip_proto::Response,
    )>,
    pub timeout_notifies: usize,
    pub body_counter: u32,
}

impl Sim {
    pub fn new(seed: u64, loss: f64, dup: f64, expires: u32, script: Script) -> Sim {
        let start = Instant::now();
        Sim {
            start,
            now: start,
            tx: (0..3)
                .map(|_| Transactions::new(TimerConfig::default()))
                .collect(),
            net: DatagramNetwork::new(Rng::new(seed), loss, dup),
            subscriber: Subscriber::new(sub_config(expires), CredentialStore::new()),
            in_flight: Vec::new(),
            subscribes: Vec::new(),
            events: Vec::new(),
            notifiers: Vec::new(),
            script,
            held: Vec::new(),
            timeout_notifies: 0,
            body_counter: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn body(&mut self) -> Body {
        self.body_counter += 1;
        pidf(self.body_counter)
    }

    pub fn send_notify(&mut self, node: usize, notify: Request) {
        let to = node_of_uri(notify.uri_str());
        assert_eq!(to, 0, "NOTIFYs go to the subscriber's Contact");
        self.tx[node]
            .send_request(self.now, notify, target(0))
            .unwrap();
    }

    pub fn on_subscribe(
        &mut self,
        node: usize,
        key: sip_proto::transaction::ServerKey,
        req: Request,
    ) {
        let now = self.now;
        let in_dialog = req
            .headers
            .typed::<To>()
            .and_then(Result::ok)
            .is_some_and(|t| t.tag().is_some());
        if in_dialog {
            let Some(i) = self
                .notifiers
                .iter()
                .position(|n| n.node == node && n.sub.matches(&req))
            else {
                let r = sip_proto::Response::for_request(
                    &req,
                    sip_proto::StatusCode::new(481).unwrap(),
                    None,
                );
                self.tx[node].send_response(now, &key, r).unwrap();
                return;
            };
            let resp = self.notifiers[i].sub.handle_subscribe(&req, now);
            self.tx[node]
                .send_response(now, &key, resp.clone())
                .unwrap();
            if resp.status.is_success() {
                let body = self.body();
                if let Ok(n) = self.notifiers[i].sub.notify(Some(&body), now) {
                    self.send_notify(node, n);
                }
            }
            return;
        }
        let pending = self.script.pending_for.is_some();
        let tag = format!("bob{}", self.notifiers.len() + 1);
        let cfg = notifier_config(node, self.notifiers.len(), self.script.min_expires);
        let (sub, resp) = match IncomingSubscription::accept(cfg, &req, &tag, pending, now) {
            Ok(x) => x,
            Err(r) => {
                self.tx[node].send_response(now, &key, *r).unwrap();
                return;
            }
        };
        let decide_at = self.script.pending_for.map(|d| now + d);
        let mut fresh = vec![Notifier {
            node,
            sub,
            decide_at,
        }];
        if self.script.fork {
            let tag2 = format!("bob{}f", self.notifiers.len() + 1);
            let (sub2, _swallowed) = IncomingSubscription::accept(
                notifier_config(2, self.notifiers.len(), 0),
                &req,
                &tag2,
                pending,
                now,
            )
            .unwrap();
            fresh.push(Notifier {
                node: 2,
                sub: sub2,
                decide_at,
            });
        }
        match self.script.notify_first {
            Some(d) => self.held.push((now + d, node, key, resp)),
            None => self.tx[node].send_response(now, &key, resp).unwrap(),
        }
        for mut n in fresh {
            let body = (!pending).then(|| self.body());
            let notify = n.sub.notify(body.as_ref(), now).unwrap();
            self.send_notify(n.node, notify);
            self.notifiers.push(n);
        }
    }

    pub fn on_event(&mut self, node: usize, e: Event) {
        let now = self.now;
        match (node, e) {
            (0, Event::Request { key, request, .. }) => {
                let resp = self.subscriber.handle_notify(&request, now);
                if std::env::var("DEBUG_SUBS").is_ok() {
                    eprintln!(
                        "{:?} NOTIFY -> {}\n{}",
                        self.elapsed(),
                        resp.status.code(),
                        Message::Request(request.clone())
                    );
                }
                self.tx[0].send_response(now, &key, resp).unwrap();
            }
            (0, Event::Response { key, response }) if response.status.is_final() => {
                self.in_flight.retain(|(k, _)| *k != key);
                self.subscriber.handle_response(&response, now);
            }
            (0, Event::Timeout { key }) => {
                if let Some(p) = self.in_flight.iter().position(|(k, _)| *k == key) {
                    let (_, req) = self.in_flight.remove(p);
                    self.subscriber
                        .handle_response(&timeout_response(&req), now);
                }
            }
            (n, Event::Request { key, request, .. }) if request.method == Method::Subscribe => {
                self.on_subscribe(n, key, request);
            }
            (n, Event::Response { response, .. }) if response.status.is_final() => {
                for x in self.notifiers.iter_mut().filter(|x| x.node == n) {
                    x.sub.handle_notify_response(&response);
                }
            }
            _ => {}
        }
    }

    /// Moves requests out of the cores and datagrams onto the wire.
    pub fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(r) = self.subscriber.poll_request() {
                progressed = true;
                self.subscribes.push((self.elapsed(), r.clone()));
                let to = node_of_uri(r.uri_str());
                let key = self.tx[0]
                    .send_request(self.now, r.clone(), target(to))
                    .unwrap();
                self.in_flight.push((key, r));
            }
            while let Some(e) = self.subscriber.poll_event() {
                self.events.push((self.elapsed(), e));
            }
            for i in 0..self.tx.len() {
                while let Some(t) = self.tx[i].poll_transmit() {
                    progressed = true;
                    let to = usize::from(t.target.addr.port() - 5060);
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

    /// The scripted notifier decisions and expiries due now.
    pub fn notifier_timers(&mut self) {
        let now = self.now;
        let held: Vec<_> = self.held.iter().filter(|h| h.0 <= now).cloned().collect();
        self.held.retain(|h| h.0 > now);
        for (_, node, key, resp) in held {
            self.tx[node].send_response(now, &key, resp).unwrap();
        }
        let terminate = match &self.script.terminate_at {
            Some((t, reason, after)) if self.start + *t <= now => Some((reason.clone(), *after)),
            _ => None,
        };
        if terminate.is_some() {
            self.script.terminate_at = None;
        }
        let mut out = Vec::new();
        let reject = self.script.reject;
        for n in &mut self.notifiers {
            if n.sub.is_done() {
                continue;
            }
            if let Some((reason, after)) = &terminate {
                out.push((
                    n.node,
                    n.sub.terminate(reason.clone(), *after, None).unwrap(),
                ));
                continue;
            }
            if n.decide_at.is_some_and(|t| t <= now) {
                n.decide_at = None;
                let r = if reject {
                    n.sub.reject().unwrap()
                } else {
                    n.sub.authorize(Some(&pidf(0)), now).unwrap()
                };
                out.push((n.node, r));
                continue;
            }
            if let Some(r) = n.sub.handle_timeout(now) {
                self.timeout_notifies += 1;
                out.push((n.node, r));
            }
        }
        for (node, r) in out {
            self.send_notify(node, r);
        }
    }

    pub fn next_time(&self, limit: Instant) -> Option<Instant> {
        let wire = self.net.next_due();
        let tx = self.tx.iter().filter_map(|t| t.poll_timeout()).min();
        let sub = self.subscriber.poll_timeout();
        let notifiers = self
            .notifiers
            .iter()
            .flat_map(|n| [n.sub.poll_timeout(), n.decide_at])
            .flatten()
            .min();
        let held = self.held.iter().map(|h| h.0).min();
        let script = self.script.terminate_at.as_ref().map(|t| self.start + t.0);
        next_event([wire, tx, sub, notifiers, held, script], limit)
    }

    pub fn run_until(&mut self, limit: Duration) {
        self.drain();
        while let Some(t) = self.next_time(self.start + limit) {
            self.now = self.now.max(t);
            for (to, from, data) in self.net.take_due(self.now) {
                let msg = Message::parse(data).expect("our own messages parse");
                self.tx[to].handle_message(self.now, msg, from);
            }
            for t in &mut self.tx {
                t.handle_timeout(self.now);
            }
            self.subscriber.handle_timeout(self.now);
            self.notifier_timers();
            self.drain();
        }
        self.now = self.start + limit;
    }

    /// Initial SUBSCRIBEs (no To tag), with their send times.
    pub fn initial_subscribes(&self) -> Vec<(Duration, &Request)> {
        self.subscribes
            .iter()
            .filter(|(_, r)| {
                r.headers
                    .typed::<To>()
                    .and_then(Result::ok)
                    .is_some_and(|t| t.tag().is_none())
            })
            .map(|(t, r)| (*t, r))
            .collect()
    }

    pub fn refreshes(&self) -> Vec<(Duration, &Request)> {
        self.subscribes
            .iter()
            .filter(|(_, r)| {
                r.headers
                    .typed::<To>()
                    .and_then(Result::ok)
                    .is_some_and(|t| t.tag().is_some())
            })
            .map(|(t, r)| (*t, r))
            .collect()
    }

    pub fn notifies(&self) -> Vec<(String, SubStateValue)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                SubscriberEvent::Notify {
                    remote_tag, state, ..
                } => Some((remote_tag.clone(), state.value.clone())),
                _ => None,
            })
            .collect()
    }
}

pub fn expires_of(r: &Request) -> u32 {
    r.headers
        .get_str(&HeaderName::Expires)
        .unwrap()
        .parse()
        .unwrap()
}
