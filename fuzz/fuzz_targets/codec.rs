//! Codec decoders fed whatever arrives in an RTP payload: never panic,
//! and give at most one 120 ms packet of samples per payload (the first
//! byte picks the codec, the rest is the payload; a concealed frame
//! follows each).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::codec::{new_codec, AudioCodec};

fuzz_target!(|data: &[u8]| {
    let Some((pick, payload)) = data.split_first() else {
        return;
    };
    let (name, clock) = match pick % 4 {
        0 => ("PCMU", 8000),
        1 => ("PCMA", 8000),
        2 => ("G722", 8000),
        _ => ("opus", 48000),
    };
    let mut codec: Box<dyn AudioCodec> = new_codec(name, clock, None).expect("a codec we run");
    let mut out = Vec::new();
    let _ = codec.decode(payload, &mut out);
    assert!(out.len() <= (payload.len() * 2).max(5760), "{name}: {}", out.len());
    codec.conceal(Some(payload), &mut out);
});
