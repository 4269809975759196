//! Header field names. Known names are an enum (compact forms map to the
//! same variant); unknown names keep their exact spelling.

use std::fmt;

use bytes::Bytes;

macro_rules! header_names {
    ($( $variant:ident => $canonical:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Comparison is case-insensitive.
        #[derive(Debug, Clone)]
        pub enum HeaderName {
            $( $variant, )*
            /// A header this crate has no typed form for, spelled as received.
            Other(Bytes),
        }

        impl HeaderName {
            /// The canonical spelling (long form).
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $canonical, )*
                    HeaderName::Other(b) => std::str::from_utf8(b).unwrap_or(""),
                }
            }

            /// Classifies a received name (already checked to be a token).
            pub(crate) fn classify(raw: &[u8], other: impl FnOnce() -> Bytes) -> HeaderName {
                if let [c] = raw {
                    match c.to_ascii_lowercase() {
                        $( $( x if x == $compact => return HeaderName::$variant, )? )*
                        _ => {}
                    }
                }
                let mut buf = [0u8; 24];
                if raw.len() <= buf.len() {
                    for (d, s) in buf.iter_mut().zip(raw) {
                        *d = s.to_ascii_lowercase();
                    }
                    let lower = buf.get(..raw.len()).unwrap_or(&[]);
                    $(
                        if lower.len() == $canonical.len()
                            && lower.eq_ignore_ascii_case($canonical.as_bytes())
                        {
                            return HeaderName::$variant;
                        }
                    )*
                }
                HeaderName::Other(other())
            }
        }
    };
}

header_names! {
    Via => "Via", b'v';
    From => "From", b'f';
    To => "To", b't';
    CallId => "Call-ID", b'i';
    CSeq => "CSeq";
    Contact => "Contact", b'm';
    MaxForwards => "Max-Forwards";
    Route => "Route";
    RecordRoute => "Record-Route";
    ContentType => "Content-Type", b'c';
    ContentLength => "Content-Length", b'l';
    ContentDisposition => "Content-Disposition";
    ContentEncoding => "Content-Encoding", b'e';
    ContentLanguage => "Content-Language";
    Expires => "Expires";
    MinExpires => "Min-Expires";
    Allow => "Allow";
    Supported => "Supported", b'k';
    Require => "Require";
    ProxyRequire => "Proxy-Require";
    Unsupported => "Unsupported";
    Accept => "Accept";
    AcceptEncoding => "Accept-Encoding";
    AcceptLanguage => "Accept-Language";
    WwwAuthenticate => "WWW-Authenticate";
    ProxyAuthenticate => "Proxy-Authenticate";
    Authorization => "Authorization";
    ProxyAuthorization => "Proxy-Authorization";
    AuthenticationInfo => "Authentication-Info";
    Event => "Event", b'o';
    AllowEvents => "Allow-Events", b'u';
    SubscriptionState => "Subscription-State";
    SipETag => "SIP-ETag";
    SipIfMatch => "SIP-If-Match";
    UserAgent => "User-Agent";
    Server => "Server";
    Date => "Date";
    Timestamp => "Timestamp";
    Warning => "Warning";
    RetryAfter => "Retry-After";
    Reason => "Reason";
    ReferTo => "Refer-To", b'r';
    ReferredBy => "Referred-By", b'b';
    Replaces => "Replaces";
    RSeq => "RSeq";
    RAck => "RAck";
    SessionExpires => "Session-Expires", b'x';
    MinSe => "Min-SE";
    Subject => "Subject", b's';
    Path => "Path";
    ServiceRoute => "Service-Route";
    Organization => "Organization";
    Priority => "Priority";
    InReplyTo => "In-Reply-To";
    ReplyTo => "Reply-To";
    AlertInfo => "Alert-Info";
    CallInfo => "Call-Info";
    ErrorInfo => "Error-Info";
    MimeVersion => "MIME-Version";
}

impl HeaderName {
    /// A name for building messages; known names become their variant.
    pub fn new(name: &str) -> HeaderName {
        HeaderName::classify(name.as_bytes(), || Bytes::copy_from_slice(name.as_bytes()))
    }
}

impl PartialEq for HeaderName {
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
    }
}
