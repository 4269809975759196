//! The presence-era payload parsers (PIDF/RPID, watcher-info, dialog-info,
//! resource lists, RLS services, RLMI, message summary): never panic;
//! every document that parses prints to a document that parses to the
//! same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payloads::dialog_info::DialogInfo;
use payloads::message_summary::{MessageSummary, SummaryLimits};
use payloads::pidf::Presence;
use payloads::resource_lists::ResourceLists;
use payloads::rlmi::Rlmi;
use payloads::rls_services::RlsServices;
use payloads::watcherinfo::WatcherInfo;
use payloads::xml::XmlLimits;

fuzz_target!(|data: &[u8]| {
    // The printed form declares namespaces per element, so it may outgrow
    // the input's size and attribute limits; nothing else may differ.
    let relaxed = XmlLimits {
        max_size: usize::MAX,
        max_attributes: usize::MAX,
        ..XmlLimits::default()
    };
    let limits = XmlLimits::default();
    if let Ok(d) = Presence::parse(data, &limits) {
        assert_eq!(Presence::parse(&d.to_bytes(), &relaxed), Ok(d));
    }
    if let Ok(d) = WatcherInfo::parse(data, &limits) {
        assert_eq!(WatcherInfo::parse(&d.to_bytes(), &relaxed), Ok(d));
    }
    if let Ok(d) = DialogInfo::parse(data, &limits) {
        assert_eq!(DialogInfo::parse(&d.to_bytes(), &relaxed), Ok(d));
    }
    if let Ok(d) = ResourceLists::parse(data, &limits) {
        assert_eq!(ResourceLists::parse(&d.to_bytes(), &relaxed), Ok(d));
    }
    if let Ok(d) = Rlmi::parse(data, &limits) {
        assert_eq!(Rlmi::parse(&d.to_bytes(), &relaxed), Ok(d));
    }
    if let Ok(d) = RlsServices::parse(data, &limits) {
        assert_eq!(RlsServices::parse(&d.to_bytes(), &relaxed), Ok(d));
    }
    let unbounded = SummaryLimits {
        max_size: usize::MAX,
        max_lines: usize::MAX,
    };
    if let Ok(m) = MessageSummary::parse(data, &SummaryLimits::default()) {
        assert_eq!(MessageSummary::parse(&m.to_bytes(), &unbounded), Ok(m));
    }
});
