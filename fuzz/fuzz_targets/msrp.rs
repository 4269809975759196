//! MSRP stream parsing with arbitrary read boundaries: never panics, never
//! holds more than a line or an end-line between reads, and gives the same
//! events (body pieces joined) whatever the split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrp_proto::{Event, Limits, Parser};

fn events(data: &[u8], chunk: usize, limits: Limits) -> (Vec<Event>, bool) {
    let mut p = Parser::new(limits);
    let mut out: Vec<Event> = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        if p.feed(piece).is_err() {
            return (out, true);
        }
        loop {
            match p.poll() {
                Ok(Some(Event::BodyData(b))) => match out.last_mut() {
                    Some(Event::BodyData(a)) => {
                        *a = bytes::Bytes::from([a.as_ref(), b.as_ref()].concat());
                    }
                    _ => out.push(Event::BodyData(b)),
                },
                Ok(Some(e)) => out.push(e),
                Ok(None) => break,
                Err(_) => {
                    assert!(p.is_failed() && p.poll().is_err());
                    return (out, true);
                }
            }
        }
        assert!(p.buffered() <= (limits.max_line_len + 1).max(64));
    }
    (out, false)
}

fuzz_target!(|input: (u8, &[u8])| {
    let (chunk, data) = input;
    let limits = Limits {
        max_line_len: 1024,
        max_head_bytes: 4096,
        max_headers: 32,
        max_body_bytes: None,
    };
    let (whole, whole_err) = events(data, data.len(), limits);
    let (pieces, pieces_err) = events(data, usize::from(chunk % 64) + 1, limits);
    if !whole_err && !pieces_err {
        assert_eq!(whole, pieces);
    }
    // Whatever parsed as a head writes back and reads back the same.
    for e in &whole {
        if let Event::Head(h) = e {
            if let Ok(bytes) = msrp_proto::encode(h, None, msrp_proto::Flag::Complete) {
                let (again, _, _) = msrp_proto::parse_chunk(&bytes).expect("own output parses");
                assert_eq!(&again, h);
            }
            // An RFC 7701 nickname that reads writes back to itself.
            use msrp_proto::headers::UseNickname;
            if let Some(Ok(n)) = h.headers().typed::<UseNickname>() {
                use msrp_proto::TypedHeader;
                assert_eq!(UseNickname::parse(&n.to_value()), Ok(n));
            }
        }
    }
});
