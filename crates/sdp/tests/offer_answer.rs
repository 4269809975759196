//! RFC 3264 offer/answer for RTP audio: what an offer carries, how an
//! answer picks codecs (the offerer's order and numbers), directions and
//! hold, refusal with port 0, and reading an answer with its own payload
//! numbers.

use std::net::{IpAddr, SocketAddr};

use sdp::offer_answer::{
    answer_media, offer_media, read_answer, Codec, LocalRtp, NegotiationError,
};
use sdp::{AddrType, Connection, Direction, OpusFmtp, Origin, SessionDescription};

fn local(codecs: Vec<Codec>, direction: Direction) -> LocalRtp {
    LocalRtp {
        address: "192.0.2.1".parse().unwrap(),
        port: 40000,
        codecs,
        direction,
        protocol: "RTP/AVP".into(),
        ptime: Some(20),
        maxptime: None,
        attributes: Vec::new(),
    }
}

fn session(address: &str) -> SessionDescription {
    let ip: IpAddr = address.parse().unwrap();
    let mut d = SessionDescription::new(Origin {
        username: "-".into(),
        session_id: "42".into(),
        session_version: 1,
        net_type: "IN".into(),
        addr_type: AddrType::of(ip),
        address: address.into(),
    });
    d.connection = Some(Connection::new(ip));
    d
}

/// A peer's offer, as text, reparsed (what arrives on the wire).
fn peer_offer(media_lines: &str) -> SessionDescription {
    let text = format!(
        "v=0\r\no=peer 7 7 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n{media_lines}"
    );
    SessionDescription::parse(text.as_bytes()).unwrap()
}

fn ours() -> Vec<Codec> {
    vec![Codec::pcmu(), Codec::pcma(), Codec::telephone_event()]
}

#[test]
fn an_offer_uses_static_numbers_and_101_for_dtmf() {
    let (m, formats) = offer_media(&local(ours(), Direction::SendRecv));
    assert_eq!(m.formats, ["0", "8", "101"]);
    assert_eq!(
        formats.iter().map(|f| f.payload_type).collect::<Vec<_>>(),
        [0, 8, 101]
    );
    let mut d = session("192.0.2.1");
    d.media.push(m);
    let text = d.to_string();
    assert!(text.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"));
    assert!(text.contains("a=ptime:20\r\na=sendrecv\r\n"));
    // And it parses back as an offer a peer would read.
    let again = SessionDescription::parse(text.as_bytes()).unwrap();
    assert_eq!(again.media[0].rtpmap(8).unwrap().encoding, "PCMA");
}

#[test]
fn dynamic_codecs_get_free_dynamic_numbers() {
    let codecs = vec![
        Codec::new("opus", 48000),
        Codec::new("G722", 8000),
        Codec::new("speex", 16000),
        Codec::telephone_event(),
    ];
    let (_, formats) = offer_media(&local(codecs, Direction::SendRecv));
    assert_eq!(
        formats.iter().map(|f| f.payload_type).collect::<Vec<_>>(),
        [96, 9, 97, 101]
    );
}

#[test]
fn the_answer_keeps_the_offerers_order_and_numbers() {
    // The peer prefers opus, numbers PCMU oddly, and calls DTMF 100.
    let offer = peer_offer(
        "m=audio 30000 RTP/AVP 111 8 97 100\r\n\
         a=rtpmap:111 opus/48000/2\r\n\
         a=rtpmap:97 PCMU/8000\r\n\
         a=rtpmap:100 telephone-event/8000\r\n\
         a=fmtp:100 0-16\r\n",
    );
    let (m, n) = answer_media(&offer, 0, &local(ours(), Direction::SendRecv));
    let n = n.unwrap();
    assert_eq!(
        m.formats,
        ["8", "97", "100"],
        "theirs first, theirs numbered"
    );
    assert_eq!(m.port, 40000);
    assert_eq!(
        m.fmtp("100").as_deref(),
        Some("0-16"),
        "the offer's events kept"
    );
    assert_eq!(n.send_codec().unwrap().payload_type, 8);
    assert_eq!(n.send_codec().unwrap().codec.encoding, "PCMA");
    assert_eq!(n.send_telephone_event(), Some(100));
    assert_eq!(n.direction, Direction::SendRecv);
    assert_eq!(
        n.remote_rtp,
        Some("198.51.100.7:30000".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(
        n.remote_rtcp,
        Some("198.51.100.7:30001".parse::<SocketAddr>().unwrap())
    );
}

#[test]
fn static_types_without_rtpmap_are_understood() {
    let offer = peer_offer("m=audio 30000 RTP/AVP 8 0\r\na=rtcp:30011 IN IP4 198.51.100.9\r\n");
    let (m, n) = answer_media(&offer, 0, &local(ours(), Direction::SendRecv));
    assert_eq!(m.formats, ["8", "0"]);
    let n = n.unwrap();
    assert_eq!(n.send_telephone_event(), None, "not offered");
    assert_eq!(
        n.remote_rtcp,
        Some("198.51.100.9:30011".parse::<SocketAddr>().unwrap())
    );
}

#[test]
fn nothing_in_common_refuses_the_stream_with_port_zero() {
    let offer = peer_offer("m=audio 30000 RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n");
    let (m, n) = answer_media(&offer, 0, &local(ours(), Direction::SendRecv));
    assert_eq!(n.unwrap_err(), NegotiationError::NoCommonCodec);
    assert_eq!(m.port, 0);
    assert_eq!(m.media, "audio");
    assert_eq!(m.formats.len(), 1, "a refused m= line still lists a format");
}

#[test]
fn directions_answer_what_both_sides_allow() {
    let cases = [
        ("a=sendonly\r\n", Direction::SendRecv, Direction::RecvOnly),
        ("a=recvonly\r\n", Direction::SendRecv, Direction::SendOnly),
        ("a=inactive\r\n", Direction::SendRecv, Direction::Inactive),
        ("", Direction::SendOnly, Direction::SendOnly),
        ("a=sendonly\r\n", Direction::SendOnly, Direction::Inactive),
    ];
    for (attr, mine, expected) in cases {
        let offer = peer_offer(&format!("m=audio 30000 RTP/AVP 0\r\n{attr}"));
        let (m, n) = answer_media(&offer, 0, &local(ours(), mine));
        assert_eq!(n.unwrap().direction, expected, "{attr:?} with {mine:?}");
        let mut d = session("192.0.2.1");
        d.media.push(m);
        assert_eq!(d.direction(0), expected);
    }
}

#[test]
fn the_old_hold_address_means_we_send_nothing() {
    let text = "v=0\r\no=peer 7 8 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n";
    let offer = SessionDescription::parse(text.as_bytes()).unwrap();
    let (_, n) = answer_media(&offer, 0, &local(ours(), Direction::SendRecv));
    let n = n.unwrap();
    assert_eq!(n.direction, Direction::RecvOnly);
    assert_eq!(n.remote_rtp, None);
}

#[test]
fn reading_an_answer_maps_numbers_both_ways() {
    let mut offer = session("192.0.2.1");
    let (m, offered) = offer_media(&local(ours(), Direction::SendRecv));
    offer.media.push(m);
    // The peer answers PCMA first and numbers DTMF 100 (RFC 3264 §6.1
    // lets it: SHOULD, not MUST, keep our numbers).
    let answer = peer_offer(
        "m=audio 31000 RTP/AVP 8 100\r\na=rtpmap:100 telephone-event/8000\r\na=sendrecv\r\n",
    );
    let n = read_answer(&offer, &answer, 0, &offered).unwrap();
    assert_eq!(
        n.send.iter().map(|f| f.payload_type).collect::<Vec<_>>(),
        [8, 100]
    );
    assert_eq!(
        n.receive.iter().map(|f| f.payload_type).collect::<Vec<_>>(),
        [8, 101]
    );
    assert_eq!(n.send_codec().unwrap().codec.encoding, "PCMA");
    assert_eq!(
        n.remote_rtp,
        Some("198.51.100.7:31000".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(n.direction, Direction::SendRecv);
}

#[test]
fn an_answer_that_breaks_the_rules_is_refused() {
    let mut offer = session("192.0.2.1");
    let (m, offered) = offer_media(&local(ours(), Direction::SendRecv));
    offer.media.push(m);
    let not_offered = peer_offer("m=audio 31000 RTP/AVP 9\r\n");
    assert_eq!(
        read_answer(&offer, &not_offered, 0, &offered),
        Err(NegotiationError::NotOffered(0))
    );
    let two = peer_offer("m=audio 31000 RTP/AVP 0\r\nm=audio 31002 RTP/AVP 0\r\n");
    assert_eq!(
        read_answer(&offer, &two, 0, &offered),
        Err(NegotiationError::MediaCount {
            offer: 1,
            answer: 2
        })
    );
    let rejected = peer_offer("m=audio 0 RTP/AVP 0\r\n");
    assert_eq!(
        read_answer(&offer, &rejected, 0, &offered),
        Err(NegotiationError::NoCommonCodec)
    );
    let video = peer_offer("m=video 31000 RTP/AVP 0\r\n");
    assert_eq!(
        read_answer(&offer, &video, 0, &offered),
        Err(NegotiationError::MediaMismatch(0))
    );
}

#[test]
fn opus_and_g722_are_offered_with_events_on_both_clocks() {
    let codecs = vec![
        Codec::opus(),
        Codec::g722(),
        Codec::pcmu(),
        Codec::telephone_event_at(48000),
        Codec::telephone_event(),
    ];
    let (m, formats) = offer_media(&local(codecs.clone(), Direction::SendRecv));
    assert_eq!(m.formats, ["96", "9", "0", "101", "97"]);
    let mut d = session("192.0.2.1");
    d.media.push(m);
    let text = d.to_string();
    assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"), "{text}");
    assert!(text.contains(
        "a=fmtp:96 useinbandfec=1;maxplaybackrate=48000;stereo=0;sprop-stereo=0;sprop-maxcapturerate=48000\r\n"
    ));
    assert!(text.contains("a=rtpmap:9 G722/8000\r\n"));
    assert!(text.contains("a=rtpmap:101 telephone-event/48000\r\n"));
    assert!(text.contains("a=rtpmap:97 telephone-event/8000\r\n"));

    // A peer that answers opus with its own numbers: events at 48000.
    let answer = peer_offer(
        "m=audio 30000 RTP/AVP 111 110\r\n\
         a=rtpmap:111 opus/48000/2\r\n\
         a=fmtp:111 useinbandfec=1;stereo=0\r\n\
         a=rtpmap:110 telephone-event/48000\r\n",
    );
    let n = read_answer(&d, &answer, 0, &formats).unwrap();
    assert_eq!(n.send_codec().unwrap().codec.encoding, "opus");
    assert_eq!(n.send_codec().unwrap().payload_type, 111);
    assert_eq!(n.send_telephone_event(), Some(110));

    // Answering an offer of G.722 then opus: G.722 (the offer's first),
    // with the events of its clock only.
    let offer = peer_offer(
        "m=audio 30000 RTP/AVP 9 111 0 101 110\r\n\
         a=rtpmap:111 opus/48000/2\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=rtpmap:110 telephone-event/48000\r\n",
    );
    let (m, n) = answer_media(&offer, 0, &local(codecs.clone(), Direction::SendRecv));
    assert_eq!(m.formats, ["9", "111", "0", "101"]);
    let n = n.unwrap();
    assert_eq!(n.send_codec().unwrap().codec.encoding, "G722");
    assert_eq!(n.send_telephone_event(), Some(101));

    // Opus first: the 48000 events.
    let offer = peer_offer(
        "m=audio 30000 RTP/AVP 111 9 101 110\r\n\
         a=rtpmap:111 opus/48000/2\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=rtpmap:110 telephone-event/48000\r\n",
    );
    let (m, n) = answer_media(&offer, 0, &local(codecs, Direction::SendRecv));
    assert_eq!(m.formats, ["111", "9", "110"]);
    assert_eq!(n.unwrap().send_telephone_event(), Some(110));
}

/// RFC 7587 §6.1, §7.1: Opus fmtp parameters are declarative. Our answer
/// says what we want (ours, not an echo of the offer's); we send by what
/// the peer said, and where it said nothing, by the RFC's defaults (no
/// DTX, no FEC), never by our own wishes.
#[test]
fn opus_fmtp_is_each_sides_own() {
    let ours = vec![Codec::opus_with(&OpusFmtp {
        use_dtx: Some(true),
        ..OpusFmtp::ours()
    })];
    let offer = peer_offer(
        "m=audio 30000 RTP/AVP 111\r\n\
         a=rtpmap:111 opus/48000/2\r\n\
         a=fmtp:111 useinbandfec=0;usedtx=1;stereo=1;sprop-stereo=1;maxplaybackrate=16000\r\n\
         a=ptime:40\r\na=maxptime:60\r\n",
    );
    let (m, n) = answer_media(&offer, 0, &local(ours.clone(), Direction::SendRecv));
    let n = n.unwrap();
    let answered = m.fmtp("111").unwrap();
    assert_eq!(
        OpusFmtp::parse(&answered),
        OpusFmtp {
            use_dtx: Some(true),
            ..OpusFmtp::ours()
        }
    );
    let send = OpusFmtp::parse(n.send_codec().unwrap().codec.fmtp.as_deref().unwrap());
    assert_eq!(send.use_dtx, Some(true));
    assert_eq!(send.use_inband_fec, Some(false));
    assert_eq!(send.stereo, Some(true));
    assert_eq!(send.sprop_stereo, Some(true));
    assert_eq!(send.max_playback_rate, Some(16000));
    assert_eq!(n.ptime, Some(40));
    assert_eq!(n.maxptime, Some(60));
    let receive = n.receive.iter().find(|f| f.payload_type == 111).unwrap();
    assert_eq!(receive.codec.fmtp.as_deref(), Some(answered.as_str()));

    // Our offer carries ours; an answer without fmtp leaves the RFC's
    // defaults for what we send (our usedtx=1 is not theirs).
    let (m, formats) = offer_media(&local(ours, Direction::SendRecv));
    assert_eq!(
        m.fmtp("96").as_deref(),
        Some("useinbandfec=1;usedtx=1;maxplaybackrate=48000;stereo=0;sprop-stereo=0;sprop-maxcapturerate=48000")
    );
    assert_eq!(m.attribute("ptime"), Some("20"));
    assert_eq!(m.attribute("maxptime"), None);
    let mut d = session("192.0.2.1");
    d.media.push(m);
    let answer = peer_offer("m=audio 30000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n");
    let n = read_answer(&d, &answer, 0, &formats).unwrap();
    assert_eq!(n.send_codec().unwrap().codec.fmtp, None);
    assert_eq!(n.maxptime, None);
}

/// RFC 3264 §6.1's answers, from every wish of ours to every offer: an
/// answer never sends what the offer does not receive, nor receives what
/// it does not send, and otherwise gives what we want.
#[test]
fn with_answers_every_offer_as_rfc_3264_allows() {
    use Direction::*;
    let all = [SendRecv, SendOnly, RecvOnly, Inactive];
    for ours in all {
        for offered in all {
            let answer = ours.with(offered);
            assert_eq!(answer.sends(), ours.sends() && offered.receives());
            assert_eq!(answer.receives(), ours.receives() && offered.sends());
        }
    }
    assert_eq!(SendRecv.with(SendOnly), RecvOnly);
    assert_eq!(SendRecv.with(RecvOnly), SendOnly);
    assert_eq!(SendRecv.with(Inactive), Inactive);
    assert_eq!(RecvOnly.with(SendRecv), RecvOnly);
    assert_eq!(RecvOnly.with(RecvOnly), Inactive);
}

/// The direction an m-line declares: its own, else the session's, else
/// sendrecv; a 0.0.0.0 c= line changes nothing (it does in `direction`).
#[test]
fn declared_direction_reads_the_attributes_alone() {
    let text = "v=0\r\no=peer 7 8 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
                a=recvonly\r\nm=message 9 TCP/MSRP *\r\nm=message 9 TCP/MSRP *\r\na=inactive\r\n";
    let d = SessionDescription::parse(text.as_bytes()).unwrap();
    assert_eq!(d.declared_direction(0), Some(Direction::RecvOnly));
    assert_eq!(d.declared_direction(1), Some(Direction::Inactive));
    assert_eq!(d.declared_direction(2), None);
    let text = "v=0\r\no=peer 7 8 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\n";
    let d = SessionDescription::parse(text.as_bytes()).unwrap();
    assert_eq!(d.declared_direction(0), Some(Direction::SendRecv));
    assert_eq!(d.direction(0), Direction::SendOnly);
}
