//! Helpers shared by the fuzz targets and property tests: one list of every
//! typed header, so a new header type is fuzzed by adding it here.
//! Not part of the stable API.
#![allow(clippy::panic)] // an oracle for fuzzers: failing loudly is its job

use crate::headers::*;

macro_rules! for_each_typed_header {
    ($m:ident, $arg:expr) => {
        $m!(
            $arg,
            Via,
            From,
            To,
            Contact,
            Route,
            RecordRoute,
            Path,
            ServiceRoute,
            ReferTo,
            ReferredBy
        );
        $m!(
            $arg,
            CallId,
            CSeq,
            MaxForwards,
            ContentLength,
            Expires,
            MinExpires,
            RSeq,
            RAck
        );
        $m!(
            $arg,
            Supported,
            Require,
            ProxyRequire,
            Unsupported,
            AllowEvents,
            ContentEncoding,
            AcceptEncoding,
            Allow
        );
        $m!($arg, Subject, UserAgent, ServerHeader, SipETag, SipIfMatch);
        $m!(
            $arg,
            Event,
            SubscriptionState,
            ContentDisposition,
            Reason,
            Replaces,
            SessionExpires,
            MinSe,
            RetryAfter
        );
        $m!($arg, ContentType, Accept, Date, Timestamp, Warning);
        $m!(
            $arg,
            WwwAuthenticate,
            ProxyAuthenticate,
            Authorization,
            ProxyAuthorization,
            AuthenticationInfo
        );
    };
}

macro_rules! read_each {
    ($h:expr, $($t:ident),*) => {
        $( for r in $h.typed_all::<$t>() { let _ = r.map(|v| v.to_string()); } )*
    };
}

macro_rules! round_trip_each {
    ($s:expr, $($t:ident),*) => {
        $(
            if let Ok(v) = <$t as TypedHeader>::parse($s) {
                let text = v.to_string();
                match <$t as TypedHeader>::parse(&text) {
                    Ok(again) => assert_eq!(again, v, "{} {:?} printed as {:?}", stringify!($t), $s, text),
                    Err(e) => panic!("{} {:?} printed as {:?} which fails: {}", stringify!($t), $s, text, e),
                }
            }
        )*
    };
}

/// Reads every typed header of `h` (errors are fine; panics are not).
pub fn read_all_typed(h: &Headers) {
    for_each_typed_header!(read_each, h);
}

/// Parses `s` as every typed header; each value that parses must print
/// back to text that parses to an equal value. Panics otherwise.
pub fn check_round_trip_all(s: &str) {
    for_each_typed_header!(round_trip_each, s);
}

/// The RFC 6665 and RFC 3903 headers: each of Event, Subscription-State,
/// Allow-Events, SIP-ETag and SIP-If-Match that parses from `s` prints
/// back to text that parses to an equal value, and what a
/// Subscription-State means ([`crate::subscription::SubState`]) survives
/// printing. Panics otherwise.
pub fn check_event_headers(s: &str) {
    round_trip_each!(
        s,
        Event,
        SubscriptionState,
        AllowEvents,
        SipETag,
        SipIfMatch
    );
    if let Ok(state) = crate::subscription::SubState::parse(s) {
        let text = state.to_string();
        match crate::subscription::SubState::parse(&text) {
            Ok(again) => assert_eq!(again, state, "{s:?} printed as {text:?}"),
            Err(e) => panic!("Subscription-State {s:?} printed as {text:?} which fails: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_samples() {
        for s in [
            "SIP/2.0/UDP h:5060;branch=z9hG4bK1;rport",
            r#""A \"B\"" <sip:a@b;lr>;tag=1"#,
            "sip:a@b;tag=x",
            "*",
            "1 INVITE",
            r#"Digest realm="r", nonce="n""#,
            "text/plain;charset=utf-8",
            "Sat, 15 Oct 2005 04:44:56 GMT",
            "370 devnull \"x\"",
            "120 (comment);duration=3",
            "presence;id=\"x y\"",
            "Terminated;Reason=GiveUp;retry-after=007",
            "active;expires=1;expires=2",
        ] {
            super::check_round_trip_all(s);
            super::check_event_headers(s);
        }
    }
}
