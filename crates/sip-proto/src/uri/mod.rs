//! SIP, SIPS and TEL URIs (RFC 3261 §19.1, RFC 3966), other schemes kept as
//! absolute URIs, and the comparison rules of RFC 3261 §19.1.4.
//!
//! Components are kept in their escaped wire form so a URI serializes back
//! exactly; [`SipUri::user_unescaped`] and friends decode on demand.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::SyntaxError;
use crate::grammar::{
    check_escaped, find_byte, is_param_char, is_unreserved, is_user_char, percent_decode,
    split_byte, walk_escaped,
};
use crate::params::{Param, Params};

mod host;
pub use host::Host;

/// Any URI that may appear in a Request-URI or a name-addr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri<'a> {
    Sip(SipUri<'a>),
    Tel(TelUri<'a>),
    /// A scheme this stack does not interpret (RFC 3261 §19.1: kept opaque).
    Absolute(AbsoluteUri<'a>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri<'a> {
    pub scheme: Scheme,
    /// Escaped user part (may itself contain `;` or `?`, RFC 4475 §3.1.1.9).
    pub user: Option<Cow<'a, str>>,
    /// Escaped password, deprecated by RFC 3261 but still legal.
    pub password: Option<Cow<'a, str>>,
    pub host: Host<'a>,
    pub port: Option<u16>,
    pub params: Params<'a>,
    /// `?name=value&...` header components (values escaped).
    pub headers: Params<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri<'a> {
    pub number: Cow<'a, str>,
    pub params: Params<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsoluteUri<'a> {
    pub scheme: Cow<'a, str>,
    /// Everything after `scheme:`, unchanged.
    pub rest: Cow<'a, str>,
}

// ---------------------------------------------------------------- parsing

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_hnv_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// A port at the start of `b`: 1 to 5 digits, at most 65535, read in one
/// pass; the port and how many digits it took. `None` when there is no
/// digit, a sixth one, or the value is too large.
pub(crate) fn read_port(b: &[u8]) -> Option<(u16, usize)> {
    let mut v: u32 = 0;
    let mut n = 0;
    while let Some(d) = b.get(n).filter(|c| c.is_ascii_digit()) {
        if n == 5 {
            return None;
        }
        v = v * 10 + u32::from(d - b'0');
        n += 1;
    }
    let port = u16::try_from(v).ok().filter(|_| n > 0)?;
    Some((port, n))
}

const fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

/// Characters allowed in the opaque part of an absolute URI: anything
/// visible except the delimiters that would end it inside a SIP header.
const fn is_opaque_char(b: u8) -> bool {
    b > b' ' && b < 0x7f && !matches!(b, b'<' | b'>' | b'"')
}

impl<'a> Uri<'a> {
    pub fn parse(s: &'a str) -> Result<Self, SyntaxError> {
        // Nearly every URI here: no scheme to search for and check.
        if let Some(rest) = s.strip_prefix("sip:") {
            return SipUri::parse_rest(Scheme::Sip, rest).map(Uri::Sip);
        }
        let colon = find_byte(s, b':').ok_or_else(|| SyntaxError::new("URI scheme", s))?;
        let (scheme, rest) = (
            s.get(..colon).unwrap_or(""),
            s.get(colon + 1..).unwrap_or(""),
        );
        let scheme_ok = scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme.bytes().all(is_scheme_char);
        if !scheme_ok {
            return Err(SyntaxError::new("URI scheme", s));
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_rest(Scheme::Sip, rest).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_rest(Scheme::Sips, rest).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_rest(rest).map(Uri::Tel)
        } else {
            if rest.is_empty() || !rest.bytes().all(is_opaque_char) {
                return Err(SyntaxError::new("URI characters", rest));
            }
            Ok(Uri::Absolute(AbsoluteUri {
                scheme: Cow::Borrowed(scheme),
                rest: Cow::Borrowed(rest),
            }))
        }
    }

    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) => u.scheme.as_str(),
            Uri::Tel(_) => "tel",
            Uri::Absolute(a) => &a.scheme,
        }
    }

    pub fn into_owned(self) -> Uri<'static> {
        match self {
            Uri::Sip(u) => Uri::Sip(u.into_owned()),
            Uri::Tel(t) => Uri::Tel(TelUri {
                number: Cow::Owned(t.number.into_owned()),
                params: t.params.into_owned(),
            }),
            Uri::Absolute(a) => Uri::Absolute(AbsoluteUri {
                scheme: Cow::Owned(a.scheme.into_owned()),
                rest: Cow::Owned(a.rest.into_owned()),
            }),
        }
    }

    /// URI equivalence (RFC 3261 §19.1.4 for SIP/SIPS; RFC 3966 §4 for TEL,
    /// simplified to case-insensitive comparison; exact for other schemes).
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
            (Uri::Tel(a), Uri::Tel(b)) => {
                strip_visual(&a.number).eq_ignore_ascii_case(&strip_visual(&b.number))
                    && params_equal_all(&a.params, &b.params)
            }
            (Uri::Absolute(a), Uri::Absolute(b)) => {
                a.scheme.eq_ignore_ascii_case(&b.scheme) && a.rest == b.rest
            }
            _ => false,
        }
    }
}

impl FromStr for Uri<'static> {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, SyntaxError> {
        Uri::parse(s).map(Uri::into_owned)
    }
}

impl<'a> SipUri<'a> {
    /// A URI with only a host, for building.
    pub fn new(scheme: Scheme, host: Host<'a>) -> Self {
        SipUri {
            scheme,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: Params::new(),
        }
    }

    pub fn with_user(mut self, user: impl Into<Cow<'a, str>>) -> Self {
        self.user = Some(user.into());
        self
    }

    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    pub fn with_param(mut self, name: impl Into<Cow<'a, str>>, value: Option<&'a str>) -> Self {
        self.params.set(name, value);
        self
    }

    fn parse_rest(scheme: Scheme, rest: &'a str) -> Result<Self, SyntaxError> {
        // The usual `user@`: one walk over the user's characters.
        if let Ok(at) = walk_escaped(rest.as_bytes(), 0, is_user_char) {
            if at > 0 && rest.as_bytes().get(at) == Some(&b'@') {
                let user = rest.get(..at).unwrap_or("");
                let hostpart = rest.get(at + 1..).unwrap_or("");
                return Self::parse_hostpart(scheme, Some(Cow::Borrowed(user)), None, hostpart);
            }
        }
        // '@' can appear only as the userinfo separator: no other component
        // of a SIP URI allows it unescaped.
        let (userinfo, hostpart) = match find_byte(rest, b'@') {
            Some(i) => (
                Some(rest.get(..i).unwrap_or("")),
                rest.get(i + 1..).unwrap_or(""),
            ),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                let (u, p) = match split_byte(ui, b':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                if u.is_empty() {
                    return Err(SyntaxError::new("user part", ui));
                }
                check_escaped(u, is_user_char, "user part characters")?;
                if let Some(p) = p {
                    check_escaped(p, is_password_char, "password characters")?;
                }
                (Some(Cow::Borrowed(u)), p.map(Cow::Borrowed))
            }
        };
        Self::parse_hostpart(scheme, user, password, hostpart)
    }

    /// The rest of a SIP URI after its userinfo: hostport, parameters,
    /// headers.
    fn parse_hostpart(
        scheme: Scheme,
        user: Option<Cow<'a, str>>,
        password: Option<Cow<'a, str>>,
        hostpart: &'a str,
    ) -> Result<Self, SyntaxError> {
        // hostport ends at the first ';' or '?' (neither is legal in it).
        let (host, port, used) = Host::parse_hostport_prefix(hostpart)?;
        let mut tail = hostpart.get(used..).unwrap_or("");
        if !matches!(tail.as_bytes().first(), None | Some(b';' | b'?')) {
            let what = if port.is_some() {
                "port number"
            } else {
                "host name"
            };
            return Err(SyntaxError::new(what, hostpart));
        }
        // The parameters stay the text they were received as.
        let params_text = tail;
        let mut count = 0;
        while tail.as_bytes().first() == Some(&b';') {
            let p = tail.get(1..).unwrap_or("");
            let (param, end) = read_uri_param(p, "URI parameter")?;
            let earlier = params_text
                .get(..params_text.len() - tail.len())
                .unwrap_or("");
            check_new_param(earlier, count, &param)?;
            count += 1;
            tail = p.get(end..).unwrap_or("");
        }
        let params_text = params_text
            .get(..params_text.len() - tail.len())
            .unwrap_or("");
        let header_str = tail
            .get(1..)
            .filter(|_| tail.as_bytes().first() == Some(&b'?'));
        let mut headers = Vec::new();
        if let Some(hs) = header_str {
            for h in hs.split('&') {
                let (name, value) = split_byte(h, b'=')
                    .ok_or_else(|| SyntaxError::new("URI header name=value", h))?;
                if name.is_empty() {
                    return Err(SyntaxError::new("URI header name", h));
                }
                check_escaped(name, is_hnv_char, "URI header characters")?;
                check_escaped(value, is_hnv_char, "URI header characters")?;
                headers.push(Param {
                    name: Cow::Borrowed(name),
                    value: Some(Cow::Borrowed(value)),
                });
            }
        }
        Ok(SipUri {
            scheme,
            user,
            password,
            host,
            port,
            params: Params::received_uri(params_text),
            headers: Params::from(headers),
        })
    }

    /// The user part with %HH escapes decoded (may hold any octet, even NUL).
    pub fn user_unescaped(&self) -> Option<Cow<'_, [u8]>> {
        self.user.as_deref().map(percent_decode)
    }

    pub fn transport_param(&self) -> Option<&str> {
        self.params.get("transport").flatten()
    }

    pub fn is_loose_router(&self) -> bool {
        self.params.contains("lr")
    }

    pub fn into_owned(self) -> SipUri<'static> {
        SipUri {
            scheme: self.scheme,
            user: self.user.map(|u| Cow::Owned(u.into_owned())),
            password: self.password.map(|u| Cow::Owned(u.into_owned())),
            host: self.host.into_owned(),
            port: self.port,
            params: self.params.into_owned(),
            headers: self.headers.into_owned(),
        }
    }

    /// RFC 3261 §19.1.4.
    pub fn equivalent(&self, other: &SipUri<'_>) -> bool {
        if self.scheme != other.scheme
            || !opt_unescaped_eq(self.user.as_deref(), other.user.as_deref(), false)
            || !opt_unescaped_eq(self.password.as_deref(), other.password.as_deref(), false)
            || !self.host.equivalent(&other.host)
            || self.port != other.port
        {
            return false;
        }
        // user, ttl, method, maddr and transport must match when either URI
        // has them; other parameters only when both have them.
        const MUST_MATCH: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];
        for name in MUST_MATCH {
            let (a, b) = (
                find_escaped(&self.params, name),
                find_escaped(&other.params, name),
            );
            match (a, b) {
                (None, None) => {}
                (Some(a), Some(b)) if param_value_eq(&a, &b) => {}
                _ => return false,
            }
        }
        for a in self.params.iter() {
            if let Some(b) = find_escaped(&other.params, &a.name) {
                if !param_value_eq(&a, &b) {
                    return false;
                }
            }
        }
        headers_equal(&self.headers, &other.headers)
    }
}

/// At most this many parameters in one URI (keeps the duplicate check,
/// which RFC 3261 §19.1.1 requires, linear in practice).
pub const MAX_URI_PARAMS: usize = 64;

/// RFC 3261 §19.1.1: a parameter name appears at most once (compared
/// unescaped and case-insensitively, as §19.1.4 compares them).
fn check_new_param(earlier: &str, count: usize, new: &Param<'_>) -> Result<(), SyntaxError> {
    if count == 0 {
        return Ok(());
    }
    if count >= MAX_URI_PARAMS {
        return Err(SyntaxError::new("at most 64 URI parameters", &new.name));
    }
    let name = percent_decode(&new.name);
    if Params::received_uri(earlier)
        .iter()
        .any(|p| percent_decode(&p.name).eq_ignore_ascii_case(&name))
    {
        return Err(SyntaxError::new(
            "each URI parameter name at most once",
            &new.name,
        ));
    }
    Ok(())
}

/// One `uri-parameter` at the start of `p` (after its ';'), read in one
/// walk up to the next ';' or '?'; returns it and the bytes read.
fn read_uri_param<'p>(p: &'p str, what: &'static str) -> Result<(Param<'p>, usize), SyntaxError> {
    let b = p.as_bytes();
    let bad = |_| SyntaxError::new(what, p);
    let name_end = walk_escaped(b, 0, is_param_char).map_err(bad)?;
    let (value, end) = if b.get(name_end) == Some(&b'=') {
        let value_end = walk_escaped(b, name_end + 1, is_param_char).map_err(bad)?;
        (p.get(name_end + 1..value_end), value_end)
    } else {
        (None, name_end)
    };
    let ends_well = matches!(b.get(end), None | Some(b';' | b'?'));
    if name_end == 0 || value == Some("") || !ends_well {
        return Err(SyntaxError::new(what, p));
    }
    let param = Param {
        name: Cow::Borrowed(p.get(..name_end).unwrap_or("")),
        value: value.map(Cow::Borrowed),
    };
    Ok((param, end))
}

impl<'a> TelUri<'a> {
    fn parse_rest(rest: &'a str) -> Result<Self, SyntaxError> {
        let mut parts = rest.split(';');
        let number = parts.next().unwrap_or("");
        let number_ok = !number.is_empty()
            && number.bytes().all(|b| {
                b.is_ascii_hexdigit() || matches!(b, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#')
            });
        if !number_ok {
            return Err(SyntaxError::new("telephone number", number));
        }
        let params_text = rest.get(number.len()..).unwrap_or("");
        let mut used = 0;
        for (count, p) in parts.enumerate() {
            // The part ends at ';'; a '?' is no terminator in a TEL URI.
            let (param, end) = read_uri_param(p, "tel URI parameter")?;
            if end != p.len() {
                return Err(SyntaxError::new("tel URI parameter", p));
            }
            check_new_param(params_text.get(..used).unwrap_or(""), count, &param)?;
            used += 1 + p.len();
        }
        Ok(TelUri {
            number: Cow::Borrowed(number),
            params: Params::received_uri(params_text),
        })
    }
}

fn strip_visual(n: &str) -> String {
    n.chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
        .collect()
}

fn unescaped_eq(a: &str, b: &str, ignore_case: bool) -> bool {
    let (a, b) = (percent_decode(a), percent_decode(b));
    if ignore_case {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn opt_unescaped_eq(a: Option<&str>, b: Option<&str>, ignore_case: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => unescaped_eq(a, b, ignore_case),
        _ => false,
    }
}

fn param_value_eq(a: &Param<'_>, b: &Param<'_>) -> bool {
    opt_unescaped_eq(a.value.as_deref(), b.value.as_deref(), true)
}

/// URI header components: the same multiset of (name, value) pairs, since a
/// header may repeat (`?Route=a&Route=b`). Names and values compare
/// unescaped, names case-insensitively.
fn headers_equal(a: &Params<'_>, b: &Params<'_>) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let key = |p: Param<'_>| {
        (
            percent_decode(&p.name).to_ascii_lowercase(),
            p.value.as_deref().map(|v| percent_decode(v).into_owned()),
        )
    };
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort();
    y.sort();
    x == y
}

/// Looks a parameter up by name, comparing names unescaped and
/// case-insensitively (`n%61me` is `name`).
fn find_escaped<'p>(params: &'p Params<'_>, name: &str) -> Option<Param<'p>> {
    let want = percent_decode(name);
    params
        .iter()
        .find(|p| percent_decode(&p.name).eq_ignore_ascii_case(&want))
}

/// Every parameter of each list is present in the other with an equal value.
fn params_equal_all(a: &Params<'_>, b: &Params<'_>) -> bool {
    let covered = |x: &Params<'_>, y: &Params<'_>| {
        x.iter()
            .all(|p| find_escaped(y, &p.name).is_some_and(|q| param_value_eq(&p, &q)))
    };
    a.len() == b.len() && covered(a, b) && covered(b, a)
}

// ---------------------------------------------------------------- display

impl fmt::Display for SipUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.as_str())?;
        f.write_str(":")?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, h) in self.headers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(&h.name)?;
            f.write_str("=")?;
            f.write_str(h.value.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => write!(f, "{u}"),
            Uri::Tel(t) => write!(f, "tel:{}{}", t.number, t.params),
            Uri::Absolute(a) => write!(f, "{}:{}", a.scheme, a.rest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri<'_> {
        match Uri::parse(s).unwrap() {
            Uri::Sip(u) => u,
            other => panic!("not sip: {other:?}"),
        }
    }

    #[test]
    fn components() {
        let u = sip("sips:alice:pw@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent");
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.host, Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport_param(), Some("tcp"));
        assert!(u.is_loose_router());
        assert_eq!(u.headers.get("subject"), Some(Some("hi")));
        assert_eq!(
            u.to_string(),
            "sips:alice:pw@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent"
        );
    }

    #[test]
    fn escaped_user_parts() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(&*u.user_unescaped().unwrap(), b"sips:user@example.com");
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(&*u.user_unescaped().unwrap(), b"user;par=u@example.net");
        assert!(u.params.is_empty());
        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(&*u.user_unescaped().unwrap(), b"null-\0-null");
    }

    #[test]
    fn refused() {
        for bad in [
            "<sip:user@example.com>",
            "sip:user@example.com; lr",
            "sip:@example.com",
            "sip:user@exa mple.com",
            "sip:user@example.com:99999",
            "sip:user@example.com;=x",
            "sip:us%zzer@example.com",
            "sip:user@[::1",
            "sip:user@192.0.2.300",
            "1sip:foo",
            "nocolon",
            "sip:h;lr;LR",
            "sip:a..b",
            "sip:1a",
            "sip:-a.example.com",
            "sip:a-.example.com",
            "sip:h;a=1;%61=2",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn userinfo_forms() {
        for (text, user, password, host) in [
            ("sip:alice@h", Some("alice"), None, "h"),
            ("sip:h;x=y@z", Some("h;x=y"), None, "z"),
            ("sip:a%40b@h", Some("a%40b"), None, "h"),
            ("sip:user:pass@h:5060", Some("user"), Some("pass"), "h"),
            ("sip:h:5060;lr", None, None, "h"),
        ] {
            let Ok(Uri::Sip(u)) = Uri::parse(text) else {
                panic!("{text}")
            };
            assert_eq!(u.user.as_deref(), user, "{text}");
            assert_eq!(u.password.as_deref(), password, "{text}");
            assert_eq!(u.host, Host::Domain(Cow::Borrowed(host)), "{text}");
        }
    }

    #[test]
    fn host_parse_reads_all_of_its_text() {
        for ok in [
            "a.example.com",
            "example.com.",
            "192.0.2.1",
            "[2001:db8::1]",
            "a_b",
        ] {
            assert!(Host::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "a b", "a..b", "a:5060", "1.2.3.4.", "[::1]x", "-a"] {
            assert!(Host::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parameters_read_from_the_received_text() {
        let u = Uri::parse("sip:h;transport=TCP;lr;maddr=%31.0.0.1;x=1?h=v").unwrap();
        let s = u.as_sip().unwrap();
        assert_eq!(s.transport_param(), Some("TCP"));
        assert!(s.is_loose_router());
        assert_eq!(s.params.get("MADDR"), Some(Some("%31.0.0.1")));
        assert_eq!(s.params.len(), 4);
        assert_eq!(s.headers.get("h"), Some(Some("v")));
        assert_eq!(
            u.to_string(),
            "sip:h;transport=TCP;lr;maddr=%31.0.0.1;x=1?h=v"
        );
        let t = Uri::parse("tel:+1;a=b;c").unwrap();
        let Uri::Tel(t) = t else { panic!("tel") };
        assert_eq!(t.params.get("c"), Some(None));
        assert_eq!(t.params.get("a"), Some(Some("b")));
        assert_eq!(t.params.len(), 2);
    }

    #[test]
    fn ports_of_one_to_five_digits_up_to_65535() {
        assert_eq!(read_port(b"5060;x"), Some((5060, 4)));
        assert_eq!(read_port(b"65535"), Some((65535, 5)));
        assert_eq!(read_port(b"00080>"), Some((80, 5)));
        assert_eq!(read_port(b"0"), Some((0, 1)));
        for bad in [&b""[..], b"x1", b"65536", b"000001", b"123456"] {
            assert_eq!(read_port(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tel_parameters() {
        assert!(Uri::parse("tel:+1;a=b;c").is_ok());
        for bad in [
            "tel:+1;a=b?c",
            "tel:+1;;a",
            "tel:+1;a=",
            "tel:+1;a=%zz",
            "tel:+1;a;A",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostnames() {
        for ok in [
            "sip:1a.example.com",
            "sip:example.com.",
            "sip:a_b.example.com",
            "sip:x",
            "sip:a--b.example.com",
            "sip:192.0.2.1",
            "sip:0.0.0.0",
            "sip:255.255.255.255",
            "sip:[2001:db8::1]:5061;transport=tls",
            "sip:h:0?Subject=x",
            "sip:example.com.:5060;lr",
            "sip:h;a%41=%42;lr;transport=tcp?x=y",
            "sip:h;maddr=[2001:db8::1];x=/a:b&c+$",
            "sip:h;x=y@z",
            "sip:a%40b@h",
            "sip:user:pass@h:5060",
            "sip:user:@h",
        ] {
            assert!(Uri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "sip:.",
            "sip:a..b",
            "sip:example.com..",
            "sip:-a.example.com",
            "sip:a.-b.com",
            "sip:a.b-",
            "sip:a.b-.",
            "sip:a.1b",
            "sip:.a.com",
            "sip:1.2.3.4.",
            "sip:1..2.3",
            "sip:256.1.1.1",
            "sip:1.2.3",
            "sip:1.2.3.4.5",
            "sip:01.2.3.4",
            "sip:1.2.3.1000",
            "sip:1.2..4",
            "sip:a b",
            "sip:host:5060x",
            "sip:host:",
            "sip:host:65536",
            "sip:host:123456",
            "sip:host:50:60",
            "sip:[::1]x",
            "sip:[::1",
            "sip:;lr",
            "sip:user@",
            "sip:h/x",
            "sip:h;a=b=c",
            "sip:h;a=",
            "sip:h;=b",
            "sip:h;a%zz",
            "sip:h;a=%4",
            "sip:h;a b",
            "sip:h;;a",
            "sip:h;a;",
            "sip:a[b@c",
            "sip:h;a=[x]@y",
            "sip:%4@h",
            "sip:@h",
            "sip:a b@h",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_schemes() {
        let u = Uri::parse("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme(), "soap.beep");
        assert_eq!(u.to_string(), "soap.beep://192.0.2.103:3002");
        let t = Uri::parse("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert!(matches!(&t, Uri::Tel(t) if t.number == "+1-201-555-0123"));
    }

    /// Found by the `uri` fuzz target: equivalence must be reflexive even
    /// with repeated URI headers (legal: `?Route=a&Route=b`).
    #[test]
    fn equivalence_is_reflexive_with_repeated_headers() {
        let u = Uri::parse("sip:z2.?6=&8si6L=&isiP:z2.?6=&8si6L=f").unwrap();
        assert!(u.equivalent(&u));
        let a = Uri::parse("sip:h?Route=a&Route=b").unwrap();
        let b = Uri::parse("sip:h?Route=b&Route=a").unwrap();
        let c = Uri::parse("sip:h?Route=a&Route=a").unwrap();
        assert!(a.equivalent(&b));
        assert!(!a.equivalent(&c));
    }

    /// The examples of RFC 3261 §19.1.4.
    #[test]
    fn rfc3261_equivalence_examples() {
        let eq = [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
            ),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
            (
                "sip:carol@chicago.com;newparam=5",
                "sip:carol@chicago.com;security=on",
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ),
        ];
        for (a, b) in eq {
            assert!(
                Uri::parse(a).unwrap().equivalent(&Uri::parse(b).unwrap()),
                "{a} == {b}"
            );
            assert!(
                Uri::parse(b).unwrap().equivalent(&Uri::parse(a).unwrap()),
                "{b} == {a}"
            );
        }
        let ne = [
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
            ),
        ];
        for (a, b) in ne {
            assert!(
                !Uri::parse(a).unwrap().equivalent(&Uri::parse(b).unwrap()),
                "{a} != {b}"
            );
            assert!(
                !Uri::parse(b).unwrap().equivalent(&Uri::parse(a).unwrap()),
                "{b} != {a}"
            );
        }
    }
}
