//! RFC 3263 lookups against a real DNS server: dnsmasq (Debian package
//! dnsmasq-base; `scripts/test.sh` installs it), started by each test on a
//! free 127.0.0.1 port with a zone of NAPTR, SRV, A and AAAA records, and
//! stopped when the test ends.

use std::net::IpAddr;
use std::time::Duration;

mod common;

use common::Dnsmasq;
use sip_proto::uri::{SipUri, Uri};
use sipsimple::engine::TransportKind::{self, Tcp, Tls, Udp};
use sipsimple::lookup::{DnsLookup, LookupError, Route};
use sipsimple::notification::{Filter, NotificationCenter, NotificationData};

const ZONE: &[&str] = &[
    "--host-record=p1.example.test,192.0.2.11,2001:db8::11",
    "--host-record=p2.example.test,192.0.2.12",
    "--host-record=p3.example.test,192.0.2.13",
    "--host-record=p4.example.test,192.0.2.14",
    "--host-record=aonly.example.test,192.0.2.20,2001:db8::20",
    "--host-record=srvonly.example.test,192.0.2.30",
    "--naptr-record=example.test,20,50,S,SIP+D2U,,_sip._udp.example.test",
    "--naptr-record=example.test,10,50,S,SIP+D2T,,_sip._tcp.example.test",
    "--naptr-record=example.test,5,50,S,SIPS+D2T,,_sips._tcp.example.test",
    "--srv-host=_sip._udp.example.test,p1.example.test,5060,10,20",
    "--srv-host=_sip._udp.example.test,p2.example.test,5062,10,80",
    "--srv-host=_sip._tcp.example.test,p3.example.test,5070,10,0",
    "--srv-host=_sips._tcp.example.test,p4.example.test,5071,10,0",
    "--srv-host=_sip._udp.srvonly.example.test,p2.example.test,5090,1,0",
    "--srv-host=_sip._tcp.srvonly.example.test,p3.example.test,5091,2,0",
    "--srv-host=_stun._udp.example.test,p1.example.test,3479,1,0",
];

async fn dnsmasq() -> Dnsmasq {
    let zone: Vec<String> = ZONE.iter().map(|s| s.to_string()).collect();
    common::dnsmasq("example.test", &zone).await
}

fn sip(u: &str) -> SipUri<'static> {
    match Uri::parse(u).unwrap().into_owned() {
        Uri::Sip(s) => s,
        _ => unreachable!(),
    }
}

fn r(t: TransportKind, ip: &str, port: u16) -> Route {
    Route {
        address: ip.parse::<IpAddr>().unwrap(),
        port,
        transport: t,
    }
}

fn lookup(server: &Dnsmasq) -> DnsLookup {
    DnsLookup::new(&[server.addr], Duration::from_secs(2), 2)
}

#[tokio::test]
async fn naptr_orders_transports_then_srv_priority_and_weight() {
    let s = dnsmasq().await;
    let l = lookup(&s)
        .lookup_sip_proxy(&sip("sip:example.test"), &[Udp, Tcp])
        .await;
    // NAPTR: SIP+D2T (order 10) before SIP+D2U (order 20); SIPS+D2T is
    // skipped (TLS not supported). UDP SRV: same priority, weight 80 first.
    assert_eq!(
        l.result.unwrap(),
        [
            r(Tcp, "192.0.2.13", 5070),
            r(Udp, "192.0.2.12", 5062),
            r(Udp, "192.0.2.11", 5060),
            r(Udp, "2001:db8::11", 5060),
        ]
    );
    assert_eq!(l.trace.first().map(|q| q.record_type), Some("NAPTR"));
    // Only the transports the caller supports.
    let l = lookup(&s)
        .lookup_sip_proxy(&sip("sip:example.test"), &[Udp])
        .await;
    assert!(l.result.unwrap().iter().all(|r| r.transport == Udp));
}

#[tokio::test]
async fn sips_uses_tls_only() {
    let s = dnsmasq().await;
    let l = lookup(&s)
        .lookup_sip_proxy(&sip("sips:example.test"), &[Udp, Tcp, Tls])
        .await;
    assert_eq!(l.result.unwrap(), [r(Tls, "192.0.2.14", 5071)]);
    let l = lookup(&s)
        .lookup_sip_proxy(&sip("sips:example.test"), &[Udp, Tcp])
        .await;
    assert!(matches!(l.result, Err(LookupError::NoTransport(_))));
}

#[tokio::test]
async fn srv_without_naptr_follows_caller_preference() {
    let s = dnsmasq().await;
    let d = lookup(&s);
    let l = d
        .lookup_sip_proxy(&sip("sip:srvonly.example.test"), &[Udp, Tcp])
        .await;
    assert_eq!(
        l.result.unwrap(),
        [r(Udp, "192.0.2.12", 5090), r(Tcp, "192.0.2.13", 5091)]
    );
    let l = d
        .lookup_sip_proxy(&sip("sip:srvonly.example.test"), &[Tcp, Udp])
        .await;
    assert_eq!(
        l.result.unwrap(),
        [r(Tcp, "192.0.2.13", 5091), r(Udp, "192.0.2.12", 5090)]
    );
}

#[tokio::test]
async fn a_and_aaaa_fallback_at_default_ports() {
    let s = dnsmasq().await;
    let l = lookup(&s)
        .lookup_sip_proxy(&sip("sip:aonly.example.test"), &[Udp, Tcp])
        .await;
    assert_eq!(
        l.result.unwrap(),
        [
            r(Udp, "192.0.2.20", 5060),
            r(Udp, "2001:db8::20", 5060),
            r(Tcp, "192.0.2.20", 5060),
            r(Tcp, "2001:db8::20", 5060),
        ]
    );
    // The trace shows the way: NAPTR, two SRV, then A/AAAA.
    let types: Vec<_> = l.trace.iter().map(|q| q.record_type).collect();
    assert_eq!(types, ["NAPTR", "SRV", "SRV", "A/AAAA"]);
}

#[tokio::test]
async fn explicit_port_and_transport_parameter() {
    let s = dnsmasq().await;
    let d = lookup(&s);
    // A port skips NAPTR and SRV (RFC 3263 §4.2).
    let l = d
        .lookup_sip_proxy(&sip("sip:aonly.example.test:5099"), &[Udp, Tcp])
        .await;
    assert_eq!(
        l.result.unwrap(),
        [r(Udp, "192.0.2.20", 5099), r(Udp, "2001:db8::20", 5099)]
    );
    assert_eq!(l.trace.len(), 1);
    // transport=tcp: only the TCP SRV.
    let l = d
        .lookup_sip_proxy(&sip("sip:example.test;transport=tcp"), &[Udp, Tcp])
        .await;
    assert_eq!(l.result.unwrap(), [r(Tcp, "192.0.2.13", 5070)]);
    // A transport the caller does not support is an error, not a guess.
    let l = d
        .lookup_sip_proxy(&sip("sip:example.test;transport=tls"), &[Udp, Tcp])
        .await;
    assert!(matches!(l.result, Err(LookupError::NoTransport(_))));
}

#[tokio::test]
async fn numeric_host_needs_no_dns() {
    // No server at all: nothing must be asked.
    let d = DnsLookup::new(
        &["127.0.0.1:9".parse().unwrap()],
        Duration::from_millis(100),
        1,
    );
    let l = d
        .lookup_sip_proxy(&sip("sip:192.0.2.99;transport=tcp"), &[Udp, Tcp])
        .await;
    assert_eq!(l.result.unwrap(), [r(Tcp, "192.0.2.99", 5060)]);
    assert!(l.trace.is_empty());
    let l = d.lookup_sip_proxy(&sip("sips:[2001:db8::1]"), &[Tls]).await;
    assert_eq!(l.result.unwrap(), [r(Tls, "2001:db8::1", 5061)]);
    let route = r(Tcp, "192.0.2.13", 5070);
    assert_eq!(route.uri().to_string(), "sip:192.0.2.13:5070;transport=tcp");
}

#[tokio::test]
async fn nxdomain_is_not_found_with_a_trace() {
    let s = dnsmasq().await;
    let l = lookup(&s)
        .lookup_sip_proxy(&sip("sip:missing.example.test"), &[Udp])
        .await;
    assert_eq!(
        l.result,
        Err(LookupError::NotFound("missing.example.test".into()))
    );
    assert!(l.trace.iter().all(|q| q.result.is_err()));
}

#[tokio::test]
async fn silent_server_times_out() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let d = DnsLookup::new(
        &[silent.local_addr().unwrap()],
        Duration::from_millis(200),
        1,
    );
    let started = std::time::Instant::now();
    let l = d.lookup_sip_proxy(&sip("sip:example.test"), &[Udp]).await;
    assert!(
        matches!(l.result, Err(LookupError::Timeout(_))),
        "{:?}",
        l.result
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn lifetime_bounds_the_whole_lookup() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Each query may take 2 s × 3, but the lookup as a whole only 300 ms.
    let d = DnsLookup::new(&[silent.local_addr().unwrap()], Duration::from_secs(2), 3)
        .with_lifetime(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let l = d
        .lookup_sip_proxy(&sip("sip:example.test"), &[Udp, Tcp])
        .await;
    assert!(matches!(l.result, Err(LookupError::Timeout(_))));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn service_lookups() {
    let s = dnsmasq().await;
    let d = lookup(&s);
    let l = d.lookup_service("example.test", "stun").await;
    assert_eq!(
        l.result.unwrap(),
        [r(Udp, "192.0.2.11", 3479), r(Udp, "2001:db8::11", 3479)]
    );
    // No _msrps._tcp SRV: A/AAAA at 2855.
    let l = d.lookup_service("aonly.example.test", "msrprelay").await;
    assert_eq!(
        l.result.unwrap(),
        [r(Tls, "192.0.2.20", 2855), r(Tls, "2001:db8::20", 2855)]
    );
}

#[tokio::test]
async fn notifications_trace_each_query_then_the_outcome() {
    let s = dnsmasq().await;
    let center = NotificationCenter::default();
    let mut all = center.subscribe(Filter::all());
    let (d, sender) = lookup(&s).with_notifications(&center);
    let mut mine = center.subscribe(Filter::name("DNSLookupDidSucceed").and_sender(sender));

    let l = d
        .lookup_sip_proxy(&sip("sip:example.test"), &[Udp, Tcp])
        .await;
    let routes = l.result.clone().unwrap();
    // One DNSLookupTrace per query, in query order, then one DidSucceed.
    let mut traced = Vec::new();
    for _ in 0..l.trace.len() {
        let n = all.try_next().expect("a trace notification per query");
        assert_eq!(n.sender, sender);
        match n.data {
            NotificationData::DNSLookupTrace {
                query,
                context,
                service,
                uri,
            } => {
                assert_eq!(context, "lookup_sip_proxy");
                assert_eq!(service, None);
                assert_eq!(uri, "sip:example.test");
                traced.push(query);
            }
            other => panic!("expected DNSLookupTrace, got {}", other.name()),
        }
    }
    assert_eq!(traced, l.trace);
    let done = all.try_next().expect("the outcome");
    assert_eq!(
        done.data,
        NotificationData::DNSLookupDidSucceed {
            result: routes.clone()
        }
    );
    assert!(all.try_next().is_none());
    assert_eq!(mine.try_next().map(|n| n.data), Some(done.data));

    // A failed lookup ends with DidFail carrying the error text.
    let l = d.lookup_service("missing.example.test", "stun").await;
    let err = l.result.unwrap_err().to_string();
    let mut last = None;
    while let Some(n) = all.try_next() {
        if let NotificationData::DNSLookupTrace {
            context,
            service,
            uri,
            ..
        } = &n.data
        {
            assert_eq!(*context, "lookup_service");
            assert_eq!(service.as_deref(), Some("stun"));
            assert_eq!(uri, "missing.example.test");
        }
        last = Some(n.data);
    }
    assert_eq!(
        last,
        Some(NotificationData::DNSLookupDidFail { error: err })
    );
    assert!(mine.try_next().is_none());
}
