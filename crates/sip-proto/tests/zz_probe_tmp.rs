use std::convert::TryFrom;
#[test]
fn probe() {
    for name in [
        "wsinv",
        "intmeth",
        "esc01",
        "escnull",
        "esc02",
        "lwsdisp",
        "longreq",
        "dblreq",
        "semiuri",
        "transports",
        "mpart01",
        "unreason",
        "noreason",
    ] {
        let data = std::fs::read(format!("tests/data/rfc4475/{name}.dat")).unwrap();
        let _ = rsip::Request::try_from(&data[..]).map_err(|e| {
            println!(
                "  req-detail {name}: {}",
                e.to_string().chars().take(200).collect::<String>()
            )
        });
        match rsip::SipMessage::try_from(&data[..]) {
            Ok(m) => {
                let hs: Vec<String> = rsip::message::HasHeaders::headers(&m)
                    .iter()
                    .map(|h| {
                        let s = h.to_string();
                        s.chars().take(60).collect()
                    })
                    .collect();
                println!(
                    "{name}: OK {} headers; {:?}",
                    hs.len(),
                    match &m {
                        rsip::SipMessage::Request(r) => r.uri.to_string(),
                        rsip::SipMessage::Response(r) => r.status_code.to_string(),
                    }
                );
            }
            Err(e) => println!(
                "{name}: ERR {}",
                e.to_string().chars().take(150).collect::<String>()
            ),
        }
    }
}
