//! Address resolution (the spec's DNSLookup, RFC 3263): where to send a
//! request for a SIP URI, and where a domain's MSRP relay or STUN server
//! is. Uses hickory-resolver; every query made is recorded in the result
//! and, with `with_notifications`, posted as DNSLookupTrace followed by
//! DNSLookupDidSucceed or DNSLookupDidFail.
//!
//! RFC 3263 §4 as implemented: `maddr` or the host is the target; a
//! numeric host or an explicit port goes straight to A/AAAA (UDP for sip,
//! TLS for sips unless `transport=` says otherwise); else NAPTR (order,
//! preference; services the caller supports), then SRV per transport in
//! the caller's preference order, then A/AAAA at the default port. SRV
//! targets are taken by priority, then by weight, highest first (RFC 2782
//! asks for a weighted random choice; a stable order keeps lookups
//! repeatable, and the list still holds every target for failover).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};
use sip_proto::uri::{Scheme, SipUri, Uri};

use crate::engine::TransportKind;
use crate::notification::{NotificationCenter, NotificationData, SenderId};
pub use crate::route::{QueryTrace, Route};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{0} does not resolve")]
    NotFound(String),
    #[error("no transport supported by both sides for {0}")]
    NoTransport(String),
    #[error("DNS lookup of {0} timed out")]
    Timeout(String),
    #[error("the URI has no host to look up")]
    NoHost,
}

/// The outcome and the queries that led to it.
#[derive(Debug, Clone)]
pub struct Lookup<T> {
    pub result: Result<T, LookupError>,
    pub trace: Vec<QueryTrace>,
}

/// RFC 3263 lookups with one resolver.
#[derive(Clone)]
pub struct DnsLookup {
    resolver: TokioResolver,
    /// Bound on a whole lookup (all its queries), the spec's `lifetime`.
    lifetime: Duration,
    /// Where DNSLookupTrace / DidSucceed / DidFail go, if anywhere.
    notify: Option<(NotificationCenter, SenderId)>,
    /// `logging.trace_dns`: every query also goes here (to the trace
    /// file); a full queue drops the trace, never delays the lookup.
    trace_sink: Option<tokio::sync::mpsc::Sender<DnsTrace>>,
}

/// One query of a lookup, for the DNS trace file.
#[derive(Debug, Clone)]
pub(crate) struct DnsTrace {
    /// The method being run (the spec's DNSLookupTrace `context`).
    pub context: &'static str,
    /// What was being looked up.
    pub subject: String,
    pub query: QueryTrace,
}

fn default_port(t: TransportKind) -> u16 {
    match t {
        TransportKind::Tls => 5061,
        _ => 5060,
    }
}

fn srv_prefix(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Udp => "_sip._udp",
        TransportKind::Tcp => "_sip._tcp",
        TransportKind::Tls => "_sips._tcp",
    }
}

fn naptr_service(s: &str) -> Option<TransportKind> {
    match s.to_ascii_uppercase().as_str() {
        "SIP+D2U" => Some(TransportKind::Udp),
        "SIP+D2T" => Some(TransportKind::Tcp),
        "SIPS+D2T" => Some(TransportKind::Tls),
        _ => None,
    }
}

fn transport_param(t: &str) -> Option<TransportKind> {
    match t.to_ascii_lowercase().as_str() {
        "udp" => Some(TransportKind::Udp),
        "tcp" => Some(TransportKind::Tcp),
        "tls" => Some(TransportKind::Tls),
        _ => None,
    }
}

struct Ctx<'a> {
    trace: Vec<QueryTrace>,
    timed_out: bool,
    notify: Option<&'a (NotificationCenter, SenderId)>,
    trace_sink: Option<&'a tokio::sync::mpsc::Sender<DnsTrace>>,
    /// The spec's DNSLookupTrace `context`: the method being run.
    context: &'static str,
    /// What is being looked up, for the trace notifications.
    subject: String,
    service: Option<String>,
}

impl<'a> Ctx<'a> {
    fn new(
        lookup: &'a DnsLookup,
        context: &'static str,
        subject: String,
        service: Option<String>,
    ) -> Self {
        Ctx {
            trace: Vec::new(),
            timed_out: false,
            notify: lookup.notify.as_ref(),
            trace_sink: lookup.trace_sink.as_ref(),
            context,
            subject,
            service,
        }
    }

    fn record(&mut self, name: &str, rt: &'static str, r: Result<Vec<String>, &ResolveError>) {
        if let Err(e) = &r {
            if !e.is_no_records_found() && !e.is_nx_domain() {
                self.timed_out = true;
            }
        }
        let query = QueryTrace {
            name: name.to_owned(),
            record_type: rt,
            result: r.map_err(|e| e.to_string()),
        };
        if let Some(sink) = self.trace_sink {
            let _ = sink.try_send(DnsTrace {
                context: self.context,
                subject: self.subject.clone(),
                query: query.clone(),
            });
        }
        // Posted as each answer arrives, so an observer sees a slow lookup
        // progress rather than everything at the end.
        if let Some((center, sender)) = self.notify {
            center.post(
                *sender,
                NotificationData::DNSLookupTrace {
                    query: query.clone(),
                    context: self.context,
                    service: self.service.clone(),
                    uri: self.subject.clone(),
                },
            );
        }
        self.trace.push(query);
    }

    /// Posts the outcome and hands back the lookup.
    fn conclude(self, result: Result<Vec<Route>, LookupError>) -> Lookup<Vec<Route>> {
        if let Some((center, sender)) = self.notify {
            let data = match &result {
                Ok(routes) => NotificationData::DNSLookupDidSucceed {
                    result: routes.clone(),
                },
                Err(e) => NotificationData::DNSLookupDidFail {
                    error: e.to_string(),
                },
            };
            center.post(*sender, data);
        }
        Lookup {
            result,
            trace: self.trace,
        }
    }
}

impl DnsLookup {
    /// A resolver asking these name servers (UDP), each query bounded by
    /// `timeout` and tried `attempts` times.
    pub fn new(nameservers: &[SocketAddr], timeout: Duration, attempts: usize) -> DnsLookup {
        let mut config = ResolverConfig::new();
        for ns in nameservers {
            config.add_name_server(NameServerConfig::new(*ns, Protocol::Udp));
        }
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = attempts;
        // Both families: every address is a failover candidate.
        opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let resolver =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                .with_options(opts)
                .build();
        DnsLookup {
            resolver,
            lifetime: Duration::from_secs(15),
            notify: None,
            trace_sink: None,
        }
    }

    /// A resolver using this machine's name servers (`/etc/resolv.conf`).
    pub fn system(timeout: Duration, attempts: usize) -> Result<DnsLookup, LookupError> {
        let mut builder = TokioResolver::builder(TokioConnectionProvider::default())
            .map_err(|e| LookupError::NotFound(format!("system resolver configuration: {e}")))?;
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = attempts;
        opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        Ok(DnsLookup {
            resolver: builder.build(),
            lifetime: Duration::from_secs(15),
            notify: None,
            trace_sink: None,
        })
    }

    /// Sets the bound on a whole lookup (default 15 s, as the spec's
    /// `lifetime`); per-query bounds are `timeout` × `attempts`.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Posts the spec's notifications to `center`: DNSLookupTrace for each
    /// query as it is answered, then DNSLookupDidSucceed or DNSLookupDidFail
    /// once per lookup, all from one sender. Returns the sender id so
    /// observers can filter on this lookup object.
    pub fn with_notifications(mut self, center: &NotificationCenter) -> (Self, SenderId) {
        let sender = center.new_sender();
        self.notify = Some((center.clone(), sender));
        (self, sender)
    }

    /// Sends every query to `sink` as well (`logging.trace_dns`).
    pub(crate) fn with_trace_sink(mut self, sink: tokio::sync::mpsc::Sender<DnsTrace>) -> Self {
        self.trace_sink = Some(sink);
        self
    }

    async fn ips(&self, ctx: &mut Ctx<'_>, host: &str) -> Vec<IpAddr> {
        match self.resolver.lookup_ip(host).await {
            Ok(l) => {
                let ips: Vec<IpAddr> = l.iter().collect();
                ctx.record(
                    host,
                    "A/AAAA",
                    Ok(ips.iter().map(|i| i.to_string()).collect()),
                );
                ips
            }
            Err(e) => {
                ctx.record(host, "A/AAAA", Err(&e));
                Vec::new()
            }
        }
    }

    /// SRV targets of `name`, ordered by priority then weight (highest).
    async fn srv(&self, ctx: &mut Ctx<'_>, name: &str) -> Vec<(String, u16)> {
        match self.resolver.srv_lookup(name).await {
            Ok(l) => {
                let mut recs: Vec<(u16, u16, String, u16)> = l
                    .iter()
                    .map(|s| (s.priority(), s.weight(), s.target().to_utf8(), s.port()))
                    .collect();
                recs.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                ctx.record(
                    name,
                    "SRV",
                    Ok(recs
                        .iter()
                        .map(|r| format!("{} {} {} {}", r.0, r.1, r.3, r.2))
                        .collect()),
                );
                // "." means the service is not available here (RFC 2782).
                recs.into_iter()
                    .filter(|r| r.2 != ".")
                    .map(|r| (r.2, r.3))
                    .collect()
            }
            Err(e) => {
                ctx.record(name, "SRV", Err(&e));
                Vec::new()
            }
        }
    }

    /// NAPTR services of `domain` we support, in (order, preference).
    async fn naptr(
        &self,
        ctx: &mut Ctx<'_>,
        domain: &str,
        supported: &[TransportKind],
    ) -> Vec<(TransportKind, String)> {
        match self.resolver.lookup(domain, RecordType::NAPTR).await {
            Ok(l) => {
                let mut recs: Vec<(u16, u16, TransportKind, String)> = Vec::new();
                let mut seen = Vec::new();
                for r in l.iter() {
                    if let RData::NAPTR(n) = r {
                        let service = String::from_utf8_lossy(n.services()).into_owned();
                        seen.push(format!(
                            "{} {} {service} {}",
                            n.order(),
                            n.preference(),
                            n.replacement()
                        ));
                        let flags_s = n.flags().eq_ignore_ascii_case(b"s");
                        if let Some(t) = naptr_service(&service).filter(|t| supported.contains(t)) {
                            if flags_s {
                                recs.push((
                                    n.order(),
                                    n.preference(),
                                    t,
                                    n.replacement().to_utf8(),
                                ));
                            }
                        }
                    }
                }
                ctx.record(domain, "NAPTR", Ok(seen));
                recs.sort_by_key(|r| (r.0, r.1));
                recs.into_iter().map(|r| (r.2, r.3)).collect()
            }
            Err(e) => {
                ctx.record(domain, "NAPTR", Err(&e));
                Vec::new()
            }
        }
    }

    async fn srv_routes(&self, ctx: &mut Ctx<'_>, name: &str, t: TransportKind) -> Vec<Route> {
        let mut routes = Vec::new();
        for (target, port) in self.srv(ctx, name).await {
            for ip in self.ips(ctx, &target).await {
                routes.push(Route {
                    address: ip,
                    port,
                    transport: t,
                });
            }
        }
        routes
    }

    /// Where to send requests for `uri` (RFC 3263 §4), trying transports in
    /// the order of `supported`.
    pub async fn lookup_sip_proxy(
        &self,
        uri: &SipUri<'_>,
        supported: &[TransportKind],
    ) -> Lookup<Vec<Route>> {
        let mut ctx = Ctx::new(self, "lookup_sip_proxy", uri.to_string(), None);
        let result =
            match tokio::time::timeout(self.lifetime, self.sip_proxy(&mut ctx, uri, supported))
                .await
            {
                Ok(r) => r,
                Err(_) => Err(LookupError::Timeout(uri.host.to_string())),
            };
        ctx.conclude(result)
    }

    async fn sip_proxy(
        &self,
        ctx: &mut Ctx<'_>,
        uri: &SipUri<'_>,
        supported: &[TransportKind],
    ) -> Result<Vec<Route>, LookupError> {
        let sips = uri.scheme == Scheme::Sips;
        // A SIPS URI is reached over TLS only (RFC 3261 §26.2).
        let usable: Vec<TransportKind> = supported
            .iter()
            .copied()
            .filter(|t| !sips || *t == TransportKind::Tls)
            .collect();
        let host_text = uri
            .params
            .get("maddr")
            .flatten()
            .map(str::to_owned)
            .unwrap_or_else(|| uri.host.to_string());
        let host_text = host_text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let wanted = match uri.transport_param() {
            Some(p) => match transport_param(p).filter(|t| usable.contains(t)) {
                Some(t) => Some(t),
                None => return Err(LookupError::NoTransport(uri.to_string())),
            },
            None => None,
        };
        let Some(&first) = usable.first() else {
            return Err(LookupError::NoTransport(uri.to_string()));
        };
        // §4.1: with no transport parameter, UDP for sip, TLS for sips.
        let default_t = wanted.unwrap_or(if sips {
            TransportKind::Tls
        } else if usable.contains(&TransportKind::Udp) {
            TransportKind::Udp
        } else {
            first
        });
        // Numeric host: no DNS at all.
        if let Ok(ip) = host_text.parse::<IpAddr>() {
            let port = uri.port.unwrap_or_else(|| default_port(default_t));
            return Ok(vec![Route {
                address: ip,
                port,
                transport: default_t,
            }]);
        }
        // Explicit port: A/AAAA only (§4.2).
        if let Some(port) = uri.port {
            let routes: Vec<Route> = self
                .ips(ctx, &host_text)
                .await
                .into_iter()
                .map(|ip| Route {
                    address: ip,
                    port,
                    transport: default_t,
                })
                .collect();
            return self.finish(ctx, routes, &host_text);
        }
        let mut routes = Vec::new();
        if let Some(t) = wanted {
            routes = self
                .srv_routes(ctx, &format!("{}.{host_text}", srv_prefix(t)), t)
                .await;
        } else {
            for (t, replacement) in self.naptr(ctx, &host_text, &usable).await {
                routes.extend(self.srv_routes(ctx, &replacement, t).await);
            }
            if routes.is_empty() {
                for &t in &usable {
                    routes.extend(
                        self.srv_routes(ctx, &format!("{}.{host_text}", srv_prefix(t)), t)
                            .await,
                    );
                }
            }
        }
        if routes.is_empty() {
            // §4.2: no SRV: A/AAAA at the default port, for each transport
            // the caller may use (the requested one only, if any).
            let ips = self.ips(ctx, &host_text).await;
            let transports: Vec<TransportKind> = match wanted {
                Some(t) => vec![t],
                None if sips => vec![TransportKind::Tls],
                None => {
                    let mut v = vec![default_t];
                    v.extend(usable.iter().copied().filter(|t| *t != default_t));
                    v
                }
            };
            for t in transports {
                for ip in &ips {
                    routes.push(Route {
                        address: *ip,
                        port: default_port(t),
                        transport: t,
                    });
                }
            }
        }
        self.finish(ctx, routes, &host_text)
    }

    fn finish(
        &self,
        ctx: &Ctx<'_>,
        routes: Vec<Route>,
        name: &str,
    ) -> Result<Vec<Route>, LookupError> {
        if !routes.is_empty() {
            // Duplicates (same target via NAPTR and SRV) are tried once.
            let mut seen = std::collections::HashSet::new();
            return Ok(routes.into_iter().filter(|r| seen.insert(*r)).collect());
        }
        if ctx.timed_out {
            Err(LookupError::Timeout(name.to_owned()))
        } else {
            Err(LookupError::NotFound(name.to_owned()))
        }
    }

    /// A domain's MSRP relay from its `_msrps._tcp` SRV records alone
    /// (RFC 4976), with no A/AAAA fallback: whether the domain has a
    /// relay at all, asked for every account without a configured one,
    /// where a guess at `domain:2855` would fail the session.
    pub async fn lookup_msrp_relay_srv(&self, domain: &str) -> Lookup<Vec<Route>> {
        let mut ctx = Ctx::new(
            self,
            "lookup_msrp_relay_srv",
            domain.to_owned(),
            Some("msrprelay".to_owned()),
        );
        let routes = self
            .srv_routes(
                &mut ctx,
                &format!("_msrps._tcp.{domain}"),
                TransportKind::Tls,
            )
            .await;
        let result = self.finish(&ctx, routes, domain);
        ctx.conclude(result)
    }

    /// A domain's MSRP relay (`_msrps._tcp`, RFC 4976, port 2855) or STUN
    /// server (`_stun._udp`, RFC 5389, port 3478), falling back to A/AAAA.
    pub async fn lookup_service(&self, domain: &str, service: &str) -> Lookup<Vec<Route>> {
        let mut ctx = Ctx::new(
            self,
            "lookup_service",
            domain.to_owned(),
            Some(service.to_owned()),
        );
        let (prefix, port, t) = match service {
            "msrprelay" => ("_msrps._tcp", 2855, TransportKind::Tls),
            "stun" => ("_stun._udp", 3478, TransportKind::Udp),
            other => return ctx.conclude(Err(LookupError::NoTransport(other.to_owned()))),
        };
        let mut routes = self
            .srv_routes(&mut ctx, &format!("{prefix}.{domain}"), t)
            .await;
        if routes.is_empty() {
            routes = self
                .ips(&mut ctx, domain)
                .await
                .into_iter()
                .map(|ip| Route {
                    address: ip,
                    port,
                    transport: t,
                })
                .collect();
        }
        let result = self.finish(&ctx, routes, domain);
        ctx.conclude(result)
    }
}

/// A URI's host and port as a target, if the host is an address (no
/// lookup needed).
pub(crate) fn numeric_target(uri: &Uri<'_>) -> Option<sip_proto::transaction::Target> {
    let sip = uri.as_sip()?;
    let host = sip.host.to_string();
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let transport = match sip.params.get("transport").flatten() {
        Some(t) if t.eq_ignore_ascii_case("tcp") => TransportKind::Tcp,
        Some(t) if t.eq_ignore_ascii_case("tls") => TransportKind::Tls,
        _ if uri.scheme() == "sips" => TransportKind::Tls,
        _ => TransportKind::Udp,
    };
    let default = if transport == TransportKind::Tls {
        5061
    } else {
        5060
    };
    Some(sip_proto::transaction::Target {
        addr: SocketAddr::new(ip, sip.port.unwrap_or(default)),
        transport,
    })
}

/// Where a request goes next (RFC 3261 §8.1.2, loose routing): its first
/// Route if it has one, else its Request-URI — an address at once, a name
/// through RFC 3263 (the first route found).
pub(crate) async fn next_hop(
    dns: &DnsLookup,
    transports: &[TransportKind],
    request: &sip_proto::Request,
) -> Option<sip_proto::transaction::Target> {
    let route = request
        .headers
        .get_str(&sip_proto::headers::HeaderName::Route)
        .and_then(|r| {
            // The first of a comma-separated list.
            let first = r.split(',').next()?;
            sip_proto::headers::NameAddr::parse(first.trim())
                .ok()
                .map(|a| a.uri.into_owned())
        });
    let next = match route {
        Some(uri) => uri,
        None => request.uri().ok()?.into_owned(),
    };
    if let Some(t) = numeric_target(&next) {
        return Some(t);
    }
    let routes = dns
        .lookup_sip_proxy(next.as_sip()?, transports)
        .await
        .result
        .ok()?;
    routes.first().map(|r| sip_proto::transaction::Target {
        addr: r.socket_addr(),
        transport: r.transport,
    })
}
