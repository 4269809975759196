//! The SDK's own settings: global (the spec's SIPSimpleSettings), per
//! account, and for the Bonjour account. Applications add theirs with
//! `Group::extend`. `docs/CONFIGURATION.md` is generated from these
//! schemas (`markdown`) and a test keeps it current.

use super::schema::{Group, Kind, Setting, Value};
use sip_proto::uri::Uri;

const TRANSPORTS: &[&str] = &["tls", "tcp", "udp"];
/// Codec names as they appear in SDP rtpmap lines: the codecs the audio
/// stream runs (`media::codec`). Speex, iLBC and GSM are not offered:
/// no sound implementation of them is in the stack, and a setting
/// must never ask for what would be silently left out.
const AUDIO_CODECS: &[&str] = &["opus", "G722", "PCMU", "PCMA"];
const SAMPLE_RATES: &[i64] = &[8000, 16000, 32000, 44100, 48000];

fn text() -> Kind {
    Kind::Text { non_empty: true }
}

fn list(item: Kind) -> Kind {
    Kind::List(Box::new(item))
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::String((*s).into())).collect())
}

/// A `sip:` or `sips:` URI, checked with the SDK's own parser.
fn sip_uri(v: &Value) -> Result<(), String> {
    let s = v.as_str().unwrap_or_default();
    match Uri::parse(s) {
        Ok(u) if u.as_sip().is_some() => Ok(()),
        Ok(_) => Err(format!("{s:?} is not a sip: or sips: URI")),
        Err(e) => Err(format!("{s:?} is not a URI: {e}")),
    }
}

/// An XCAP root (RFC 4825 §6.1): an http or https URL with a host.
fn xcap_root(v: &Value) -> Result<(), String> {
    let s = v.as_str().unwrap_or_default();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("{s:?} is not an http or https URL"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(format!("{s:?} has no host or has spaces"));
    }
    Ok(())
}

/// `START-END`, both even ports (RTP on even, RTCP on the odd one above),
/// START below END.
fn port_range(v: &Value) -> Result<(), String> {
    let s = v.as_str().unwrap_or_default();
    let parsed = s
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)));
    match parsed {
        Some((a, b)) if a < b && a % 2 == 0 && b % 2 == 0 && a >= 1024 => Ok(()),
        _ => Err(format!(
            "{s:?} is not START-END with even ports, 1024 <= START < END"
        )),
    }
}

/// ICE is not implemented yet: only `false` is honoured.
fn ice_implemented(v: &Value) -> Result<(), String> {
    match v.as_bool() {
        Some(false) => Ok(()),
        _ => Err("ICE is not implemented yet (only false)".into()),
    }
}

/// Nothing uses STUN yet (it comes with ICE): a server list would be
/// accepted and ignored, so only nil is.
fn stun_implemented(_: &Value) -> Result<(), String> {
    Err("STUN is not used yet (it comes with ICE); leave stun_server_list unset".into())
}

/// `nat_traversal.msrp_relay`: an MSRP URI or `host[:port]`.
fn msrp_relay_valid(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(text) => crate::msrp::MsrpRelaySettings::parse_relay(text, true)
            .map(|_| ())
            .map_err(|e| format!("not an MSRP relay: {e}")),
        None => Ok(()),
    }
}

/// A name server: `IP` or `IP:PORT` (IPv6 as `[IP]:PORT`).
pub fn nameserver(text: &str) -> Option<std::net::SocketAddr> {
    text.parse::<std::net::SocketAddr>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| (ip, 53).into())
    })
}

fn nameservers(v: &Value) -> Result<(), String> {
    for item in v.as_array().into_iter().flatten() {
        let s = item.as_str().unwrap_or_default();
        if nameserver(s).is_none() {
            return Err(format!("{s:?} is not IP or IP:PORT"));
        }
    }
    Ok(())
}

fn sample_rate(v: &Value) -> Result<(), String> {
    match v.as_integer() {
        Some(r) if SAMPLE_RATES.contains(&r) => Ok(()),
        _ => Err(format!("must be one of {SAMPLE_RATES:?}")),
    }
}

/// The global settings.
pub fn global() -> Group {
    Group::new("")
        .setting(Setting::new(
            "user_agent",
            text(),
            concat!("sipsimple-rs/", env!("CARGO_PKG_VERSION")),
            "User-Agent and Server header value",
        ))
        .setting(Setting::nillable(
            "default_account",
            text(),
            "id of the account used when none is named",
        ))
        .setting(Setting::nillable(
            "local_ip",
            text(),
            "address to bind and advertise; nil: chosen per destination",
        ))
        .group(
            Group::new("sip")
                .setting(Setting::new(
                    "udp_port",
                    Kind::PORT,
                    0,
                    "UDP listening port; 0: any free port",
                ))
                .setting(Setting::new(
                    "tcp_port",
                    Kind::PORT,
                    0,
                    "TCP listening port; 0: any free port",
                ))
                .setting(Setting::new(
                    "tls_port",
                    Kind::PORT,
                    0,
                    "TLS listening port; 0: any free port",
                ))
                .setting(Setting::new(
                    "transport_list",
                    list(Kind::Choice(TRANSPORTS)),
                    strings(&["tls", "tcp", "udp"]),
                    "transports to enable, most preferred first",
                ))
                .setting(Setting::new(
                    "invite_timeout",
                    Kind::Integer { min: 5, max: 600 },
                    90,
                    "seconds an outgoing INVITE may go without a final answer; then it is cancelled and the call fails saying so",
                )),
        )
        .group(
            Group::new("dns").setting(
                Setting::nillable(
                    "nameservers",
                    list(text()),
                    "DNS servers for RFC 3263 lookups, IP or IP:PORT; nil: the system's",
                )
                .validated_by(nameservers),
            ),
        )
        .group(
            Group::new("tls")
                .setting(Setting::nillable(
                    "ca_list",
                    text(),
                    "PEM file of CAs to trust besides Mozilla's public root CAs (built in, from webpki-roots); nil: the public ones only",
                ))
                .setting(Setting::nillable(
                    "certificate",
                    text(),
                    "PEM file with our certificate and key, for TLS servers and client auth",
                ))
                .setting(Setting::new(
                    "verify_server",
                    Kind::Bool,
                    true,
                    "check the server certificate against the CAs and the name",
                )),
        )
        .group(
            Group::new("rtp")
                .setting(
                    Setting::new(
                        "port_range",
                        text(),
                        "50000-50500",
                        "local RTP ports, START-END (even)",
                    )
                    .validated_by(port_range),
                )
                .setting(
                    Setting::new(
                        "audio_codec_list",
                        list(Kind::Choice(AUDIO_CODECS)),
                        strings(AUDIO_CODECS),
                        "audio codecs to offer, most preferred first",
                    ),
                ),
        )
        .group(
            Group::new("audio")
                .setting(Setting::nillable(
                    "input_device",
                    text(),
                    "microphone: `null`, `wav:PATH` (a WAV file played in a loop), `sound` (the sound card's default device) or `sound:NAME` (a cpal device; both need the cargo feature `sound-card`); nil: the card's default device if it opens, else null",
                ))
                .setting(Setting::nillable(
                    "output_device",
                    text(),
                    "speaker: `null`, `wav:PATH` (a WAV file written), `sound` or `sound:NAME`; nil: the card's default device if it opens, else null",
                ))
                .setting(Setting::nillable(
                    "recordings_directory",
                    text(),
                    "where AudioStream::start_recording(None) writes; nil: $XDG_DATA_HOME (else ~/.local/share)/sipsimple-rs/recordings",
                ))
                .setting(Setting::nillable(
                    "alert_device",
                    text(),
                    "device for ringing: `null`, `wav:PATH`, `sound` or `sound:NAME`; nil: the card's default device if it opens, else null",
                ))
                .setting(
                    Setting::new(
                        "sample_rate",
                        Kind::Integer {
                            min: 8000,
                            max: 48000,
                        },
                        48000,
                        "mixer sample rate in Hz (8000, 16000, 32000, 44100 or 48000)",
                    )
                    .validated_by(sample_rate),
                ),
        )
        .group(Group::new("file_transfer").setting(Setting::nillable(
            "directory",
            text(),
            "where received files go; nil: the platform download directory",
        )))
        .group(
            Group::new("logging")
                .setting(Setting::new(
                    "trace_sip",
                    Kind::Bool,
                    false,
                    "post every SIP message (SIPEngineSIPTrace) and append it to sip_trace.txt in logging.directory",
                ))
                .setting(Setting::new(
                    "trace_msrp",
                    Kind::Bool,
                    false,
                    "log every MSRP chunk",
                ))
                .setting(Setting::new(
                    "trace_dns",
                    Kind::Bool,
                    false,
                    "append every DNS query and its answer to dns_trace.txt in logging.directory (each is posted as DNSLookupTrace anyway)",
                ))
                .setting(Setting::nillable(
                    "directory",
                    text(),
                    "where trace files go; nil: the platform log directory",
                )),
        )
}

fn srtp() -> Setting {
    Setting::new(
        "srtp_encryption",
        Kind::Choice(&["disabled", "optional", "mandatory"]),
        "disabled",
        "SRTP (SDES, RFC 4568) for audio: optional offers keys on RTP/AVP and takes SRTP when the peer does; mandatory offers RTP/SAVP and fails a call without SRTP",
    )
}

fn msrp_transport() -> Setting {
    Setting::new(
        "transport",
        Kind::Choice(&["tls", "tcp"]),
        "tls",
        "MSRP transport",
    )
}

/// The settings of one SIP account.
pub fn account() -> Group {
    Group::new("")
        .setting(Setting::new(
            "enabled",
            Kind::Bool,
            false,
            "register and take calls with it",
        ))
        .setting(Setting::nillable(
            "display_name",
            text(),
            "name shown to peers",
        ))
        .group(
            Group::new("auth")
                .setting(Setting::nillable(
                    "username",
                    text(),
                    "digest user name; nil: the user part of the id",
                ))
                .setting(
                    Setting::new(
                        "password",
                        Kind::Text { non_empty: false },
                        "",
                        "digest password (why the file is mode 0600)",
                    )
                    .secret(),
                ),
        )
        .group(
            Group::new("sip").setting(
                Setting::nillable(
                    "outbound_proxy",
                    text(),
                    "send every request here (sip: or sips: URI); nil: RFC 3263 on the domain",
                )
                .validated_by(sip_uri),
            ),
        )
        // The spec's name: `registration.enabled`.
        .group(
            Group::new("registration")
                .setting(Setting::new(
                    "enabled",
                    Kind::Bool,
                    true,
                    "register while the account is enabled",
                ))
                .setting(Setting::new(
                    "interval",
                    Kind::Integer {
                        min: 30,
                        max: 86400,
                    },
                    3600,
                    "registration expiry asked for, in seconds",
                )),
        )
        .group(Group::new("tls").setting(Setting::nillable(
            "name",
            text(),
            "name the certificate of the account's outbound proxy must carry (without a proxy: of the servers of its own domain); nil: the proxy's host name, else the domain. Other domains are verified against their own names (RFC 5922)",
        )))
        .group(
            Group::new("rtp")
                .setting(Setting::nillable(
                    "audio_codec_list",
                    list(Kind::Choice(AUDIO_CODECS)),
                    "codecs for this account; nil: the global list",
                ))
                .setting(srtp()),
        )
        .group(
            Group::new("nat_traversal")
                .setting(
                    Setting::new(
                        "use_ice",
                        Kind::Bool,
                        false,
                        "ICE for media (RFC 8445; only false until ICE exists)",
                    )
                    .validated_by(ice_implemented),
                )
                .setting(
                    Setting::nillable(
                        "stun_server_list",
                        list(text()),
                        "STUN servers, host[:port], for ICE; only nil until ICE exists \
                         (a list is refused rather than ignored)",
                    )
                    .validated_by(stun_implemented),
                )
                .setting(
                    Setting::nillable(
                        "msrp_relay",
                        text(),
                        "MSRP relay (msrp[s]://host:port;tcp or host[:port]); nil: the \
                         domain's _msrps._tcp SRV, else none",
                    )
                    .validated_by(msrp_relay_valid),
                )
                .setting(Setting::new(
                    "use_msrp_relay_for_outbound",
                    Kind::Bool,
                    false,
                    "use the relay for sessions we start too",
                )),
        )
        .group(
            Group::new("msrp")
                .setting(msrp_transport())
                .setting(Setting::new(
                    "connection_model",
                    Kind::Choice(&["relay", "acm"]),
                    "relay",
                    "MSRP relay (RFC 4976) or alternative connection model (RFC 6135)",
                ))
                .setting(Setting::new(
                    "keepalive_interval",
                    Kind::Integer { min: 0, max: 3600 },
                    60,
                    "seconds of silence before an MSRP keep-alive (an empty SEND); 0: none",
                ))
                .setting(Setting::new(
                    "connection_reuse",
                    Kind::Bool,
                    false,
                    "carry a new MSRP session we connect for on a live connection of ours to \
                     the same peer address, or through our relay on our live authorized \
                     connection to it, with an AUTH of its own (RFC 4975 5.4, RFC 4976); \
                     off: a connection per session, which peers built on RFC 6135 expect",
                )),
        )
        .group(
            Group::new("presence")
                .setting(Setting::new(
                    "enabled",
                    Kind::Bool,
                    false,
                    "publish and watch presence",
                ))
                // Not in python3-sipsimple, whose accounts always watch
                // through the RLS once XCAP is there; here per-contact
                // subscriptions stay the default (no RLS needed).
                .setting(Setting::new(
                    "subscribe_rls",
                    Kind::Bool,
                    false,
                    "watch contacts through one list subscription (RFC 4662) to \
                     sip:user+presence@domain, the list kept on the XCAP server \
                     (rls-services and resource-lists, RFC 4826), instead of one \
                     subscription each; needs xcap.xcap_root",
                )),
        )
        .group(
            Group::new("xcap")
                .setting(Setting::new(
                    "enabled",
                    Kind::Bool,
                    true,
                    "keep documents (pres-rules: who may watch us) on the XCAP server at xcap_root",
                ))
                .setting(
                    Setting::nillable(
                        "xcap_root",
                        text(),
                        "XCAP root URL (RFC 4825), http or https, e.g. \
                         `https://xcap.example.com/xcap-root`; nil: no XCAP server \
                         (no DNS discovery)",
                    )
                    .validated_by(xcap_root),
                ),
        )
        .group(
            Group::new("message_summary")
                .setting(Setting::new(
                    "enabled",
                    Kind::Bool,
                    false,
                    "subscribe to message-summary (voicemail, RFC 3842)",
                ))
                .setting(
                    Setting::nillable(
                        "voicemail_uri",
                        text(),
                        "voicemail box; nil: the account's own URI",
                    )
                    .validated_by(sip_uri),
                ),
        )
}

/// The settings of the Bonjour (peer-to-peer) account.
pub fn bonjour_account() -> Group {
    Group::new("")
        .setting(Setting::new(
            "enabled",
            Kind::Bool,
            false,
            "publish our contact and browse for neighbours over mDNS (off by \
             default: it announces you to everyone on the LAN)",
        ))
        .setting(Setting::nillable(
            "display_name",
            text(),
            "name shown to neighbours",
        ))
        .group(Group::new("sip").setting(Setting::new(
            "transport_list",
            list(Kind::Choice(TRANSPORTS)),
            strings(&["tls", "tcp", "udp"]),
            "transports to publish, most preferred first",
        )))
        .group(Group::new("rtp").setting(srtp()))
        .group(Group::new("msrp").setting(msrp_transport()))
        .group(
            Group::new("mdns")
                .setting(Setting::new(
                    "interfaces",
                    list(text()),
                    strings(&[]),
                    "interfaces (names such as `eth0`, or addresses) to publish and browse on; \
                     empty means every interface",
                ))
                .setting(Setting::new(
                    "port",
                    Kind::PORT,
                    5353,
                    "the mDNS port; change it only to keep a test network apart",
                )),
        )
}

fn render(value: Option<&Value>) -> String {
    match value {
        None => "nil".into(),
        Some(v) => format!("`{v}`"),
    }
}

/// The settings reference: one table per settings object.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Configuration\n\n\
         Generated from `crates/sipsimple/src/config/settings.rs`; the test \
         `configuration_doc_is_current` fails when this file is stale \
         (regenerate with `UPDATE_DOCS=1 cargo test -p sipsimple --test config_settings`).\n\n\
         Settings live in one TOML file (mode 0600, written atomically; only \
         values that differ from the defaults are stored). Global settings are \
         at the top level, each account under `[accounts.\"user@domain\"]`, \
         the Bonjour account under `[bonjour]`. A setting's path is its dotted \
         name: `registration.interval` is `interval` in the account's \
         `registration` table. \"nil\" means unset; a nil setting is simply absent from \
         the file.\n",
    );
    for (title, key, schema) in [
        ("Global", "(top level)", global()),
        ("Account", "`[accounts.\"user@domain\"]`", account()),
        ("Bonjour account", "`[bonjour]`", bonjour_account()),
    ] {
        out.push_str(&format!(
            "\n## {title}\n\nStored at {key}.\n\n| Setting | Type | Default | Meaning |\n|---|---|---|---|\n"
        ));
        for (path, s) in schema.walk() {
            let kind = if s.nillable {
                format!("{}, or nil", s.kind)
            } else {
                s.kind.to_string()
            };
            out.push_str(&format!(
                "| `{path}` | {kind} | {} | {} |\n",
                render(s.default.as_ref()),
                s.doc
            ));
        }
    }
    out.push_str(INCOMING_ACCOUNT);
    out
}

/// How an incoming request finds its account (`session::account::recipient`).
const INCOMING_ACCOUNT: &str = "
## Which account gets an incoming request

A call (INVITE) or a MESSAGE outside a dialog is for the account
its Request-URI names, tried in this order; only enabled accounts count:

1. the user part is an account's contact user (the random name in the
   Contact we register, e.g. `sip:hgkqzpwe@192.0.2.7:5060`);
2. the user and host are an account's id (`sip:bob@example.test` reaches
   `bob@example.test`);
3. the user is the Bonjour account's contact user, while it is active;
4. the host is an IP address (a peer dialled us directly, e.g.
   `sip:bob@192.0.2.7`): the account with that user name at any domain,
   else the default account (`default_account`), else the only enabled
   account if there is just one.

Anything else is answered 404 Not Found: at a domain name, an unknown
user is somebody else, not us. Requests inside a dialog (BYE, re-INVITE,
NOTIFY) go to the session or subscription of their dialog, whatever their
Request-URI.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_setting() {
        for schema in [global(), account(), bonjour_account()] {
            for (path, s) in schema.walk() {
                assert!(s.check(s.default.as_ref()).is_ok(), "{path}");
                assert!(!s.doc.is_empty(), "{path} needs a doc line");
            }
        }
    }

    #[test]
    fn validators_refuse_what_they_should() {
        assert!(sip_uri(&"sip:proxy.example.test;transport=tls".into()).is_ok());
        assert!(sip_uri(&"tel:+1555".into()).is_err());
        assert!(sip_uri(&"proxy.example.test".into()).is_err());
        assert!(port_range(&"50000-50500".into()).is_ok());
        assert!(port_range(&"50001-50500".into()).is_err());
        assert!(port_range(&"50500-50000".into()).is_err());
        assert!(port_range(&"80-200".into()).is_err());
        assert!(port_range(&"a-b".into()).is_err());
        assert!(sample_rate(&Value::Integer(44100)).is_ok());
        assert!(nameservers(&Value::Array(vec!["127.0.0.1:5353".into(), "::1".into()])).is_ok());
        assert!(nameservers(&Value::Array(vec!["dns.example".into()])).is_err());
        assert_eq!(nameserver("192.0.2.1"), Some(([192, 0, 2, 1], 53).into()));
        assert!(sample_rate(&Value::Integer(22050)).is_err());
        assert!(ice_implemented(&Value::Boolean(true)).is_err());
        assert!(stun_implemented(&Value::Array(vec!["stun.example".into()])).is_err());
    }
}
