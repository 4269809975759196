//! SDP parsing (and RFC 5547's file-selector/file-range, RFC 7587's Opus
//! fmtp): never panics; what parses prints back to text that parses to
//! the same description; and answering it as an offer never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdp::offer_answer::{answer_media, Codec, LocalRtp};
use sdp::{Direction, SessionDescription};

fuzz_target!(|data: &[u8]| {
    // RFC 5547 attributes: what parses prints back to the same value.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(fs) = sdp::FileSelector::parse(text) {
            let printed = fs.sdp_repr();
            // Printing never lengthens the text but for `sha1` spelled
            // `sha-1`; at the length bound that byte may refuse it.
            if printed.len() <= 8 * 1024 {
                let again = sdp::FileSelector::parse(&printed).expect("printed selector must parse");
                assert_eq!(again, fs);
            }
        }
        if let Ok(r) = sdp::FileRange::parse(text) {
            assert_eq!(sdp::FileRange::parse(&r.to_value()), Ok(r));
        }
        let opus = sdp::OpusFmtp::parse(text);
        assert_eq!(sdp::OpusFmtp::parse(&opus.to_string()), opus);
    }
    let Ok(d) = SessionDescription::parse(data) else { return };
    let text = d.to_string();
    let again = SessionDescription::parse(text.as_bytes()).expect("printed SDP must parse");
    assert_eq!(again, d);
    let local = LocalRtp {
        address: [127, 0, 0, 1].into(),
        port: 4000,
        codecs: vec![Codec::opus(), Codec::pcmu(), Codec::pcma(), Codec::telephone_event()],
        direction: Direction::SendRecv,
        protocol: "RTP/AVP".into(),
        ptime: None,
        maxptime: Some(20),
        attributes: Vec::new(),
    };
    for i in 0..d.media.len() {
        let _ = answer_media(&d, i, &local);
    }
});
