//! The reads the parse bench times, shared with the `parse_loop` example
//! that callgrind counts: parse a message and read, typed, the headers a
//! UA acts on, with our parser and with rsip.

use bytes::Bytes;
use rsip::headers::typed::MediaType;
use rsip::headers::{Header, ToTypedHeader};
use rsip::message::HasHeaders;
use rsip::prelude::HeadersExt;
use sip_proto::headers::{
    Authorization, CSeq, CallId, Contact, ContentLength, ContentType, From, MaxForwards, To, Via,
};
use sip_proto::{Limits, Message};

/// Parse (validating the headers every element reads), then read, typed,
/// every header a UA acts on.
pub fn ours(data: &Bytes) -> usize {
    read(&Message::parse(data.clone()).unwrap())
}

/// Split only, then read typed: each header is validated once, as it is
/// read (what an engine that reads the core headers anyway does).
pub fn ours_lazy(data: &Bytes) -> usize {
    read(&Message::parse_unvalidated(data.clone(), &Limits::default()).unwrap())
}

fn read(m: &Message) -> usize {
    let h = m.headers();
    let mut n = 0;
    for v in h.typed_all::<Via>() {
        n += v.unwrap().branch().map_or(0, str::len);
    }
    n += h
        .typed::<From>()
        .unwrap()
        .unwrap()
        .tag()
        .map_or(0, str::len);
    n += h.typed::<To>().unwrap().unwrap().tag().map_or(0, str::len);
    n += h.typed::<CallId>().unwrap().unwrap().0.len();
    n += h.typed::<CSeq>().unwrap().unwrap().seq as usize;
    if let Some(c) = h.typed::<Contact>() {
        n += usize::from(c.unwrap().addr().is_some());
    }
    if let Some(mf) = h.typed::<MaxForwards>() {
        n += usize::from(mf.unwrap().0);
    }
    if let Some(ct) = h.typed::<ContentType>() {
        n += ct.unwrap().0.subtype.len();
    }
    n += h.typed::<ContentLength>().unwrap().unwrap().0 as usize;
    if let Some(a) = h.typed::<Authorization>() {
        n += a.unwrap().param("response").map_or(0, |r| r.len());
    }
    n + m.body().len()
}

/// The same reads through rsip's typed headers.
pub fn theirs(data: &[u8]) -> usize {
    let m = rsip::SipMessage::try_from(data).unwrap();
    let mut n = 0;
    // rsip has accessors for the first Via only and none for the content
    // headers: walk the list for every Via and the two content headers, so
    // both sides read the same headers typed.
    for header in m.headers().iter() {
        match header {
            Header::Via(via) => {
                n += via
                    .typed()
                    .unwrap()
                    .branch()
                    .map_or(0, |b| b.to_string().len());
            }
            Header::ContentType(ct) => {
                n += match ct.typed().unwrap().0 {
                    MediaType::Sdp(_) => "sdp".len(),
                    MediaType::Other(subtype, _) => subtype.len(),
                };
            }
            Header::ContentLength(cl) => n += cl.length().unwrap() as usize,
            _ => {}
        }
    }
    n += m
        .from_header()
        .unwrap()
        .typed()
        .unwrap()
        .tag()
        .map_or(0, |t| t.to_string().len());
    n += m
        .to_header()
        .unwrap()
        .typed()
        .unwrap()
        .tag()
        .map_or(0, |t| t.to_string().len());
    n += m.call_id_header().unwrap().to_string().len();
    n += m.cseq_header().unwrap().typed().unwrap().seq as usize;
    if let Ok(c) = m.contact_header() {
        n += c.typed().map_or(0, |_| 1);
    }
    if let Ok(mf) = m.max_forwards_header() {
        n += mf.num().unwrap_or(0) as usize;
    }
    if let Some(a) = m.authorization_header() {
        n += a.typed().unwrap().response.len();
    }
    n + m.body().len()
}
