//! `sip demo`: sample messages embedded in the binary, run through the same
//! printer as `sip parse`, each under a heading saying what it shows.

/// One embedded sample and what `Message::parse` should make of it.
pub struct Sample {
    pub heading: &'static str,
    pub source: &'static str,
    pub data: &'static [u8],
    pub expect_valid: bool,
}

pub const SAMPLES: &[Sample] = &[
    Sample {
        heading: "A typical INVITE with an SDP offer: Request-URI, Via with rport, dialog headers, option tags",
        source: "crates/sip-cli/samples/invite.sip",
        data: include_bytes!("../samples/invite.sip"),
        expect_valid: true,
    },
    Sample {
        heading: "Its 200 OK: the Via as the UAS answers it (received, rport), Record-Route, the SDP answer",
        source: "crates/sip-cli/samples/ok.sip",
        data: include_bytes!("../samples/ok.sip"),
        expect_valid: true,
    },
    Sample {
        heading: "A REGISTER with digest Authorization and a Contact binding with expires and q",
        source: "crates/sip-cli/samples/register.sip",
        data: include_bytes!("../samples/register.sip"),
        expect_valid: true,
    },
    Sample {
        heading: "A MESSAGE with a multipart/mixed body: a text part and a binary (PNG) attachment",
        source: "crates/sip-cli/samples/message.sip",
        data: include_bytes!("../samples/message.sip"),
        expect_valid: true,
    },
    Sample {
        heading: "RFC 4475 §3.1.1.1 \"A Short Tortuous INVITE\": valid, despite folding, odd case, compact names and LWS everywhere",
        source: "crates/sip-proto/tests/data/rfc4475/wsinv.dat",
        data: include_bytes!("../../sip-proto/tests/data/rfc4475/wsinv.dat"),
        expect_valid: true,
    },
    Sample {
        heading: "RFC 4475 §3.1.2.14 \"Spaces within addr-spec\": invalid; being REFUSED with 400 is the expected outcome",
        source: "crates/sip-proto/tests/data/rfc4475/badaspec.dat",
        data: include_bytes!("../../sip-proto/tests/data/rfc4475/badaspec.dat"),
        expect_valid: false,
    },
];
