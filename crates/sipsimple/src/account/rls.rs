//! Watching contacts through a resource list server (RFC 4662), as
//! python3-sipsimple's accounts do: with `presence.subscribe_rls` the
//! contacts the application watches become the members of one list,
//! kept on the XCAP server (RFC 4826: the list `sipsimple_presence_rls`
//! of the account's resource-lists document, named by the service
//! `sip:{user}+presence@{domain}` of its rls-services document), and the
//! account holds one subscription to that service URI, with `Supported:
//! eventlist`, instead of one per contact.
//!
//! The server's NOTIFYs are `multipart/related` (RFC 2387) with
//! `type="application/rlmi+xml"`: the root part (the `start` parameter,
//! else the first) is the list's meta-information (RLMI, RFC 4662 §5),
//! whose resources name, per back-end subscription (instance), its state
//! and the Content-ID of the part with the member's document. The reader
//! keeps the RLMI across NOTIFYs (a full state replaces it, a partial one
//! updates the resources it names, by version; a stale version is
//! dropped, a gap is applied as far as it goes), posts it as
//! SIPAccountGotPresenceListState, and posts each member's PIDF as
//! SIPAccountGotPresenceState exactly as a per-contact subscription
//! would (`presence` None while the member's subscription is pending).
//! A member that is itself a list (a nested multipart part) is read the
//! same way, a few levels deep.
//!
//! Bounded: at most [`MAX_LIST_PARTS`] body parts per list NOTIFY (the
//! body itself is bounded by the SIP parser), the RLMI and every PIDF
//! within the XML limits, [`MAX_NESTING`] levels of lists in lists, and
//! [`MAX_LIST_MEMBERS`] members in the list we keep.

use bytes::Bytes;
use payloads::pidf::Presence;
use payloads::resource_lists::{Entry, List, Member};
use payloads::rlmi::{ApplyError, InstanceState, Rlmi};
use payloads::rls_services::{self, Service};
use payloads::xml::XmlLimits;
use sip_proto::body::{Multipart, Part};
use sip_proto::headers::{HeaderName, MediaType};

use super::Account;
use crate::notification::NotificationData;
use crate::subscription::GotNotify;
use crate::xcap::{XcapClient, XcapError, RESOURCE_LISTS_AUID};

/// The list of the account's resource-lists document that holds the
/// watched contacts (python3-sipsimple's name for it).
pub const LIST_NAME: &str = "sipsimple_presence_rls";

/// Body parts read from one list NOTIFY (one per member with a state,
/// plus the RLMI); a NOTIFY with more is dropped whole.
pub const MAX_LIST_PARTS: usize = 1024;

/// Lists in lists followed (the account's list is level 1).
pub const MAX_NESTING: usize = 3;

/// Members the account puts in its list.
pub const MAX_LIST_MEMBERS: usize = 1000;

/// The Accept of a list subscription: the list, its RLMI and a plain
/// PIDF (RFC 4662 §4.1: a server may answer with the resource itself).
pub const LIST_ACCEPT: [&str; 3] = [
    "multipart/related",
    "application/rlmi+xml",
    "application/pidf+xml",
];

/// One list document: its RLMI and the other parts by Content-ID.
struct ListBody {
    rlmi: Rlmi,
    parts: Vec<(String, Part)>,
}

impl ListBody {
    fn part(&self, cid: &str) -> Option<&Part> {
        self.parts.iter().find(|(c, _)| c == cid).map(|(_, p)| p)
    }
}

/// The Content-ID of a part, without its angle brackets (as RLMI's
/// `cid` attributes and the `start` parameter name it, RFC 2392).
fn content_id(part: &Part) -> Option<String> {
    part.headers
        .get_str(&HeaderName::new("Content-ID"))
        .map(bare_cid)
}

fn bare_cid(value: &str) -> String {
    let v = value.trim();
    v.strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(v)
        .to_owned()
}

/// The media type of a part (none: text/plain, RFC 2045 §5.2).
fn part_type(part: &Part) -> Option<MediaType<'_>> {
    part.content_type().and_then(Result::ok).map(|c| c.0)
}

/// Only identity encodings are read (what SIP servers send: binary or
/// 8bit; RFC 4662 §5 adds nothing).
fn readable(part: &Part) -> bool {
    part.headers
        .get_str(&HeaderName::new("Content-Transfer-Encoding"))
        .is_none_or(|e| {
            let e = e.trim();
            ["binary", "8bit", "7bit"]
                .iter()
                .any(|k| e.eq_ignore_ascii_case(k))
        })
}

/// Reads a `multipart/related` list document of media type `media`.
fn parse_list(media: &MediaType<'_>, data: &Bytes, xml: &XmlLimits) -> Option<ListBody> {
    if !media.matches("multipart", "related") {
        return None;
    }
    let multipart = Multipart::parse_bounded(media, data, MAX_LIST_PARTS).ok()?;
    let start = media.params.value("start").map(|s| bare_cid(&s));
    let mut parts: Vec<(String, Part)> = Vec::new();
    let mut root: Option<Part> = None;
    for (i, part) in multipart.parts.into_iter().enumerate() {
        let cid = content_id(&part);
        let is_root = match &start {
            Some(s) => cid.as_deref() == Some(s.as_str()),
            None => i == 0,
        };
        if is_root && root.is_none() {
            root = Some(part);
        } else if let Some(c) = cid {
            parts.push((c, part));
        }
    }
    let root = root?;
    let root_type = part_type(&root)?;
    if !root_type.matches("application", "rlmi+xml") || !readable(&root) {
        return None;
    }
    let rlmi = Rlmi::parse(&root.body, xml).ok()?;
    Some(ListBody { rlmi, parts })
}

/// The presence the parts of `list` carry, member by member, as the
/// account posts them; lists in it followed `depth` levels more.
fn member_states(list: &ListBody, depth: usize, xml: &XmlLimits) -> Vec<NotificationData> {
    let mut out = Vec::new();
    for resource in &list.rlmi.resources {
        for instance in &resource.instances {
            let state = |presence: Option<Presence>| NotificationData::SIPAccountGotPresenceState {
                uri: resource.uri.clone(),
                presence: presence.map(Box::new),
            };
            match instance.state {
                // Nothing to show yet, as a pending subscription's NOTIFY.
                InstanceState::Pending => out.push(state(None)),
                // Said in the list state (with its reason); a
                // subscription of its own would end without a document.
                InstanceState::Terminated => {}
                InstanceState::Active => {
                    let Some(part) = instance.cid.as_deref().and_then(|c| list.part(c)) else {
                        // Active with no document (yet).
                        out.push(state(None));
                        continue;
                    };
                    let Some(media) = part_type(part).filter(|_| readable(part)) else {
                        continue;
                    };
                    if media.matches("application", "pidf+xml") {
                        if let Ok(p) = Presence::parse(&part.body, xml) {
                            out.push(state(Some(p)));
                        }
                    } else if depth > 1 {
                        if let Some(nested) = parse_list(&media, &part.body, xml) {
                            out.extend(member_states(&nested, depth - 1, xml));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Reads the NOTIFYs of one list subscription, keeping its RLMI.
pub(crate) struct ListReader {
    kept: Option<Rlmi>,
    xml: XmlLimits,
}

impl ListReader {
    pub(crate) fn new() -> ListReader {
        ListReader {
            kept: None,
            xml: XmlLimits::default(),
        }
    }

    /// What the account posts for one NOTIFY: the list state kept, then
    /// the state of each member the NOTIFY carried. Nothing for a NOTIFY
    /// without a list document, or with one older than the state kept.
    pub(crate) fn read(&mut self, notify: GotNotify) -> Vec<NotificationData> {
        let Some(body) = notify.body else {
            return Vec::new();
        };
        let Ok(media) = MediaType::parse(&body.content_type) else {
            return Vec::new();
        };
        let data = Bytes::from(body.data);
        let Some(list) = parse_list(&media, &data, &self.xml) else {
            return Vec::new();
        };
        let update = list.rlmi.clone();
        match &mut self.kept {
            None => self.kept = Some(update),
            Some(kept) => match kept.apply(update.clone()) {
                Ok(()) => {}
                // A duplicate or a reordered NOTIFY: what it says is old.
                Err(ApplyError::Stale { .. }) => return Vec::new(),
                // Partial versions were lost: the resources this one
                // names are current, the others as kept (RFC 4662 §5.2
                // would have us refresh for a full state; servers such
                // as Kamailio send full state only to a new subscription,
                // so the next changes bring the rest).
                Err(ApplyError::Gap { .. }) => {
                    kept.version = update.version.saturating_sub(1);
                    if kept.apply(update).is_err() {
                        return Vec::new();
                    }
                }
            },
        }
        let mut out = Vec::new();
        if let Some(kept) = &self.kept {
            out.push(NotificationData::SIPAccountGotPresenceListState {
                list: Box::new(kept.clone()),
            });
        }
        out.extend(member_states(&list, MAX_NESTING, &self.xml));
        out
    }
}

impl Account {
    /// The URI of the account's presence list at the RLS
    /// (python3-sipsimple's `sip:{user}+presence@{domain}`).
    pub fn presence_list_uri(&self) -> String {
        format!("sip:{}+presence@{}", self.id.username, self.id.domain)
    }

    /// Writes `members` as the account's presence list on the XCAP
    /// server: the list [`LIST_NAME`] of its resource-lists document
    /// (other lists kept), then the service of
    /// [`presence_list_uri`](Self::presence_list_uri) in its rls-services
    /// document (other services kept), for the `presence` package, whose
    /// members are that list (`<resource-list>`, RFC 4826 §4.2).
    pub async fn publish_presence_list(&self, members: &[String]) -> Result<(), XcapError> {
        write_list(&self.xcap_client()?, &self.presence_list_uri(), members).await
    }
}

/// [`Account::publish_presence_list`] with `client`, for the service
/// `service_uri`.
pub(crate) async fn write_list(
    client: &XcapClient,
    service_uri: &str,
    members: &[String],
) -> Result<(), XcapError> {
    client
        .update_resource_lists(|doc| {
            let entries = members
                .iter()
                .map(|m| Member::Entry(Entry::new(m)))
                .collect();
            match doc
                .lists
                .iter_mut()
                .find(|l| l.name.as_deref() == Some(LIST_NAME))
            {
                Some(l) => l.members = entries,
                None => {
                    let mut l = List::named(LIST_NAME);
                    l.members = entries;
                    doc.lists.push(l);
                }
            }
        })
        .await?;
    let reference = rls_services::list_reference(
        &client.document_url(RESOURCE_LISTS_AUID, "index"),
        LIST_NAME,
    );
    let service = Service::with_resource_list(service_uri, &reference, &["presence"]);
    client
        .update_rls_services(|doc| doc.set_service(service.clone()))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_proto::invite::Body;

    fn notify(content_type: &str, body: &[u8]) -> GotNotify {
        GotNotify {
            state: "active".into(),
            body: Some(Body {
                content_type: content_type.into(),
                data: body.to_vec(),
            }),
        }
    }

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/data/rls/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// The Content-Type of the RFC 4662 §6 NOTIFYs.
    const FULL_TYPE: &str = "multipart/related;type=\"application/rlmi+xml\";\
         start=\"<nXYxAE@pres.vancouver.example.com>\";\
         boundary=\"50UBfW7LSCVLtggUPe5z\"";
    const PARTIAL_TYPE: &str = "multipart/related;type=\"application/rlmi+xml\";\
         start=\"<2BEI83@pres.vancouver.example.com>\";\
         boundary=\"TfZxoxgAvLqgj4wRWPDL\"";

    fn states(out: &[NotificationData]) -> Vec<(String, Option<Presence>)> {
        out.iter()
            .filter_map(|n| match n {
                NotificationData::SIPAccountGotPresenceState { uri, presence } => {
                    Some((uri.clone(), presence.as_deref().cloned()))
                }
                _ => None,
            })
            .collect()
    }

    fn list_state(out: &[NotificationData]) -> Rlmi {
        match out.first() {
            Some(NotificationData::SIPAccountGotPresenceListState { list }) => (**list).clone(),
            other => panic!("no list state first: {other:?}"),
        }
    }

    fn basic(p: &Option<Presence>) -> Option<payloads::pidf::Basic> {
        p.as_ref().and_then(|p| p.tuples[0].status.basic)
    }

    /// RFC 4662 §6: the full state (bob open, dave closed, ed and the
    /// ORG list without a subscription yet), then the partial one (ed
    /// pending, the ORG list active with a nested list, bob terminated).
    #[test]
    fn rfc4662_full_then_partial_state() {
        use payloads::pidf::Basic;
        let mut reader = ListReader::new();
        let out = reader.read(notify(FULL_TYPE, &data("rfc4662_full.notify")));
        let list = list_state(&out);
        assert_eq!(list.uri, "sip:adam-friends@pres.vancouver.example.com");
        assert_eq!((list.version, list.full_state), (1, true));
        assert_eq!(list.resources.len(), 4);
        let got = states(&out);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "sip:bob@vancouver.example.com");
        assert_eq!(basic(&got[0].1), Some(Basic::Open));
        assert_eq!(
            got[0].1.as_ref().unwrap().entity,
            "sip:bob@vancouver.example.com"
        );
        assert_eq!(got[1].0, "sip:dave@vancouver.example.com");
        assert_eq!(basic(&got[1].1), Some(Basic::Closed));

        let out = reader.read(notify(PARTIAL_TYPE, &data("rfc4662_partial.notify")));
        let list = list_state(&out);
        assert_eq!((list.version, list.full_state), (2, true));
        assert_eq!(list.resources.len(), 4, "partial applied to the full state");
        let bob = list.resource("sip:bob@vancouver.example.com").unwrap();
        assert_eq!(bob.instances[0].state, InstanceState::Terminated);
        assert_eq!(bob.instances[0].reason.as_deref(), Some("rejected"));
        let dave = list.resource("sip:dave@vancouver.example.com").unwrap();
        assert_eq!(dave.instances[0].state, InstanceState::Active, "kept");
        let got = states(&out);
        // ed pending (no document), then the nested list's members:
        // joe open, mark closed; bob terminated posts no state.
        let uris: Vec<&str> = got.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            uris,
            [
                "sip:ed@dallas.example.net",
                "sip:joe@stockholm.example.org",
                "sip:mark@stockholm.example.org",
            ]
        );
        assert_eq!(got[0].1, None);
        assert_eq!(basic(&got[1].1), Some(Basic::Open));
        assert_eq!(basic(&got[2].1), Some(Basic::Closed));

        // The same partial again: stale, nothing posted.
        assert!(reader
            .read(notify(PARTIAL_TYPE, &data("rfc4662_partial.notify")))
            .is_empty());
    }

    #[test]
    fn a_gap_applies_what_it_names_and_stale_versions_are_dropped() {
        let mut reader = ListReader::new();
        reader.read(notify(FULL_TYPE, &data("rfc4662_full.notify")));
        // Version 2 lost: version 3 still updates its resources.
        let partial = String::from_utf8(data("rfc4662_partial.notify"))
            .unwrap()
            .replace("version=\"2\"", "version=\"3\"");
        let out = reader.read(notify(PARTIAL_TYPE, partial.as_bytes()));
        assert_eq!(list_state(&out).version, 3);
        assert_eq!(list_state(&out).resources.len(), 4);
        assert_eq!(states(&out).len(), 3);
        // Version 2 now arrives late: dropped.
        assert!(reader
            .read(notify(PARTIAL_TYPE, &data("rfc4662_partial.notify")))
            .is_empty());
    }

    #[test]
    fn what_is_not_a_list_is_ignored() {
        let mut reader = ListReader::new();
        // A plain PIDF, no body, a multipart without RLMI root, garbage.
        let pidf = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>"#;
        assert!(reader.read(notify("application/pidf+xml", pidf)).is_empty());
        assert!(reader
            .read(GotNotify {
                state: "pending".into(),
                body: None
            })
            .is_empty());
        let mixed = b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n";
        assert!(reader
            .read(notify("multipart/related;boundary=b", mixed))
            .is_empty());
        assert!(reader
            .read(notify("multipart/related;boundary=b", b"--b\r\nxx"))
            .is_empty());
    }

    #[test]
    fn parts_over_the_limit_drop_the_notify() {
        let mut body = String::from(
            "--b\r\nContent-Type: application/rlmi+xml\r\n\r\n\
             <list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:l@x\" version=\"1\" fullState=\"true\"/>\r\n",
        );
        for i in 0..MAX_LIST_PARTS {
            body.push_str(&format!(
                "--b\r\nContent-ID: <{i}@x>\r\nContent-Type: application/pidf+xml\r\n\r\nx\r\n"
            ));
        }
        body.push_str("--b--\r\n");
        let mut reader = ListReader::new();
        assert!(reader
            .read(notify("multipart/related;boundary=b", body.as_bytes()))
            .is_empty());
    }

    /// Kamailio's rls module writes its start parameter and Content-IDs
    /// with the list URI inside and a blank line after each part.
    #[test]
    fn kamailio_list_notify() {
        let body = "--KSHe\r\nContent-Transfer-Encoding: binary\r\n\
            Content-ID: <17.sip:carol+presence@sipsimple.test.17>\r\n\
            Content-Type: application/rlmi+xml;charset=\"UTF-8\"\r\n\r\n\
            <?xml version=\"1.0\"?>\n<list uri=\"sip:carol+presence@sipsimple.test\" xmlns=\"urn:ietf:params:xml:ns:rlmi\" version=\"2\" fullState=\"false\">\
            <resource uri=\"sip:bob@sipsimple.test\"><instance id=\"Scf8UhwQ\" state=\"active\" cid=\"17.sip:bob@sipsimple.test.10\"/></resource>\
            <resource uri=\"sip:alice@sipsimple.test\"><instance id=\"Scf8UhwQ\" state=\"pending\"/></resource></list>\r\n\r\n\
            --KSHe\r\nContent-Transfer-Encoding: binary\r\n\
            Content-ID: <17.sip:bob@sipsimple.test.10>\r\n\
            Content-Type: application/pidf+xml\r\n\r\n\
            <?xml version=\"1.0\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@sipsimple.test\">\
            <tuple id=\"t1\"><status><basic>open</basic></status><note>away</note></tuple></presence>\r\n\r\n\
            --KSHe--\r\n";
        let ct = "multipart/related;type=\"application/rlmi+xml\";\
                  start=\"<17.sip:carol+presence@sipsimple.test.17>\";boundary=\"KSHe\"";
        let out = ListReader::new().read(notify(ct, body.as_bytes()));
        let got = states(&out);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "sip:bob@sipsimple.test");
        assert_eq!(got[0].1.as_ref().unwrap().tuples[0].notes[0].text, "away");
        assert_eq!(got[1], ("sip:alice@sipsimple.test".into(), None));
    }
}
