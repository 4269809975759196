//! Properties of the presence documents: any bytes are read or refused
//! without a panic, and any document built from valid values prints to a
//! document that reads back to the same value.

use payloads::dialog_info::{self as di, DialogInfo};
use payloads::message_summary::{self as ms, MessageSummary, SummaryLimits};
use payloads::pidf::{
    self, Activity, Basic, Contact, Device, Enumerated, InputState, LocationType, MoodValue, Note,
    Person, Presence, Priority, PrivacyValue, Rpid, Sphere, SphereValue, Status, TimeOffset, Token,
    Tuple, UserInput, Validity, Value,
};
use payloads::resource_lists::{self as rl, ResourceLists};
use payloads::rlmi::{self, Rlmi};
use payloads::watcherinfo::{self as wi, WatcherInfo, WatcherList};
use payloads::xml::{XmlElement, XmlLimits, XmlNode};
use payloads::{DateTime, Offset};
use proptest::prelude::*;

/// Text as the documents carry it: XML characters, trimmed (leaf values
/// are read trimmed), markup characters and UTF-8 included.
pub fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9<>&'\"é😀 \t\n/:.-]{1,24}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

/// Attribute values are kept as written, spaces and all.
fn attr_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9<>&'\"é \t\n:.-]{0,12}"
}

fn datetime() -> impl Strategy<Value = DateTime> {
    (
        0i64..253_402_300_799,
        0u32..1_000_000_000,
        prop_oneof![
            Just(Offset::Utc),
            Just(Offset::Unknown),
            (-1439i16..1440).prop_map(Offset::Minutes)
        ],
    )
        .prop_map(|(s, n, o)| DateTime::from_unix(s, n, o))
}

/// A foreign element: its own namespace, so never one the module types.
fn foreign() -> impl Strategy<Value = XmlElement> {
    let leaf = (
        "[a-z][a-z0-9-]{0,6}",
        proptest::option::of(text()),
        proptest::option::of(attr_text()),
    )
        .prop_map(|(name, t, a)| {
            let mut e = XmlElement::new("urn:example:ext", &name);
            if let Some(a) = a {
                e = e.with_attr("k", &a);
            }
            match t {
                Some(t) => e.with_text(&t),
                None => e,
            }
        });
    leaf.prop_recursive(2, 6, 3, |inner| {
        (inner.clone(), proptest::collection::vec(inner, 1..3)).prop_map(|(mut e, kids)| {
            e.children = kids.into_iter().map(XmlNode::Element).collect();
            e
        })
    })
}

fn note() -> impl Strategy<Value = Note> {
    (
        prop_oneof![Just(String::new()), text()],
        proptest::option::of("[a-z]{2}(-[A-Z]{2})?"),
    )
        .prop_map(|(text, lang)| Note { text, lang })
}

fn validity() -> impl Strategy<Value = Validity> {
    (
        proptest::option::of(attr_text()),
        proptest::option::of(datetime()),
        proptest::option::of(datetime()),
    )
        .prop_map(|(id, from, until)| Validity { id, from, until })
}

fn enumerated<V: Token + Clone + std::fmt::Debug>(
    known: impl Strategy<Value = V> + Clone,
) -> impl Strategy<Value = Enumerated<V>> {
    let value = prop_oneof![
        4 => known.prop_map(Value::Known),
        1 => note().prop_map(Value::Other),
        1 => foreign().prop_map(Value::Extension),
    ];
    (
        validity(),
        proptest::collection::vec(note(), 0..2),
        proptest::collection::vec(value, 0..4),
    )
        .prop_map(|(validity, notes, values)| Enumerated {
            validity,
            notes,
            values,
        })
}

fn rpid() -> impl Strategy<Value = Rpid> {
    let sphere = (
        validity(),
        prop_oneof![
            Just(SphereValue::Work),
            Just(SphereValue::Home),
            Just(SphereValue::Unknown),
            prop_oneof![Just(String::new()), text()].prop_map(SphereValue::Text),
            foreign().prop_map(SphereValue::Extension),
        ],
    )
        .prop_map(|(validity, value)| Sphere { validity, value });
    let offset = (validity(), any::<i32>(), proptest::option::of(attr_text())).prop_map(
        |(validity, minutes, description)| TimeOffset {
            validity,
            minutes,
            description,
        },
    );
    let input = (
        proptest::option::of(attr_text()),
        prop_oneof![Just(InputState::Active), Just(InputState::Idle)],
        proptest::option::of(1u32..),
        proptest::option::of(datetime()),
    )
        .prop_map(|(id, state, idle_threshold, last_input)| UserInput {
            id,
            state,
            idle_threshold,
            last_input,
        });
    (
        proptest::collection::vec(
            enumerated(proptest::sample::select(Activity::ALL.to_vec())),
            0..2,
        ),
        proptest::option::of(prop_oneof![Just(String::new()), text()]),
        proptest::collection::vec(
            enumerated(proptest::sample::select(MoodValue::ALL.to_vec())),
            0..2,
        ),
        proptest::collection::vec(enumerated("[a-z][a-z-]{0,10}".prop_map(LocationType)), 0..2),
        proptest::collection::vec(
            enumerated(proptest::sample::select(PrivacyValue::ALL.to_vec())),
            0..2,
        ),
        proptest::collection::vec(sphere, 0..2),
        proptest::collection::vec(offset, 0..2),
        proptest::option::of(input),
    )
        .prop_map(
            |(activities, class, mood, place_type, privacy, sphere, time_offset, user_input)| {
                Rpid {
                    activities,
                    class,
                    mood,
                    place_type,
                    privacy,
                    sphere,
                    time_offset,
                    user_input,
                }
            },
        )
}

fn tuple() -> impl Strategy<Value = Tuple> {
    let status = (
        proptest::option::of(prop_oneof![Just(Basic::Open), Just(Basic::Closed)]),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(|(basic, extensions)| Status { basic, extensions });
    let contact = (
        text(),
        proptest::option::of((0u16..=1000).prop_map(Priority::from_thousandths)),
    )
        .prop_map(|(uri, p)| Contact {
            uri,
            priority: p.flatten(),
        });
    (
        attr_text(),
        status,
        proptest::option::of(text()),
        rpid(),
        proptest::option::of(contact),
        proptest::collection::vec(note(), 0..3),
        proptest::option::of(datetime()),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(
            |(id, status, device_id, rpid, contact, notes, timestamp, extensions)| Tuple {
                id,
                status,
                device_id,
                rpid,
                contact,
                notes,
                timestamp,
                extensions,
            },
        )
}

fn person() -> impl Strategy<Value = Person> {
    (
        attr_text(),
        rpid(),
        proptest::collection::vec(note(), 0..2),
        proptest::option::of(datetime()),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(|(id, rpid, notes, timestamp, extensions)| Person {
            id,
            rpid,
            notes,
            timestamp,
            extensions,
        })
}

fn device() -> impl Strategy<Value = Device> {
    (
        attr_text(),
        proptest::option::of(prop_oneof![Just(String::new()), text()]),
        rpid(),
        proptest::collection::vec(note(), 0..2),
        proptest::option::of(datetime()),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(
            |(id, device_id, rpid, notes, timestamp, extensions)| Device {
                id,
                device_id,
                rpid,
                notes,
                timestamp,
                extensions,
            },
        )
}

fn presence() -> impl Strategy<Value = Presence> {
    (
        attr_text(),
        proptest::collection::vec(tuple(), 0..3),
        proptest::collection::vec(note(), 0..2),
        proptest::collection::vec(person(), 0..2),
        proptest::collection::vec(device(), 0..2),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(
            |(entity, tuples, notes, persons, devices, extensions)| Presence {
                entity,
                tuples,
                notes,
                persons,
                devices,
                extensions,
            },
        )
}

fn watcher() -> impl Strategy<Value = wi::Watcher> {
    let status = proptest::sample::select(vec![
        wi::Status::Pending,
        wi::Status::Active,
        wi::Status::Waiting,
        wi::Status::Terminated,
    ]);
    let event = prop_oneof![
        proptest::sample::select(vec![
            wi::Event::Subscribe,
            wi::Event::Approved,
            wi::Event::Deactivated,
            wi::Event::Probation,
            wi::Event::Rejected,
            wi::Event::Timeout,
            wi::Event::Giveup,
            wi::Event::Noresource,
        ]),
        "x-[a-z]{1,8}".prop_map(wi::Event::Other),
    ];
    (
        (
            prop_oneof![Just(String::new()), text()],
            attr_text(),
            status,
            event,
        ),
        (
            proptest::option::of(attr_text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of("[a-z]{2}"),
        ),
    )
        .prop_map(
            |((uri, id, status, event), (display_name, expiration, duration_subscribed, lang))| {
                wi::Watcher {
                    uri,
                    id,
                    status,
                    event,
                    display_name,
                    expiration,
                    duration_subscribed,
                    lang,
                }
            },
        )
}

fn watcherinfo() -> impl Strategy<Value = WatcherInfo> {
    let list = (
        attr_text(),
        attr_text(),
        proptest::collection::vec(watcher(), 0..4),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(|(resource, package, watchers, extensions)| WatcherList {
            resource,
            package,
            watchers,
            extensions,
        });
    (
        any::<u64>(),
        prop_oneof![Just(wi::State::Full), Just(wi::State::Partial)],
        proptest::collection::vec(list, 0..3),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(|(version, state, lists, extensions)| WatcherInfo {
            version,
            state,
            lists,
            extensions,
        })
}

/// A header name that reads back as an extra header: a token that is no
/// summary line's name.
fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,10}".prop_filter("not a typed line", |n| {
        let l = n.to_ascii_lowercase();
        !l.ends_with("-message")
            && !["none", "messages-waiting", "message-account"].contains(&l.as_str())
    })
}

/// A header value: trimmed, one line.
fn header_value() -> impl Strategy<Value = String> {
    "[ -~\t\u{e9}\u{1f600}]{0,20}".prop_map(|s| s.trim().to_owned())
}

fn message_summary() -> impl Strategy<Value = MessageSummary> {
    let class = prop_oneof![
        proptest::sample::select(vec![
            ms::MessageClass::Voice,
            ms::MessageClass::Fax,
            ms::MessageClass::Pager,
            ms::MessageClass::Multimedia,
            ms::MessageClass::Text,
            ms::MessageClass::Unclassified,
        ]),
        "X-[a-z]{1,6}-Message".prop_map(ms::MessageClass::Other),
    ];
    let summary = (
        class,
        any::<u32>(),
        any::<u32>(),
        proptest::option::of((any::<u32>(), any::<u32>())),
    )
        .prop_map(|(class, new, old, u)| ms::Summary {
            class,
            new,
            old,
            urgent: u.map(|(new, old)| ms::Urgent { new, old }),
        });
    let header = (header_name(), header_value()).prop_map(|(n, v)| ms::Header::new(&n, &v));
    let block = proptest::collection::vec(
        ("[A-Za-z][A-Za-z0-9-]{0,10}", header_value()).prop_map(|(n, v)| ms::Header::new(&n, &v)),
        1..5,
    )
    .prop_map(|headers| ms::MessageHeaders { headers });
    (
        any::<bool>(),
        proptest::option::of(header_value()),
        proptest::collection::vec(summary, 0..4),
        proptest::collection::vec(header, 0..3),
        proptest::collection::vec(block, 0..3),
    )
        .prop_map(
            |(messages_waiting, account, summaries, headers, messages)| MessageSummary {
                messages_waiting,
                account,
                summaries,
                headers,
                messages,
            },
        )
}

fn participant() -> impl Strategy<Value = di::Participant> {
    let identity = (
        prop_oneof![Just(String::new()), text()],
        proptest::option::of(attr_text()),
    )
        .prop_map(|(uri, display)| di::Identity { uri, display });
    let target = (
        attr_text(),
        proptest::collection::vec((attr_text(), attr_text()), 0..3),
    )
        .prop_map(|(uri, params)| di::Target { uri, params });
    (
        proptest::option::of(identity),
        proptest::option::of(target),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(|(identity, target, extensions)| di::Participant {
            identity,
            target,
            extensions,
        })
}

fn dialog() -> impl Strategy<Value = di::Dialog> {
    let state = (
        proptest::sample::select(vec![
            di::DialogState::Trying,
            di::DialogState::Proceeding,
            di::DialogState::Early,
            di::DialogState::Confirmed,
            di::DialogState::Terminated,
        ]),
        proptest::option::of(prop_oneof![
            proptest::sample::select(vec![
                di::StateEvent::Cancelled,
                di::StateEvent::Rejected,
                di::StateEvent::Replaced,
                di::StateEvent::LocalBye,
                di::StateEvent::RemoteBye,
                di::StateEvent::Error,
                di::StateEvent::Timeout,
            ]),
            "x-[a-z]{1,8}".prop_map(di::StateEvent::Other),
        ]),
        proptest::option::of(1u16..),
    )
        .prop_map(|(state, event, code)| di::StateInfo { state, event, code });
    (
        (
            attr_text(),
            proptest::option::of(attr_text()),
            proptest::option::of(attr_text()),
            proptest::option::of(attr_text()),
            proptest::option::of(prop_oneof![
                Just(di::Direction::Initiator),
                Just(di::Direction::Recipient)
            ]),
        ),
        (
            state,
            proptest::option::of(any::<u64>()),
            proptest::option::of(participant()),
            proptest::option::of(participant()),
            proptest::collection::vec(foreign(), 0..2),
        ),
    )
        .prop_map(
            |(
                (id, call_id, local_tag, remote_tag, direction),
                (state, duration, local, remote, extensions),
            )| di::Dialog {
                id,
                call_id,
                local_tag,
                remote_tag,
                direction,
                state,
                duration,
                local,
                remote,
                extensions,
            },
        )
}

fn dialog_info() -> impl Strategy<Value = DialogInfo> {
    (
        any::<u64>(),
        prop_oneof![Just(wi::State::Full), Just(wi::State::Partial)],
        attr_text(),
        proptest::collection::vec(dialog(), 0..3),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(|(version, state, entity, dialogs, extensions)| DialogInfo {
            version,
            state,
            entity,
            dialogs,
            extensions,
        })
}

fn display_name() -> impl Strategy<Value = rl::DisplayName> {
    note().prop_map(|n| rl::DisplayName {
        text: n.text,
        lang: n.lang,
    })
}

fn rl_list() -> impl Strategy<Value = rl::List> {
    let dn = || proptest::option::of(display_name());
    let ext = || proptest::collection::vec(foreign(), 0..2);
    let leaf = prop_oneof![
        (attr_text(), dn(), ext()).prop_map(|(uri, display_name, extensions)| {
            rl::Member::Entry(rl::Entry {
                uri,
                display_name,
                extensions,
            })
        }),
        (attr_text(), dn(), ext()).prop_map(|(reference, display_name, extensions)| {
            rl::Member::EntryRef(rl::EntryRef {
                reference,
                display_name,
                extensions,
            })
        }),
        (proptest::option::of(attr_text()), dn(), ext()).prop_map(
            |(anchor, display_name, extensions)| {
                rl::Member::External(rl::External {
                    anchor,
                    display_name,
                    extensions,
                })
            }
        ),
    ];
    let list_of = move |members: BoxedStrategy<Vec<rl::Member>>| {
        (proptest::option::of(attr_text()), dn(), members, ext()).prop_map(
            |(name, display_name, members, extensions)| rl::List {
                name,
                display_name,
                members,
                extensions,
            },
        )
    };
    let member = leaf.prop_recursive(3, 16, 4, move |inner| {
        list_of(proptest::collection::vec(inner, 0..4).boxed()).prop_map(rl::Member::List)
    });
    list_of(proptest::collection::vec(member, 0..4).boxed())
}

fn rlmi_doc() -> impl Strategy<Value = Rlmi> {
    let instance = (
        attr_text(),
        proptest::sample::select(vec![
            rlmi::InstanceState::Active,
            rlmi::InstanceState::Pending,
            rlmi::InstanceState::Terminated,
        ]),
        proptest::option::of(attr_text()),
        proptest::option::of(attr_text()),
    )
        .prop_map(|(id, state, reason, cid)| rlmi::Instance {
            id,
            state,
            reason,
            cid,
        });
    let resource = (
        attr_text(),
        proptest::collection::vec(display_name(), 0..3),
        proptest::collection::vec(instance, 0..3),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(|(uri, names, instances, extensions)| rlmi::Resource {
            uri,
            names,
            instances,
            extensions,
        });
    (
        (
            attr_text(),
            any::<u32>(),
            any::<bool>(),
            proptest::option::of(attr_text()),
        ),
        proptest::collection::vec(display_name(), 0..3),
        proptest::collection::vec(resource, 0..4),
        proptest::collection::vec(foreign(), 0..2),
    )
        .prop_map(
            |((uri, version, full_state, cid), names, resources, extensions)| Rlmi {
                uri,
                version,
                full_state,
                cid,
                names,
                resources,
                extensions,
            },
        )
}

/// The printed form declares namespaces on every element that changes
/// them, so it may outgrow the input's size limit; nothing else differs.
fn relaxed() -> XmlLimits {
    XmlLimits {
        max_size: usize::MAX,
        max_elements: usize::MAX,
        ..XmlLimits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Presence::parse(&bytes, &XmlLimits::default());
        let _ = WatcherInfo::parse(&bytes, &XmlLimits::default());
        let _ = DialogInfo::parse(&bytes, &XmlLimits::default());
        let _ = ResourceLists::parse(&bytes, &XmlLimits::default());
        let _ = Rlmi::parse(&bytes, &XmlLimits::default());
        if let Ok(m) = MessageSummary::parse(&bytes, &SummaryLimits::default()) {
            prop_assert_eq!(MessageSummary::parse(&m.to_bytes(), &SummaryLimits { max_size: usize::MAX, max_lines: usize::MAX }), Ok(m));
        }
    }

    #[test]
    fn dialog_info_round_trips(d in dialog_info()) {
        let text = d.to_xml();
        prop_assert_eq!(DialogInfo::parse(text.as_bytes(), &relaxed()), Ok(d), "{}", text);
    }

    #[test]
    fn resource_lists_round_trip(
        lists in proptest::collection::vec(rl_list(), 0..3),
        extensions in proptest::collection::vec(foreign(), 0..2),
    ) {
        let d = ResourceLists { lists, extensions };
        let text = d.to_xml();
        prop_assert_eq!(ResourceLists::parse(text.as_bytes(), &relaxed()), Ok(d), "{}", text);
    }

    #[test]
    fn rlmi_round_trips(d in rlmi_doc()) {
        let text = d.to_xml();
        prop_assert_eq!(Rlmi::parse(text.as_bytes(), &relaxed()), Ok(d), "{}", text);
    }

    #[test]
    fn a_partial_watcherinfo_merges_by_watcher_id(
        mut kept in watcherinfo(),
        mut update in watcherinfo(),
    ) {
        update.version = kept.version.wrapping_add(1);
        update.state = wi::State::Partial;
        prop_assume!(update.version > kept.version);
        let distinct = |d: &WatcherInfo| {
            d.lists.iter().enumerate().all(|(i, l)| {
                d.lists[..i].iter().all(|m| (&m.resource, &m.package) != (&l.resource, &l.package))
            })
        };
        prop_assume!(distinct(&kept) && distinct(&update));
        let before = kept.clone();
        kept.apply(update.clone()).unwrap();
        prop_assert_eq!(kept.version, update.version);
        // What the update says is what is kept now (the last of a repeated
        // id wins); what it does not mention is unchanged.
        for list in &update.lists {
            let k = kept.list(&list.resource, &list.package).unwrap();
            for w in &list.watchers {
                let last = list.watchers.iter().rev().find(|x| x.id == w.id).unwrap();
                prop_assert!(k.watchers.contains(last));
            }
        }
        for list in &before.lists {
            let k = kept.list(&list.resource, &list.package).unwrap();
            let touched = update.lists.iter().filter(|u| u.resource == list.resource && u.package == list.package);
            let ids: Vec<&str> = touched.flat_map(|u| u.watchers.iter().map(|w| w.id.as_str())).collect();
            for w in list.watchers.iter().filter(|w| !ids.contains(&w.id.as_str())) {
                prop_assert!(k.watchers.contains(w));
            }
        }
    }

    #[test]
    fn message_summary_round_trips(m in message_summary()) {
        let text = m.to_text();
        prop_assert_eq!(MessageSummary::parse(text.as_bytes(), &SummaryLimits::default()), Ok(m), "{}", text);
    }

    #[test]
    fn summary_like_text_never_panics_and_reprints(
        lines in proptest::collection::vec(
            "(Messages-Waiting|messages-waiting|Message-Account|Voice-Message|x-y-message|To|[a-z ]{1,4})[ ]?:[ ]?(yes|no|[0-9]{1,3} ?/ ?[0-9]{1,3}( ?\\( ?[0-9]/[0-9] ?\\))?|[a-z :]{0,6})|[ \t][a-z]{0,3}|",
            0..12,
        ),
        lf in any::<bool>(),
    ) {
        let body = lines.join(if lf { "\n" } else { "\r\n" });
        if let Ok(m) = MessageSummary::parse(body.as_bytes(), &SummaryLimits::default()) {
            prop_assert_eq!(MessageSummary::parse(&m.to_bytes(), &SummaryLimits::default()), Ok(m), "{:?}", body);
        }
    }

    #[test]
    fn watcherinfo_round_trips(d in watcherinfo()) {
        let text = d.to_xml();
        prop_assert_eq!(WatcherInfo::parse(text.as_bytes(), &relaxed()), Ok(d), "{}", text);
    }

    #[test]
    fn presence_round_trips(p in presence()) {
        let text = p.to_xml();
        let again = Presence::parse(text.as_bytes(), &relaxed());
        prop_assert_eq!(again.as_ref(), Ok(&p), "{}", text);
    }

    #[test]
    fn priorities_print_and_read_back(n in 0u16..=1000) {
        let p = Priority::from_thousandths(n).unwrap();
        prop_assert_eq!(Priority::parse(&p.to_string()), Some(p));
    }

    #[test]
    fn mangled_rpid_example_never_panics(cut in 0usize..4000, at in 0usize..4000, byte in any::<u8>()) {
        let mut d = std::fs::read(format!("{}/tests/data/pidf/rfc4480_rpid.xml", env!("CARGO_MANIFEST_DIR"))).unwrap();
        if at < d.len() { d[at] = byte; }
        d.truncate(cut.max(1));
        if let Ok(p) = Presence::parse(&d, &XmlLimits::default()) {
            prop_assert_eq!(Presence::parse(p.to_xml().as_bytes(), &relaxed()), Ok(p));
        }
    }
}

#[test]
fn namespaces_are_the_rfcs() {
    assert_eq!(pidf::NAMESPACE, "urn:ietf:params:xml:ns:pidf");
    assert_eq!(pidf::DM_NAMESPACE, "urn:ietf:params:xml:ns:pidf:data-model");
    assert_eq!(pidf::RPID_NAMESPACE, "urn:ietf:params:xml:ns:pidf:rpid");
    assert_eq!(pidf::CONTENT_TYPE, "application/pidf+xml");
}
