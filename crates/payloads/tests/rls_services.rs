//! RLS services (RFC 4826 §4): the RFC's example read field by field,
//! printed and read back; a service edited in place; faults refused.

use payloads::resource_lists::{Entry, List, Member};
use payloads::rls_services::{list_reference, Members, RlsServices, Service};
use payloads::xml::{XmlError, XmlLimits};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn services(bytes: &[u8]) -> Result<RlsServices, XmlError> {
    RlsServices::parse(bytes, &XmlLimits::default())
}

#[test]
fn rfc4826_example() {
    let d = services(&data("rls_services/rfc4826_example.xml")).unwrap();
    assert_eq!(d.services.len(), 2);
    let buddies = d.service("sip:mybuddies@example.com").unwrap();
    assert_eq!(
        buddies.members,
        Members::ResourceList(
            "http://xcap.example.com/resource-lists/users/sip:joe@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d"
                .into()
        )
    );
    assert_eq!(buddies.packages, vec!["presence".to_owned()]);
    let marketing = d.service("sip:marketing@example.com").unwrap();
    let Members::List(list) = &marketing.members else {
        panic!("{:?}", marketing.members)
    };
    assert_eq!(list.name.as_deref(), Some("marketing"));
    let uris: Vec<&str> = list.entries().iter().map(|e| e.uri.as_str()).collect();
    assert_eq!(uris, ["sip:joe@example.com", "sip:sudhir@example.com"]);
    // Printed and read back: the same document.
    assert_eq!(services(d.to_xml().as_bytes()).unwrap(), d);
}

#[test]
fn the_reference_of_a_list_is_what_the_rfc_writes() {
    assert_eq!(
        list_reference(
            "http://xcap.example.com/resource-lists/users/sip:joe@example.com/index",
            "l1"
        ),
        "http://xcap.example.com/resource-lists/users/sip:joe@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d"
    );
}

#[test]
fn a_service_is_replaced_or_added_and_others_are_kept() {
    let mut d = services(&data("rls_services/rfc4826_example.xml")).unwrap();
    let mut list = List::named("friends");
    list.members
        .push(Member::Entry(Entry::new("sip:alice@example.com")));
    d.set_service(Service::with_list(
        "sip:marketing@example.com",
        list,
        &["presence"],
    ));
    d.set_service(Service::with_resource_list(
        "sip:joe+presence@example.com",
        "http://x/l",
        &[],
    ));
    assert_eq!(d.services.len(), 3);
    let again = services(d.to_xml().as_bytes()).unwrap();
    assert_eq!(again, d);
    let Members::List(l) = &again.service("sip:marketing@example.com").unwrap().members else {
        panic!()
    };
    assert_eq!(l.entries()[0].uri, "sip:alice@example.com");
    // No packages: printed without the element, read back as any.
    assert!(again
        .service("sip:joe+presence@example.com")
        .unwrap()
        .packages
        .is_empty());
    assert!(d.remove_service("sip:mybuddies@example.com"));
    assert!(!d.remove_service("sip:mybuddies@example.com"));
    assert_eq!(d.services.len(), 2);
}

#[test]
fn faults_are_refused() {
    let ns = r#"xmlns="urn:ietf:params:xml:ns:rls-services""#;
    // A service without its members, or with both kinds.
    let none = format!(r#"<rls-services {ns}><service uri="sip:a@b"/></rls-services>"#);
    assert!(matches!(
        services(none.as_bytes()),
        Err(XmlError::Missing(_))
    ));
    let both = format!(
        r#"<rls-services {ns}><service uri="sip:a@b"><resource-list>http://x</resource-list><list/></service></rls-services>"#
    );
    assert!(matches!(
        services(both.as_bytes()),
        Err(XmlError::Repeated(_))
    ));
    // No uri.
    let nouri = format!(r#"<rls-services {ns}><service><list/></service></rls-services>"#);
    assert!(matches!(
        services(nouri.as_bytes()),
        Err(XmlError::Missing(_))
    ));
    // Another root.
    let other = br#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>"#;
    assert!(services(other).is_err());
}
