//! The SDP parser and serializer against RFC 8866: what each line type
//! means, the order rule, the typed attributes, every refusal with its
//! line, and round trips.

use sdp::{AddrType, Crypto, Direction, ErrorKind, Limits, SessionDescription, Setup};

/// An audio offer as a softphone sends it.
const AUDIO: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=rtcp:49171\r\n\
a=sendrecv\r\n";

fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn refused(text: &str) -> (usize, ErrorKind) {
    let e = SessionDescription::parse(text.as_bytes()).expect_err(text);
    (e.line, e.kind)
}

#[test]
fn an_audio_offer_reads_as_written_and_round_trips_exactly() {
    let d = parse(AUDIO);
    assert_eq!(d.origin.username, "alice");
    assert_eq!(d.origin.session_id, "2890844526");
    assert_eq!(d.origin.session_version, 2890844526);
    assert_eq!(d.origin.addr_type, AddrType::Ip4);
    assert_eq!(d.session_name, "-");
    assert_eq!(d.connection.as_ref().unwrap().address, "192.0.2.10");
    assert_eq!((d.timings[0].start, d.timings[0].stop), (0, 0));
    let m = &d.media[0];
    assert_eq!(
        (m.media.as_str(), m.port, m.protocol.as_str()),
        ("audio", 49170, "RTP/AVP")
    );
    assert_eq!(m.formats, ["0", "8", "101"]);
    let maps: Vec<String> = m.rtpmaps().map(|r| r.to_string()).collect();
    assert_eq!(
        maps,
        ["0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/8000"]
    );
    assert_eq!(m.fmtp("101").as_deref(), Some("0-15"));
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.rtcp().unwrap().port, 49171);
    assert_eq!(d.direction(0), Direction::SendRecv);
    assert_eq!(d.to_string(), AUDIO);
}

#[test]
fn every_session_line_type_in_order_with_multicast_and_repeats() {
    let text = "v=0\r\n\
o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n\
s=Call to John Smith\r\n\
i=SDP Offer #1\r\n\
u=http://www.jdoe.example.com/home.html\r\n\
e=Jane Doe <jane@jdoe.example.com>\r\n\
p=+1 617 555-6011\r\n\
c=IN IP4 233.252.0.1/127/3\r\n\
b=CT:128\r\n\
t=3724394400 3724398000\r\n\
r=604800 3600 0 90000\r\n\
t=0 0\r\n\
z=2882844526 -1h 2898848070 0\r\n\
k=prompt\r\n\
a=recvonly\r\n\
m=audio 49170/2 RTP/AVP 0\r\n\
i=voice\r\n\
c=IN IP6 2001:db8::1/2\r\n\
b=AS:64\r\n\
k=prompt\r\n\
m=video 51372 RTP/AVP 99\r\n\
a=rtpmap:99 h263-1998/90000\r\n";
    let d = parse(text);
    let c = d.connection.as_ref().unwrap();
    assert_eq!(
        (c.address.as_str(), c.ttl, c.count),
        ("233.252.0.1", Some(127), Some(3))
    );
    assert_eq!(d.timings.len(), 2);
    assert_eq!(d.timings[0].repeats, ["604800 3600 0 90000"]);
    assert_eq!(d.emails.len(), 1);
    assert_eq!(d.bandwidths[0].kind, "CT");
    assert_eq!(d.media[0].port_count, Some(2));
    let c6 = &d.media[0].connections[0];
    assert_eq!(
        (c6.addr_type.clone(), c6.ttl, c6.count),
        (AddrType::Ip6, None, Some(2))
    );
    // The session's recvonly applies to media without their own.
    assert_eq!(d.direction(1), Direction::RecvOnly);
    assert_eq!(d.media[1].rtpmap(99).unwrap().encoding, "h263-1998");
    assert_eq!(d.to_string(), text);
}

#[test]
fn an_msrp_offer_keeps_what_the_msrp_stream_needs() {
    let text = "v=0\r\n\
o=bob 1 1 IN IP4 192.0.2.20\r\n\
s= \r\n\
c=IN IP4 192.0.2.20\r\n\
t=0 0\r\n\
m=message 7394 TCP/TLS/MSRP *\r\n\
a=accept-types:message/cpim text/plain\r\n\
a=accept-wrapped-types:*\r\n\
a=path:msrps://192.0.2.20:7394/kjhd37s2s20w2a;tcp msrps://relay.example/abc;tcp\r\n\
a=setup:actpass\r\n\
a=file-selector:name:\"report.pdf\" type:application/pdf size:10240 hash:sha-1:72:24\r\n\
a=sendonly\r\n";
    let d = parse(text);
    let m = &d.media[0];
    assert_eq!(m.formats, ["*"]);
    assert_eq!(m.accept_types(), ["message/cpim", "text/plain"]);
    assert_eq!(m.accept_wrapped_types(), ["*"]);
    assert_eq!(
        m.msrp_path(),
        [
            "msrps://192.0.2.20:7394/kjhd37s2s20w2a;tcp",
            "msrps://relay.example/abc;tcp"
        ]
    );
    assert_eq!(m.setup(), Some(Setup::ActPass));
    assert!(m
        .file_selector()
        .unwrap()
        .starts_with("name:\"report.pdf\""));
    assert_eq!(d.session_name, " ");
    assert_eq!(d.to_string(), text);
}

/// An MSRP m-line under `c=` and `m=` with `extra` attribute lines.
fn msrp_with(extra: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
         m=message 40000 TCP/MSRP *\r\n\
         a=path:msrp://192.0.2.20:7394/kjhd37s2s20w2a;tcp\r\n{extra}"
    )
}

#[test]
fn msrp_cema_is_a_media_level_flag_that_round_trips() {
    // RFC 6714 §5: a property attribute with no value, at media level.
    let text = msrp_with("a=setup:actpass\r\na=msrp-cema\r\n");
    let d = parse(&text);
    assert!(d.media[0].msrp_cema());
    assert_eq!(d.to_string(), text);
    // What CEMA connects to instead of the a=path authority: c= and m=.
    assert_eq!(d.connection_for(0).unwrap().address, "198.51.100.7");
    assert_eq!(d.media[0].port, 40000);

    assert!(!parse(&msrp_with("a=setup:actpass\r\n")).media[0].msrp_cema());
    // A value is outside the attribute's grammar: not taken as support.
    assert!(!parse(&msrp_with("a=msrp-cema:yes\r\n")).media[0].msrp_cema());
    // At session level it says nothing about an m-line.
    let session_level = msrp_with("").replace("t=0 0\r\n", "t=0 0\r\na=msrp-cema\r\n");
    let d = parse(&session_level);
    assert_eq!(d.attribute(sdp::MSRP_CEMA), Some(""));
    assert!(!d.media[0].msrp_cema());
}

#[test]
fn set_msrp_cema_writes_the_flag_once() {
    let mut d = parse(&msrp_with(""));
    d.media[0].set_msrp_cema();
    d.media[0].set_msrp_cema();
    let text = d.to_string();
    assert_eq!(text.matches("a=msrp-cema\r\n").count(), 1, "{text}");
    assert!(parse(&text).media[0].msrp_cema());
}

#[test]
fn srtp_crypto_and_ice_lines_are_kept_and_typed() {
    let text = "v=0\r\n\
o=- 5 5 IN IP4 192.0.2.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=ice-ufrag:8hhY\r\n\
m=audio 5004 RTP/SAVP 0\r\n\
c=IN IP4 192.0.2.1\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32 KDR=1\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n\
a=candidate:1 1 UDP 2130706431 192.0.2.1 5004 typ host\r\n\
a=candidate:1 2 UDP 2130706430 192.0.2.1 5005 typ host\r\n";
    let d = parse(text);
    let m = &d.media[0];
    let c: Vec<Crypto> = m.cryptos().collect();
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].tag, c[0].suite.as_str()),
        (1, "AES_CM_128_HMAC_SHA1_80")
    );
    assert_eq!(c[0].key, "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
    assert_eq!(c[0].lifetime.as_deref(), Some("2^20"));
    assert_eq!(c[0].mki.as_deref(), Some("1:32"));
    assert_eq!(c[0].session_params, ["KDR=1"]);
    assert_eq!(
        c[0].to_string(),
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32 KDR=1"
    );
    assert_eq!(m.candidates().count(), 2);
    assert_eq!(d.attribute("ice-ufrag"), Some("8hhY"));
    assert_eq!(d.to_string(), text);
}

#[test]
fn bare_lf_line_ends_are_accepted_and_written_back_as_crlf() {
    let lf = AUDIO.replace("\r\n", "\n");
    let d = parse(&lf);
    assert_eq!(d.to_string(), AUDIO);
}

#[test]
fn hold_by_direction_and_by_the_old_zero_address() {
    let sendonly = AUDIO.replace("a=sendrecv", "a=sendonly");
    assert_eq!(parse(&sendonly).direction(0), Direction::SendOnly);
    let inactive = AUDIO.replace("a=sendrecv", "a=inactive");
    assert_eq!(parse(&inactive).direction(0), Direction::Inactive);
    // RFC 3264 §8.4: c=0.0.0.0 means "do not send to me".
    let old = AUDIO.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0");
    let d = parse(&old);
    assert!(d.connection.as_ref().unwrap().is_hold_address());
    assert_eq!(d.direction(0), Direction::SendOnly);
    let old_recvonly = old.replace("a=sendrecv", "a=recvonly");
    assert_eq!(parse(&old_recvonly).direction(0), Direction::Inactive);
}

#[test]
fn every_refusal_names_its_line_and_fault() {
    assert_eq!(refused(""), (0, ErrorKind::Empty));
    assert_eq!(
        refused("o=a 1 1 IN IP4 x\r\n"),
        (1, ErrorKind::Missing('v'))
    );
    assert_eq!(refused("v=1\r\n"), (1, ErrorKind::Version("1".into())));
    assert_eq!(
        refused("v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nx=what\r\n"),
        (5, ErrorKind::UnknownType('x'))
    );
    assert_eq!(
        refused("v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nc=IN IP4 h\r\n").1,
        ErrorKind::OutOfOrder {
            found: 'c',
            expected: "v o s i u e p c b t r z k a, then m"
        }
    );
    assert_eq!(
        refused("v=0\r\no=a 1 1 IN IP4 h\r\no=a 1 1 IN IP4 h\r\n"),
        (3, ErrorKind::Repeated('o'))
    );
    assert_eq!(
        refused("v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\n"),
        (3, ErrorKind::Missing('s'))
    );
    assert_eq!(
        refused("v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\n"),
        (0, ErrorKind::Missing('t'))
    );
    assert_eq!(refused("v=0\r\no=a one 1 IN IP4 h\r\n").0, 2);
    assert!(matches!(
        refused("v=0\r\no=a 1 x IN IP4 h\r\n").1,
        ErrorKind::Malformed {
            what: "origin session version",
            ..
        }
    ));
    assert!(matches!(
        refused("v=0\r\no=a 1 1 IN IP4\r\n").1,
        ErrorKind::Malformed {
            what: "origin (o=)",
            ..
        }
    ));
    let head = "v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\n";
    assert!(matches!(
        refused(&format!("{head}m=audio 99999 RTP/AVP 0\r\n")),
        (
            6,
            ErrorKind::Malformed {
                what: "media port",
                ..
            }
        )
    ));
    assert!(matches!(
        refused(&format!("{head}m=audio 5004 RTP/AVP\r\n")),
        (
            6,
            ErrorKind::Malformed {
                what: "media (m=)",
                ..
            }
        )
    ));
    assert!(matches!(
        refused(&format!("{head}m=audio 5004 RTP/AVP 0\r\nb=AS\r\n")),
        (
            7,
            ErrorKind::Malformed {
                what: "bandwidth (b=)",
                ..
            }
        )
    ));
    assert!(matches!(
        refused(&format!("{head}m=audio 5004 RTP/AVP 0\r\na=bad name:x\r\n")),
        (
            7,
            ErrorKind::Malformed {
                what: "attribute name",
                ..
            }
        )
    ));
    // A media line's own lines in the wrong order, or a session line type.
    assert!(matches!(
        refused(&format!(
            "{head}m=audio 5004 RTP/AVP 0\r\na=x\r\nc=IN IP4 h\r\n"
        )),
        (8, ErrorKind::OutOfOrder { found: 'c', .. })
    ));
    assert!(matches!(
        refused(&format!("{head}m=audio 5004 RTP/AVP 0\r\ns=again\r\n")),
        (7, ErrorKind::OutOfOrder { found: 's', .. })
    ));
    assert!(matches!(
        refused(&format!("{head}m=audio 5004 RTP/AVP 0\r\nx\r\n")),
        (7, ErrorKind::NotALine(_))
    ));
    // RFC 8866 §5.7: a connection for every media.
    let no_c = "v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n\
                m=audio 5006 RTP/AVP 0\r\nc=IN IP4 h\r\n";
    assert_eq!(refused(no_c), (0, ErrorKind::NoConnection(0)));
    assert!(matches!(
        refused("v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h/x\r\n").1,
        ErrorKind::Malformed {
            what: "connection TTL",
            ..
        }
    ));
    let e = SessionDescription::parse(b"v=0\r\n\xff\r\n").unwrap_err();
    assert_eq!((e.line, e.kind), (0, ErrorKind::NotUtf8));
}

#[test]
fn limits_bound_size_lines_media_and_attributes() {
    let limits = Limits {
        max_len: 300,
        max_lines: 12,
        max_media: 1,
        max_attributes: 3,
    };
    let head = "v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\n";
    let two_media = format!("{head}m=audio 1 RTP/AVP 0\r\nm=audio 2 RTP/AVP 0\r\n");
    assert_eq!(
        SessionDescription::parse_with(two_media.as_bytes(), &limits)
            .unwrap_err()
            .kind,
        ErrorKind::TooManyMedia(1)
    );
    let attrs = format!("{head}m=audio 1 RTP/AVP 0\r\na=a\r\na=b\r\na=c\r\na=d\r\n");
    assert_eq!(
        SessionDescription::parse_with(attrs.as_bytes(), &limits)
            .unwrap_err()
            .kind,
        ErrorKind::TooManyAttributes(3)
    );
    let lines = format!("{head}{}", "a=x\r\n".repeat(8));
    let many = Limits {
        max_attributes: 100,
        ..limits
    };
    assert_eq!(
        SessionDescription::parse_with(lines.as_bytes(), &many)
            .unwrap_err()
            .kind,
        ErrorKind::TooManyLines(12)
    );
    let big = format!("{head}i={}\r\n", "x".repeat(400));
    assert_eq!(
        SessionDescription::parse_with(big.as_bytes(), &limits)
            .unwrap_err()
            .kind,
        ErrorKind::TooLarge(big.len(), 300)
    );
}

#[test]
fn the_serializer_never_writes_a_line_break_from_a_value() {
    let mut d = parse(AUDIO);
    d.session_name = "evil\r\nm=video 1 RTP/AVP 0".into();
    d.media[0]
        .attributes
        .push(sdp::Attribute::new("label", "x\r\na=injected"));
    let text = d.to_string();
    let again = parse(&text);
    assert_eq!(again.media.len(), 1);
    assert_eq!(again.session_name, "evilm=video 1 RTP/AVP 0");
    assert!(again.media[0].attribute("injected").is_none());
}

#[test]
fn set_direction_replaces_the_direction_attribute() {
    let mut d = parse(AUDIO);
    d.media[0].set_direction(Direction::SendOnly);
    assert_eq!(d.media[0].attribute_values("sendrecv").count(), 0);
    assert_eq!(d.direction(0), Direction::SendOnly);
    assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
}

#[test]
fn the_seed_files_parse_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let d = SessionDescription::parse(&bytes).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(d.to_string().as_bytes(), bytes.as_slice(), "{path:?}");
        seen += 1;
    }
    assert_eq!(seen, 3);
}
