//! `payloads`: the bodies SIP SIMPLE carries inside MSRP and SIP messages.
//!
//! Owns: Message/CPIM (RFC 3862, [`cpim`]), the is-composing indication
//! (RFC 3994, [`iscomposing`]), instant message disposition notifications
//! (RFC 5438, [`imdn`]: the CPIM request headers and the
//! `message/imdn+xml` document), the presence documents — PIDF (RFC 3863)
//! with the data model of RFC 4479 and the RPID extensions of RFC 4480
//! ([`pidf`]), watcher information (RFC 3857/3858, [`watcherinfo`]),
//! dialog state (RFC 4235, [`dialog_info`]), resource lists (RFC 4826,
//! [`resource_lists`]) and the RLS services that name them (RFC 4826
//! §4, [`rls_services`]), the resource list meta-information of list
//! notifications (RFC 4662, [`rlmi`]), the presence authorization rules
//! kept on an XCAP server (RFC 5025 on RFC 4745, [`pres_rules`]) — the
//! message summary of message waiting indication (RFC 3842,
//! [`message_summary`], a text format with limits of its own), the RFC 3339 timestamps they share ([`DateTime`])
//! and the bounded XML tree the XML documents are read through ([`xml`]).
//! Every parser takes bytes and limits and returns a typed value or a
//! typed error; every value prints back to bytes that parse to the same
//! value. The watcher-info, dialog-info and RLMI documents also apply a
//! partial notification to the state kept so far, by the version rule
//! their RFCs share.
//!
//! Does not own: the transports that carry these bodies (MSRP framing in
//! `msrp-proto`, SIP MESSAGE/NOTIFY in `sip-proto`), the outer MIME headers
//! of a SIP or MSRP message (and the `multipart/related` body an RLMI
//! document heads), and any policy (when to send is-composing, which
//! notifications to honour, which watchers to authorise, when to
//! subscribe or publish): that is the middleware's.
//!
//! Why our own CPIM code: no maintained crate parses RFC 3862 with its
//! namespaces and escapes. Why `quick-xml` under the documents: it is a
//! pull parser that expands no DTD entities and allocates little; on top
//! of it [`xml::XmlElement`] keeps the elements of foreign namespaces that
//! RFC 3863/4479 require a client to pass on untouched.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod cpim;
mod datetime;
pub mod dialog_info;
pub mod imdn;
pub mod iscomposing;
pub mod message_summary;
pub mod pidf;
pub mod pres_rules;
pub mod resource_lists;
pub mod rlmi;
pub mod rls_services;
pub mod watcherinfo;
pub mod xml;
pub use datetime::{DateTime, DateTimeError, Offset};
