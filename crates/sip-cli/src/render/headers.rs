//! One header line: canonical name, value, and for headers with a typed
//! form in `sip_proto::headers` a short interpretation of what it says,
//! or why it does not parse.

use std::fmt::Write as _;

use sipsimple::proto::headers::{
    Accept, AcceptEncoding, Allow, AllowEvents, AuthenticationInfo, CSeq, CallId, Contact,
    ContactValue, ContentDisposition, ContentEncoding, ContentLength, ContentType, Credentials,
    Date, Event, Expires, From, MaxForwards, MinExpires, MinSe, NameAddr, Path, ProxyRequire, RAck,
    RSeq, Reason, RecordRoute, ReferTo, ReferredBy, Replaces, Require, RetryAfter, Route,
    ServerHeader, ServiceRoute, SessionExpires, SipETag, SipIfMatch, Subject, SubscriptionState,
    Supported, Timestamp, To, Transport, Unsupported, UserAgent, Via, Warning,
};
use sipsimple::proto::params::Param;
use sipsimple::proto::uri::Uri;
use sipsimple::proto::{Header, HeaderName, ParseError, TypedHeader};

use super::{clean, MAX_VALUE};

/// Width up to which the interpretation follows the value on its line.
const LINE: usize = 110;

/// What the typed form of a header says: one item per value (or one for a
/// whole token list), and one error per value that does not parse.
#[derive(Default)]
struct Interp {
    items: Vec<String>,
    errors: Vec<String>,
}

/// Prints `  Name: value  -> interpretation` (the interpretation on its
/// own line(s) when it does not fit, and `!` lines for values that fail).
pub(super) fn header(out: &mut String, h: &Header) {
    let value = if h.value.is_empty() {
        "(empty)".to_owned()
    } else {
        clean(h.value, MAX_VALUE)
    };
    let first = format!("  {}: {value}", clean(h.name.as_str(), 40));
    let mut interp = interpret(h).unwrap_or_default();
    // An interpretation that only repeats the value says nothing.
    interp.items.retain(|i| i.as_str() != h.value.trim());
    match interp.items.as_slice() {
        [only] if first.chars().count() + 5 + only.chars().count() <= LINE => {
            let _ = writeln!(out, "{first}  -> {only}");
        }
        items => {
            let _ = writeln!(out, "{first}");
            for item in items {
                for (i, line) in wrap(item, LINE - 9).iter().enumerate() {
                    let lead = if i == 0 { "      -> " } else { "         " };
                    let _ = writeln!(out, "{lead}{line}");
                }
            }
        }
    }
    for e in &interp.errors {
        let _ = writeln!(out, "      ! not valid: {e}");
    }
}

/// Splits an interpretation at its two-space separators into lines of at
/// most `width` characters (a longer single field stays whole).
fn wrap(item: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for field in item.split("  ") {
        if !cur.is_empty() && cur.chars().count() + 2 + field.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push_str("  ");
        }
        cur.push_str(field);
    }
    lines.push(cur);
    lines
}

/// The interpretation of a header with a typed form; `None` for the rest.
fn interpret(h: &Header) -> Option<Interp> {
    let one = h;
    Some(match h.name {
        HeaderName::Via => each(one, |v: &Via| via(v)),
        HeaderName::From => each(one, |v: &From| name_addr(v)),
        HeaderName::To => each(one, |v: &To| name_addr(v)),
        HeaderName::Contact => each(one, contact),
        HeaderName::Route => each(one, |v: &Route| route(v)),
        HeaderName::RecordRoute => each(one, |v: &RecordRoute| route(v)),
        HeaderName::Path => each(one, |v: &Path| route(v)),
        HeaderName::ServiceRoute => each(one, |v: &ServiceRoute| route(v)),
        HeaderName::ReferTo => each(one, |v: &ReferTo| name_addr(v)),
        HeaderName::ReferredBy => each(one, |v: &ReferredBy| name_addr(v)),
        HeaderName::CallId => each(one, |v: &CallId| match v.0.split_once('@') {
            Some((id, host)) => format!("id={}  host={}", clean(id, 50), clean(host, 50)),
            None => format!("id={}", clean(&v.0, 60)),
        }),
        HeaderName::CSeq => each(one, |v: &CSeq| {
            format!("seq={}  method={}", v.seq, v.method)
        }),
        HeaderName::RAck => each(one, |v: &RAck| {
            format!("rseq={}  cseq={}  method={}", v.rseq, v.cseq, v.method)
        }),
        HeaderName::RSeq => each(one, |v: &RSeq| format!("rseq={}", v.0)),
        HeaderName::MaxForwards => each(one, |v: &MaxForwards| match v.0 {
            0 => "0 hops left: a proxy answers 483 Too Many Hops".to_owned(),
            n => format!("{n} hops left"),
        }),
        HeaderName::ContentLength => each(one, |v: &ContentLength| format!("{} bytes", v.0)),
        HeaderName::Expires => each(one, |v: &Expires| seconds(v.0)),
        HeaderName::MinExpires => each(one, |v: &MinExpires| seconds(v.0)),
        HeaderName::ContentType => each(one, |v: &ContentType| media(&v.0)),
        HeaderName::Accept => joined(one, "media ranges", |v: &Accept| media(&v.0)),
        HeaderName::Allow => joined(one, "methods", |v: &Allow| v.0.to_string()),
        HeaderName::Supported => joined(one, "supports", |v: &Supported| tag(&v.0)),
        HeaderName::Require => joined(one, "requires", |v: &Require| tag(&v.0)),
        HeaderName::ProxyRequire => {
            joined(one, "proxies must support", |v: &ProxyRequire| tag(&v.0))
        }
        HeaderName::Unsupported => joined(one, "not supported", |v: &Unsupported| tag(&v.0)),
        HeaderName::AllowEvents => joined(one, "event packages", |v: &AllowEvents| clean(&v.0, 40)),
        HeaderName::ContentEncoding => {
            joined(one, "codings", |v: &ContentEncoding| clean(&v.0, 40))
        }
        HeaderName::AcceptEncoding => joined(one, "codings", |v: &AcceptEncoding| clean(&v.0, 40)),
        HeaderName::Authorization
        | HeaderName::ProxyAuthorization
        | HeaderName::WwwAuthenticate
        | HeaderName::ProxyAuthenticate => credentials(h.value),
        HeaderName::AuthenticationInfo => each(one, |v: &AuthenticationInfo| {
            auth_params(v.0.iter().map(|(n, _)| (&**n, v.param(n))))
        }),
        HeaderName::Event => each(one, |v: &Event| {
            format!(
                "package={}{}",
                clean(&v.package, 40),
                params(v.params.iter())
            )
        }),
        HeaderName::SubscriptionState => each(one, |v: &SubscriptionState| {
            format!("state={}{}", clean(&v.state, 40), params(v.params.iter()))
        }),
        HeaderName::ContentDisposition => each(one, |v: &ContentDisposition| {
            format!(
                "disposition={}{}",
                clean(&v.disposition, 40),
                params(v.params.iter())
            )
        }),
        HeaderName::Reason => each(one, |v: &Reason| {
            let mut s = format!("protocol={}", clean(&v.protocol, 20));
            if let Some(c) = v.cause() {
                let _ = write!(s, "  cause={c}");
            }
            if let Some(t) = v.text() {
                let _ = write!(s, "  text={:?}", clean(&t, 60));
            }
            s
        }),
        HeaderName::Replaces => each(one, |v: &Replaces| {
            format!(
                "call-id={}{}",
                clean(&v.call_id, 60),
                params(v.params.iter())
            )
        }),
        HeaderName::SessionExpires => each(one, |v: &SessionExpires| {
            format!("{}{}", seconds(v.seconds), params(v.params.iter()))
        }),
        HeaderName::MinSe => each(one, |v: &MinSe| seconds(v.seconds)),
        HeaderName::RetryAfter => each(one, |v: &RetryAfter| {
            let mut s = format!("retry in {}", seconds(v.seconds));
            if let Some(c) = &v.comment {
                let _ = write!(s, "  comment={:?}", clean(c, 40));
            }
            s.push_str(&params(v.params.iter()));
            s
        }),
        HeaderName::Date => each(one, |v: &Date| {
            match v.0.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => format!("GMT, Unix time {}", d.as_secs()),
                Err(_) => "GMT, before 1970".to_owned(),
            }
        }),
        HeaderName::Timestamp => each(one, |v: &Timestamp| match &v.delay {
            Some(d) => format!("time={}  delay={}", clean(&v.value, 30), clean(d, 30)),
            None => format!("time={}", clean(&v.value, 30)),
        }),
        HeaderName::Warning => each(one, |v: &Warning| {
            format!(
                "code={}  agent={}  text={:?}",
                v.code,
                clean(&v.agent, 40),
                clean(&v.text, 60)
            )
        }),
        // Free text or opaque tokens: checked, nothing more to say.
        HeaderName::Subject => check::<Subject>(one),
        HeaderName::UserAgent => check::<UserAgent>(one),
        HeaderName::Server => check::<ServerHeader>(one),
        HeaderName::SipETag => check::<SipETag>(one),
        HeaderName::SipIfMatch => check::<SipIfMatch>(one),
        _ => return None,
    })
}

/// One item per typed value.
fn each<'s, T: TypedHeader<'s>>(one: &'s Header, f: impl Fn(&T) -> String) -> Interp {
    let mut i = Interp::default();
    for r in one.typed_values::<T>() {
        match r {
            Ok(v) => i.items.push(f(&v)),
            Err(e) => i.errors.push(why(&e)),
        }
    }
    i
}

/// One item for a whole list: `label: a, b, c (n)`.
fn joined<'s, T: TypedHeader<'s>>(
    one: &'s Header,
    label: &str,
    f: impl Fn(&T) -> String,
) -> Interp {
    let mut i = each(one, f);
    if i.items.len() > 1 {
        let n = i.items.len();
        i.items = vec![format!("{label}: {} ({n})", i.items.join(", "))];
    } else if let Some(only) = i.items.first_mut() {
        *only = format!("{label}: {only}");
    }
    i
}

/// Only the errors of a header whose value needs no explanation.
fn check<'s, T: TypedHeader<'s>>(one: &'s Header) -> Interp {
    let mut i = each(one, |_: &T| String::new());
    i.items.clear();
    i
}

/// The syntax error of a refused value (the header name is on the line).
fn why(e: &ParseError) -> String {
    match e {
        ParseError::InvalidHeader { error, .. } => clean(&error.to_string(), 200),
        other => clean(&other.to_string(), 200),
    }
}

fn via(v: &Via<'_>) -> String {
    let mut s = format!("transport={}", v.transport.as_str());
    if let Transport::Other(_) = v.transport {
        s.push_str(" (unknown)");
    }
    let _ = write!(s, "  host={}", clean(&v.host.to_string(), 60));
    if let Some(p) = v.port {
        let _ = write!(s, "  port={p}");
    }
    match v.branch() {
        Some(b) if v.has_rfc3261_branch() => {
            let _ = write!(s, "  branch={}", clean(b, 40));
        }
        Some(b) => {
            let _ = write!(
                s,
                "  branch={} (no z9hG4bK: RFC 2543 matching)",
                clean(b, 40)
            );
        }
        None => s.push_str("  no branch (RFC 2543 matching)"),
    }
    match v.rport() {
        Some(None) => s.push_str("  rport=requested"),
        Some(Some(p)) => {
            let _ = write!(s, "  rport={p}");
        }
        None => {}
    }
    let rest = v.params.iter().filter(|p| {
        !["branch", "rport"]
            .iter()
            .any(|n| p.name.eq_ignore_ascii_case(n))
    });
    s.push_str(&params(rest));
    s
}

/// `name="Alice"  uri=sip:alice@host  tag=...  other params`.
fn name_addr(na: &NameAddr<'_>) -> String {
    name_addr_except(na, &[])
}

/// As [`name_addr`], leaving out the parameters named in `skip`.
fn name_addr_except(na: &NameAddr<'_>, skip: &[&str]) -> String {
    let mut s = String::new();
    if let Some(d) = &na.display_name {
        let _ = write!(s, "name={:?}  ", clean(d, 40));
    }
    let _ = write!(s, "uri={}", uri(&na.uri));
    let shown = na
        .params
        .iter()
        .filter(|p| !skip.iter().any(|n| p.name.eq_ignore_ascii_case(n)));
    s.push_str(&params(shown));
    s
}

fn contact(c: &Contact<'_>) -> String {
    match &c.0 {
        ContactValue::Star => "* (all bindings: a REGISTER removing them)".to_owned(),
        ContactValue::Addr(na) => {
            let mut s = name_addr_except(na, &["q", "expires"]);
            if let Some(q) = c.q() {
                let _ = write!(s, "  q={}.{:03} (preference)", q / 1000, q % 1000);
            }
            if let Some(e) = c.expires() {
                let _ = write!(s, "  expires={}", seconds(e));
            }
            s
        }
    }
}

fn route(na: &NameAddr<'_>) -> String {
    let loose = na.uri.as_sip().is_some_and(|u| u.is_loose_router());
    let how = if loose {
        "loose routing (lr)"
    } else {
        "strict routing (no lr)"
    };
    format!("{}  {how}", name_addr(na))
}

/// A URI in one short phrase; a SIP URI with an escaped user shows the
/// unescaped form too.
fn uri(u: &Uri<'_>) -> String {
    let text = clean(&u.to_string(), 80);
    let Some(sip) = u.as_sip() else {
        return match u {
            Uri::Tel(_) => text,
            _ => format!("{text} (scheme {} not interpreted)", clean(u.scheme(), 20)),
        };
    };
    match (&sip.user, sip.user_unescaped()) {
        (Some(user), Some(raw)) if String::from_utf8_lossy(&raw) != **user => {
            format!(
                "{text} (user unescaped {:?})",
                clean(&String::from_utf8_lossy(&raw), 40)
            )
        }
        _ => text,
    }
}

fn media(m: &sipsimple::proto::headers::MediaType<'_>) -> String {
    format!(
        "{}/{}{}",
        clean(&m.mtype, 30),
        clean(&m.subtype, 40),
        params(m.params.iter())
    )
}

/// `  name=value` per parameter, values decoded from quoted-strings.
fn params<'p>(ps: impl IntoIterator<Item = Param<'p>>) -> String {
    let mut s = String::new();
    for p in ps {
        let _ = write!(s, "  {}", clean(&p.name, 30));
        if let Some(v) = p.unquoted() {
            let _ = write!(s, "={}", clean(&v, 40));
        }
    }
    s
}

/// Authentication headers: each challenge or credentials set, with decoded
/// parameter values. Several challenges in one value are allowed (RFC 7235).
fn credentials(value: &str) -> Interp {
    let mut i = Interp::default();
    match Credentials::parse_many(value) {
        Ok(all) => {
            for c in &all {
                let ps = auth_params(c.params.iter().map(|(n, _)| (&**n, c.param(n))));
                i.items
                    .push(format!("scheme={}  {ps}", clean(&c.scheme, 20)));
            }
        }
        Err(e) => i.errors.push(clean(&e.to_string(), 200)),
    }
    i
}

fn auth_params<'p, V: AsRef<str>>(ps: impl Iterator<Item = (&'p str, Option<V>)>) -> String {
    let mut parts = Vec::new();
    for (name, value) in ps {
        let v = value.as_ref().map_or("", AsRef::as_ref);
        parts.push(format!("{}={}", clean(name, 20), clean(v, 40)));
    }
    parts.join("  ")
}

/// Option tags with a word on the well-known ones.
fn tag(t: &str) -> String {
    let what = match t.to_ascii_lowercase().as_str() {
        "100rel" => " (reliable provisionals)",
        "timer" => " (session timers)",
        "replaces" => " (Replaces)",
        "path" => " (Path)",
        "outbound" => " (SIP outbound)",
        "gruu" => " (GRUU)",
        "norefersub" => " (REFER without subscription)",
        "precondition" => " (preconditions)",
        _ => "",
    };
    format!("{}{what}", clean(t, 40))
}

/// `3600 s (1h)`.
fn seconds(s: u32) -> String {
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let mut human = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "min"), (sec, "s")] {
        if n > 0 {
            let _ = write!(
                human,
                "{}{n}{unit}",
                if human.is_empty() { "" } else { " " }
            );
        }
    }
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{s} s ({human})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(seconds(0), "0 s");
        assert_eq!(seconds(3600), "3600 s (1h)");
        assert_eq!(seconds(90), "90 s (1min 30s)");
    }

    #[test]
    fn via_interpretation() {
        let mut out = String::new();
        let h = Header {
            name: &HeaderName::Via,
            value: "SIP/2.0/UDP h:5060;branch=z9hG4bKx;rport",
        };
        header(&mut out, &h);
        assert!(
            out.contains("transport=UDP  host=h  port=5060  branch=z9hG4bKx  rport=requested"),
            "{out}"
        );
    }

    #[test]
    fn long_interpretations_wrap() {
        let lines = wrap("aaaa  bbbb  cccc", 10);
        assert_eq!(lines, ["aaaa  bbbb", "cccc"]);
        assert_eq!(wrap("abcdefghijkl", 5), ["abcdefghijkl"]);
    }

    #[test]
    fn bad_value_is_flagged() {
        let mut out = String::new();
        header(
            &mut out,
            &Header {
                name: &HeaderName::CSeq,
                value: "x INVITE",
            },
        );
        assert!(out.contains("! not valid: expected"), "{out}");
    }
}
