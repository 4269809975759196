//! Header field names. Known names are an enum (compact forms map to the
//! same variant); unknown names keep their exact spelling.

use std::fmt;

use bytestring::ByteString;

macro_rules! header_names {
    ($( $variant:ident => $canonical:literal, $lower:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Comparison is case-insensitive.
        #[derive(Debug, Clone)]
        pub enum HeaderName {
            $( $variant, )*
            /// A header this crate has no typed form for, spelled as received.
            /// Boxed: it is the rare case, and the box keeps every header
            /// entry of a message small (see `headers::Entry`).
            Other(Box<ByteString>),
        }

        impl HeaderName {
            /// The canonical spelling (long form).
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $canonical, )*
                    HeaderName::Other(b) => b,
                }
            }

            /// Classifies a name: known names become their variant.
            pub(crate) fn classify(raw: &[u8], other: impl FnOnce() -> ByteString) -> HeaderName {
                let known = if raw.iter().all(|b| crate::grammar::is_token(*b)) {
                    Self::known_token(raw)
                } else {
                    None
                };
                known.unwrap_or_else(|| HeaderName::Other(Box::new(other())))
            }

            /// The variant for a known name or compact form, any case; `raw`
            /// must be a token (the parser checked it).
            pub(crate) fn known_token(raw: &[u8]) -> Option<HeaderName> {
                let mut buf = [0u8; 24];
                Self::known_folded(crate::grammar::fold_name(raw, &mut buf)?)
            }

            /// The variant for a name passed through
            /// [`fold_name`](crate::grammar::fold_name) (or the parser's
            /// word-wide equivalent). Bytes below 0x20 never reach here, so
            /// a match also proves the name is a token.
            pub(crate) fn known_folded(folded: &[u8]) -> Option<HeaderName> {
                // Slice patterns compile to a switch on length, then
                // comparisons among the few names of that length.
                match folded {
                    $( $lower => return Some(HeaderName::$variant), )*
                    $( $( [$compact] => return Some(HeaderName::$variant), )? )*
                    _ => {}
                }
                None
            }
        }
    };
}

header_names! {
    Via => "Via", b"via", b'v';
    From => "From", b"from", b'f';
    To => "To", b"to", b't';
    CallId => "Call-ID", b"call-id", b'i';
    CSeq => "CSeq", b"cseq";
    Contact => "Contact", b"contact", b'm';
    MaxForwards => "Max-Forwards", b"max-forwards";
    Route => "Route", b"route";
    RecordRoute => "Record-Route", b"record-route";
    ContentType => "Content-Type", b"content-type", b'c';
    ContentLength => "Content-Length", b"content-length", b'l';
    ContentDisposition => "Content-Disposition", b"content-disposition";
    ContentEncoding => "Content-Encoding", b"content-encoding", b'e';
    ContentLanguage => "Content-Language", b"content-language";
    Expires => "Expires", b"expires";
    MinExpires => "Min-Expires", b"min-expires";
    Allow => "Allow", b"allow";
    Supported => "Supported", b"supported", b'k';
    Require => "Require", b"require";
    ProxyRequire => "Proxy-Require", b"proxy-require";
    Unsupported => "Unsupported", b"unsupported";
    Accept => "Accept", b"accept";
    AcceptEncoding => "Accept-Encoding", b"accept-encoding";
    AcceptLanguage => "Accept-Language", b"accept-language";
    WwwAuthenticate => "WWW-Authenticate", b"www-authenticate";
    ProxyAuthenticate => "Proxy-Authenticate", b"proxy-authenticate";
    Authorization => "Authorization", b"authorization";
    ProxyAuthorization => "Proxy-Authorization", b"proxy-authorization";
    AuthenticationInfo => "Authentication-Info", b"authentication-info";
    Event => "Event", b"event", b'o';
    AllowEvents => "Allow-Events", b"allow-events", b'u';
    SubscriptionState => "Subscription-State", b"subscription-state";
    SipETag => "SIP-ETag", b"sip-etag";
    SipIfMatch => "SIP-If-Match", b"sip-if-match";
    UserAgent => "User-Agent", b"user-agent";
    Server => "Server", b"server";
    Date => "Date", b"date";
    Timestamp => "Timestamp", b"timestamp";
    Warning => "Warning", b"warning";
    RetryAfter => "Retry-After", b"retry-after";
    Reason => "Reason", b"reason";
    ReferTo => "Refer-To", b"refer-to", b'r';
    ReferredBy => "Referred-By", b"referred-by", b'b';
    Replaces => "Replaces", b"replaces";
    RSeq => "RSeq", b"rseq";
    RAck => "RAck", b"rack";
    SessionExpires => "Session-Expires", b"session-expires", b'x';
    MinSe => "Min-SE", b"min-se";
    Subject => "Subject", b"subject", b's';
    Path => "Path", b"path";
    ServiceRoute => "Service-Route", b"service-route";
    Organization => "Organization", b"organization";
    Priority => "Priority", b"priority";
    InReplyTo => "In-Reply-To", b"in-reply-to";
    ReplyTo => "Reply-To", b"reply-to";
    AlertInfo => "Alert-Info", b"alert-info";
    CallInfo => "Call-Info", b"call-info";
    ErrorInfo => "Error-Info", b"error-info";
    MimeVersion => "MIME-Version", b"mime-version";
}

impl HeaderName {
    /// A name for building messages; known names become their variant.
    pub fn new(name: &str) -> HeaderName {
        HeaderName::classify(name.as_bytes(), || ByteString::from(name))
    }
}

impl PartialEq for HeaderName {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for HeaderName {}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(HeaderName::new("v"), HeaderName::Via);
        assert_eq!(HeaderName::new("MaX-fOrWaRdS"), HeaderName::MaxForwards);
        assert_eq!(HeaderName::new("call-id"), HeaderName::CallId);
        assert_eq!(HeaderName::new("L"), HeaderName::ContentLength);
        let other = HeaderName::new("C%6Fntact");
        assert!(matches!(other, HeaderName::Other(_)));
        assert_eq!(other.as_str(), "C%6Fntact");
        assert_eq!(other, HeaderName::new("c%6fntact"));
        assert_ne!(other, HeaderName::Contact);
        assert!(matches!(HeaderName::new("y"), HeaderName::Other(_)));
        // Non-token bytes that would fold onto a known name stay unknown.
        assert!(matches!(HeaderName::new("call\rid"), HeaderName::Other(_)));
        assert!(matches!(HeaderName::new("call_id"), HeaderName::Other(_)));
        assert!(matches!(HeaderName::new("\u{c}"), HeaderName::Other(_)));
    }
}
