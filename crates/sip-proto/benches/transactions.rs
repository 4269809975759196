//! Non-INVITE transactions per second through the sans-IO core alone: a
//! UAC and a UAS `Transactions` wired back to back in memory. Each
//! iteration is a whole MESSAGE → 200 OK exchange: the request built,
//! serialized, parsed and matched at the UAS (Via received/rport added),
//! the response built, serialized, parsed and matched at the UAC.
//!
//! cargo bench -p sip-proto --bench transactions

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip_proto::headers::HeaderName;
use sip_proto::transaction::{Event, Target, TimerConfig, Transactions, TransportKind};
use sip_proto::uri::Uri;
use sip_proto::{Message, Method, Request, Response, StatusCode};

fn message(n: u64, local: SocketAddr) -> Request {
    let mut r = Request::new(
        Method::Message,
        &Uri::parse("sip:bob@127.0.0.1:5061").unwrap(),
    );
    let h = &mut r.headers;
    h.push(
        HeaderName::Via,
        format!("SIP/2.0/UDP {local};branch=z9hG4bK{n:x};rport"),
    );
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, "<sip:alice@127.0.0.1>;tag=a73kszlfl");
    h.push(HeaderName::To, "<sip:bob@127.0.0.1>");
    h.push(HeaderName::CallId, format!("{n:x}@127.0.0.1"));
    h.push(HeaderName::CSeq, format!("{} MESSAGE", n % 1_000_000 + 1));
    r.body = bytes::Bytes::from_static(b"hello");
    h.push(HeaderName::ContentType, "text/plain");
    h.push(HeaderName::ContentLength, "5");
    r
}

/// One exchange; returns the final status.
fn exchange(
    uac: &mut Transactions,
    uas: &mut Transactions,
    now: Instant,
    n: u64,
    t: TransportKind,
) -> StatusCode {
    let a: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    let b: SocketAddr = "127.0.0.1:5061".parse().unwrap();
    let mut req = message(n, a);
    if t == TransportKind::Tcp {
        req.headers.set(
            HeaderName::Via,
            format!("SIP/2.0/TCP {a};branch=z9hG4bK{n:x}"),
        );
    }
    uac.send_request(
        now,
        req,
        Target {
            addr: b,
            transport: t,
        },
    )
    .unwrap();
    let tx = uac.poll_transmit().unwrap();
    uas.handle_message(
        now,
        Message::parse(tx.data).unwrap(),
        Target {
            addr: a,
            transport: t,
        },
    );
    let Some(Event::Request { key, request, .. }) = uas.poll_event() else {
        panic!()
    };
    uas.send_response(
        now,
        &key,
        Response::for_request(&request, StatusCode::OK, Some("b")),
    )
    .unwrap();
    let tx = uas.poll_transmit().unwrap();
    uac.handle_message(
        now,
        Message::parse(tx.data).unwrap(),
        Target {
            addr: b,
            transport: t,
        },
    );
    let mut status = StatusCode::BAD_REQUEST;
    while let Some(e) = uac.poll_event() {
        if let Event::Response { response, .. } = e {
            status = response.status;
        }
    }
    while uas.poll_event().is_some() {}
    status
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("transactions");
    g.throughput(Throughput::Elements(1));
    // Reliable transport: Timers J and K are zero, so both transactions
    // end with the exchange and the tables stay empty.
    let (mut uac, mut uas) = (
        Transactions::new(TimerConfig::default()),
        Transactions::new(TimerConfig::default()),
    );
    let now = Instant::now();
    let mut n = 0u64;
    g.bench_function("non_invite_exchange_core/tcp", |bench| {
        bench.iter(|| {
            n += 1;
            black_box(exchange(&mut uac, &mut uas, now, n, TransportKind::Tcp))
        })
    });
    assert!(uac.is_empty() && uas.is_empty());
    // UDP: Completed transactions live for Timer K (T4) and J (64·T1).
    // Virtual time advances 10 µs per exchange with T1 = 1 ms, T4 = 5 ms,
    // so about 6,400 server and 500 client transactions are alive and
    // expiring at any moment, as under a steady load.
    let cfg = TimerConfig {
        t1: std::time::Duration::from_millis(1),
        t2: std::time::Duration::from_millis(8),
        t4: std::time::Duration::from_millis(5),
    };
    let (mut uac, mut uas) = (Transactions::new(cfg), Transactions::new(cfg));
    let mut now = Instant::now();
    g.bench_function("non_invite_exchange_core/udp_with_timers", |bench| {
        bench.iter(|| {
            n += 1;
            now += std::time::Duration::from_micros(10);
            uac.handle_timeout(now);
            uas.handle_timeout(now);
            while uac.poll_event().is_some() {}
            while uas.poll_event().is_some() {}
            black_box(exchange(&mut uac, &mut uas, now, n, TransportKind::Udp))
        })
    });
    g.finish();
    black_box((uac.len(), uas.len()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
