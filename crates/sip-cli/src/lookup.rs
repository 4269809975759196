//! `sip lookup`: where a SIP URI's requests go (RFC 3263), or where a
//! domain's MSRP relay or STUN server is, with every DNS query shown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sipsimple::engine::TransportKind;
use sipsimple::lookup::{DnsLookup, Lookup, Route};
use sipsimple::proto::uri::Uri;

pub struct Args {
    pub target: String,
    pub transports: Vec<TransportKind>,
    pub nameservers: Vec<SocketAddr>,
    pub service: Option<String>,
    pub timeout: Duration,
}

/// Parses `udp,tcp,tls`.
pub fn transports(list: &str) -> Result<Vec<TransportKind>> {
    list.split(',')
        .map(|t| match t.trim().to_ascii_lowercase().as_str() {
            "udp" => Ok(TransportKind::Udp),
            "tcp" => Ok(TransportKind::Tcp),
            "tls" => Ok(TransportKind::Tls),
            other => bail!("unknown transport {other:?} (udp, tcp or tls)"),
        })
        .collect()
}

/// Runs the lookup; returns the text to print and whether it succeeded.
pub fn run(args: Args) -> Result<(String, bool)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let dns = if args.nameservers.is_empty() {
            DnsLookup::system(args.timeout, 2)
                .context("cannot read the system resolver configuration")?
        } else {
            DnsLookup::new(&args.nameservers, args.timeout, 2)
        };
        let (what, lookup) = match &args.service {
            Some(service) => (
                format!("{service} of {}", args.target),
                dns.lookup_service(&args.target, service).await,
            ),
            None => {
                let uri = Uri::parse(&args.target)
                    .with_context(|| format!("{:?} is not a URI", args.target))?
                    .into_owned();
                let Some(sip) = uri.as_sip() else {
                    bail!("{} is not a sip: or sips: URI", args.target);
                };
                (
                    args.target.clone(),
                    dns.lookup_sip_proxy(sip, &args.transports).await,
                )
            }
        };
        Ok(render(&what, &lookup))
    })
}

fn render(what: &str, lookup: &Lookup<Vec<Route>>) -> (String, bool) {
    let mut s = format!("lookup {what}\n");
    for q in &lookup.trace {
        match &q.result {
            Ok(answers) if answers.is_empty() => s.push_str(&format!(
                "  {:<7} {}  (no records)\n",
                q.record_type, q.name
            )),
            Ok(answers) => {
                s.push_str(&format!("  {:<7} {}\n", q.record_type, q.name));
                for a in answers {
                    s.push_str(&format!("            {a}\n"));
                }
            }
            Err(e) => s.push_str(&format!("  {:<7} {}  ! {e}\n", q.record_type, q.name)),
        }
    }
    match &lookup.result {
        Ok(routes) => {
            s.push_str(&format!("{} route(s), in order:\n", routes.len()));
            for (i, r) in routes.iter().enumerate() {
                s.push_str(&format!(
                    "  {}. {:<4} {:<28} {}\n",
                    i + 1,
                    r.transport.via_name(),
                    r.socket_addr(),
                    r.uri()
                ));
            }
            (s, true)
        }
        Err(e) => {
            s.push_str(&format!("no route: {e}\n"));
            (s, false)
        }
    }
}
