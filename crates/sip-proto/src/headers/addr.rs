//! Headers whose value is a name-addr or addr-spec with parameters:
//! From, To, Contact, Route, Record-Route, Path, Service-Route, Refer-To,
//! Referred-By (RFC 3261 §20, RFC 3327, RFC 3608, RFC 3515, RFC 3892).

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::{HeaderName, TypedHeader};
use crate::error::SyntaxError;
use crate::grammar::{find_byte_from, is_token, is_ws, write_quoted, Cursor};
use crate::params::Params;
use crate::uri::Uri;

/// `[display-name] <uri>;params` or `uri;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Decoded display name (quoted-pairs resolved).
    pub display_name: Option<Cow<'a, str>>,
    pub uri: Uri<'a>,
    /// Header parameters (after the URI), e.g. tag, q, expires.
    pub params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    pub fn new(uri: Uri<'a>) -> Self {
        NameAddr {
            display_name: None,
            uri,
            params: Params::new(),
        }
    }

    pub fn with_display_name(mut self, name: impl Into<Cow<'a, str>>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    pub fn set_tag(&mut self, tag: impl Into<Cow<'a, str>>) {
        self.params.set("tag", Some(tag.into()));
    }

    pub fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        Self::parse_checked(value, |_, _| true, "")
    }

    /// [`parse`](Self::parse), each header parameter also asked of
    /// `param_ok` as it is read (a refusal is a `what` error).
    #[inline]
    fn parse_checked(
        value: &'a str,
        param_ok: impl Fn(&[u8], Option<&[u8]>) -> bool,
        what: &'static str,
    ) -> Result<Self, SyntaxError> {
        let mut c = Cursor::new(value);
        c.skip_ws();
        let start = c;
        let display_name = match c.peek() {
            Some(b'"') => {
                let d = c.quoted()?;
                c.skip_ws();
                Some(d)
            }
            Some(b'<') => None,
            _ => {
                // *(token LWS) followed by '<' is a display name; anything
                // else is an addr-spec.
                let from = start.rest();
                loop {
                    if c.take_while(is_token).is_empty() {
                        break;
                    }
                    c.skip_ws();
                }
                if c.peek() == Some(b'<') {
                    let used = from.len() - c.rest().len();
                    let d = from.get(..used).unwrap_or("").trim_end_matches([' ', '\t']);
                    (!d.is_empty()).then_some(Cow::Borrowed(d))
                } else {
                    c = start;
                    return Self::parse_addr_spec(c, param_ok, what);
                }
            }
        };
        if !c.eat(b'<') {
            return Err(SyntaxError::new("'<' after display name", c.rest()));
        }
        let rest = c.rest().as_bytes();
        let close = find_byte_from(rest, 0, b'>');
        if close == rest.len() {
            return Err(SyntaxError::new("'>' closing the URI", c.rest()));
        }
        let inner = c.rest().get(..close).unwrap_or("");
        c.advance(close + 1);
        if inner.bytes().next().is_some_and(is_ws) || inner.bytes().last().is_some_and(is_ws) {
            return Err(SyntaxError::new("no whitespace inside <...>", inner));
        }
        let uri = Uri::parse(inner)?;
        let params = Params::parse_header_checked(&mut c, param_ok, what)?;
        c.expect_end("end of value after parameters")?;
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }

    fn parse_addr_spec(
        mut c: Cursor<'a>,
        param_ok: impl Fn(&[u8], Option<&[u8]>) -> bool,
        what: &'static str,
    ) -> Result<Self, SyntaxError> {
        let rest = c.rest();
        // A '<' before the parameters means a display name we could not
        // read (RFC 4475 §3.1.2.15); after ';' it may sit in a quoted value.
        let before_params = rest.split(';').next().unwrap_or("");
        if before_params.bytes().any(|c| c == b'<') {
            return Err(SyntaxError::new(
                "a quoted or token display name before '<'",
                rest,
            ));
        }
        let uri_text = c.take_while(|b| b != b';' && !is_ws(b));
        // RFC 3261 §20: a URI with ',', '?' or ';' must be in <...>; the
        // first ';' here starts the header parameters.
        if uri_text.bytes().any(|c| c == b'?' || c == b',') {
            return Err(SyntaxError::new(
                "URI with '?' or ',' enclosed in <...>",
                uri_text,
            ));
        }
        let uri = Uri::parse(uri_text)?;
        let params = Params::parse_header_checked(&mut c, param_ok, what)?;
        c.expect_end("end of value after parameters")?;
        Ok(NameAddr {
            display_name: None,
            uri,
            params,
        })
    }

    pub fn into_owned(self) -> NameAddr<'static> {
        NameAddr {
            display_name: self.display_name.map(|d| Cow::Owned(d.into_owned())),
            uri: self.uri.into_owned(),
            params: self.params.into_owned(),
        }
    }
}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            write_quoted(f, d)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

macro_rules! name_addr_header {
    ($(#[$doc:meta])* $ty:ident, $name:ident, $list:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty<'a>(pub NameAddr<'a>);

        impl<'a> $ty<'a> {
            pub fn into_owned(self) -> $ty<'static> {
                $ty(self.0.into_owned())
            }
        }

        impl<'a> Deref for $ty<'a> {
            type Target = NameAddr<'a>;
            fn deref(&self) -> &NameAddr<'a> {
                &self.0
            }
        }

        impl<'a> DerefMut for $ty<'a> {
            fn deref_mut(&mut self) -> &mut NameAddr<'a> {
                &mut self.0
            }
        }

        impl<'a> TypedHeader<'a> for $ty<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = $list;
            fn parse(value: &'a str) -> Result<Self, SyntaxError> {
                NameAddr::parse_checked(value, tag_ok, "tag=value").map($ty)
            }
        }

        impl fmt::Display for $ty<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

/// A tag has a value (RFC 3261 §25.1: `tag-param = "tag" EQUAL token`).
fn tag_ok(name: &[u8], value: Option<&[u8]>) -> bool {
    value.is_some() || !name.eq_ignore_ascii_case(b"tag")
}

name_addr_header!(
    /// From (RFC 3261 §20.20).
    From, From, false
);
name_addr_header!(
    /// To (RFC 3261 §20.39).
    To, To, false
);
name_addr_header!(
    /// One Route value (RFC 3261 §20.34).
    Route, Route, true
);
name_addr_header!(
    /// One Record-Route value (RFC 3261 §20.30).
    RecordRoute, RecordRoute, true
);
name_addr_header!(
    /// One Path value (RFC 3327).
    Path, Path, true
);
name_addr_header!(
    /// One Service-Route value (RFC 3608).
    ServiceRoute, ServiceRoute, true
);
name_addr_header!(
    /// Refer-To (RFC 3515).
    ReferTo, ReferTo, false
);
name_addr_header!(
    /// Referred-By (RFC 3892).
    ReferredBy, ReferredBy, false
);

/// One Contact value: `*` or an address with q/expires parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactValue<'a> {
    /// `Contact: *`, valid only in a REGISTER removing all bindings.
    Star,
    Addr(NameAddr<'a>),
}

/// One Contact value (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact<'a>(pub ContactValue<'a>);

impl<'a> Contact<'a> {
    pub fn new(addr: NameAddr<'a>) -> Self {
        Contact(ContactValue::Addr(addr))
    }

    pub fn addr(&self) -> Option<&NameAddr<'a>> {
        match &self.0 {
            ContactValue::Addr(a) => Some(a),
            ContactValue::Star => None,
        }
    }

    pub fn is_star(&self) -> bool {
        matches!(self.0, ContactValue::Star)
    }

    /// The `expires` parameter in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.addr()?.params.get("expires").flatten()?.parse().ok()
    }

    /// The `q` parameter in thousandths (1000 = 1.0).
    pub fn q(&self) -> Option<u16> {
        parse_qvalue(self.addr()?.params.get("q").flatten()?).ok()
    }

    pub fn into_owned(self) -> Contact<'static> {
        Contact(match self.0 {
            ContactValue::Star => ContactValue::Star,
            ContactValue::Addr(a) => ContactValue::Addr(a.into_owned()),
        })
    }
}

/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in 1/1000.
pub(crate) fn parse_qvalue(s: &str) -> Result<u16, SyntaxError> {
    let err = || SyntaxError::new("q-value between 0 and 1 with at most 3 decimals", s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
    }
    match int {
        "0" => Ok(thousandths),
        "1" if thousandths == 0 => Ok(1000),
        _ => Err(err()),
    }
}

impl<'a> TypedHeader<'a> for Contact<'a> {
    const NAME: HeaderName = HeaderName::Contact;
    const LIST: bool = true;

    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        if crate::grammar::trim_ws(value) == "*" {
            return Ok(Contact(ContactValue::Star));
        }
        let na = NameAddr::parse(value)?;
        if let Some(q) = na.params.get("q") {
            parse_qvalue(q.unwrap_or(""))?;
        }
        if let Some(e) = na.params.get("expires") {
            crate::grammar::parse_u32(e.unwrap_or(""), "Contact expires in seconds (0..2^32-1)")?;
        }
        Ok(Contact(ContactValue::Addr(na)))
    }
}

impl fmt::Display for Contact<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ContactValue::Star => f.write_str("*"),
            ContactValue::Addr(a) => a.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_forms() {
        let t = To::parse(r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ;  tag = 98asjd8"#)
            .unwrap();
        assert_eq!(t.display_name.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(t.tag(), Some("98asjd8"));
        let f = From::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(f.display_name.as_deref(), Some("caller"));
        let f =
            From::parse("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=x").unwrap();
        assert_eq!(
            f.display_name.as_deref(),
            Some("token1~` token2'+_ token3*%!.-")
        );
        let t = To::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(t.display_name, None);
        assert_eq!(t.tag(), Some("1918181833n"));
    }

    #[test]
    fn refused() {
        for bad in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:a@b>;tag",
            "<sip:a@b",
            r#""Joe" <sip:joe@example.org>;;;;"#,
        ] {
            assert!(From::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contact_values() {
        let c = Contact::parse(r#""Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33"#).unwrap();
        assert_eq!(c.q(), Some(330));
        assert!(Contact::parse("*").unwrap().is_star());
        assert!(Contact::parse("<sip:user@host129.example.com>;expires=280297596632815").is_err());
        assert!(Contact::parse("<sip:a@b>;q=1.5").is_err());
        assert_eq!(
            Contact::parse("<sip:a@b>;expires=3600").unwrap().expires(),
            Some(3600)
        );
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("1"), Ok(1000));
        assert_eq!(parse_qvalue("1.000"), Ok(1000));
        assert_eq!(parse_qvalue("0.5"), Ok(500));
        assert!(parse_qvalue("1.001").is_err());
        assert!(parse_qvalue("0.1234").is_err());
    }
}
