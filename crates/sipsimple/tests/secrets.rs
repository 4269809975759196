//! Secrets never leave the SDK in clear (DESIGN.md): not in a MESSAGE's
//! Debug output, not in CFGSettingsObjectDidChange, not in SIP traces
//! (Authorization in any spacing, folded, and `user:password@` URIs).

mod common;

use sip_proto::uri::Uri;
use sipsimple::config::{Value, MASKED};
use sipsimple::engine::mask_secrets;
use sipsimple::message::Message;
use sipsimple::notification::{Filter, NotificationCenter, NotificationData};

#[test]
fn a_message_debug_shows_no_password_nor_body() {
    let center = NotificationCenter::default();
    let mut m = Message::new(
        &center,
        Uri::parse("sip:alice@example.test").unwrap().into_owned(),
        Uri::parse("sip:bob@example.test").unwrap().into_owned(),
        "text/plain",
        "private words",
    );
    m.credentials = Some(("alice".into(), "s3cret-pw".into()));
    let shown = format!("{m:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(!shown.contains("private words"), "{shown}");
    assert!(shown.contains("alice"), "{shown}");
}

#[tokio::test]
async fn a_password_change_is_announced_without_its_values() {
    let app = common::account_app("alice").await;
    let account = app.account_manager().accounts().remove(0);
    let mut changes = app
        .notification_center()
        .subscribe(Filter::name("CFGSettingsObjectDidChange"));
    account
        .set("auth.password", Some(Value::String("first-secret".into())))
        .unwrap();
    account.set("display_name", Some("Alice".into())).unwrap();
    account.save().unwrap();
    let n = common::next_notification(&mut changes).await;
    let NotificationData::CFGSettingsObjectDidChange { modified } = &n.data else {
        unreachable!()
    };
    let shown = format!("{:?}", n.data);
    assert!(!shown.contains("first-secret"), "{shown}");
    let password = &modified["auth.password"];
    assert_eq!(password.new, Some(Value::String(MASKED.into())));
    // Other settings are reported as they are.
    assert_eq!(
        modified["display_name"].new,
        Some(Value::String("Alice".into()))
    );
    app.stop();
}

#[test]
fn traces_mask_authorization_in_every_spelling_and_uri_passwords() {
    let trace = "REGISTER sip:example.test SIP/2.0\r\n\
                 Authorization : Digest username=\"a\", response=\"0123abcd\"\r\n\
                 Proxy-Authorization: Digest username=\"a\",\r\n\
                 \x20response=\"feedface\"\r\n\
                 authorization:Digest response=\"cafebabe\"\r\n\
                 Contact: <sip:alice:hunter2@192.0.2.1;transport=tcp>\r\n\
                 To: <sips:bob:pa55@example.test>\r\n\
                 Route: <sip:proxy.example.test:5060;lr>\r\n\
                 \r\n\
                 a body line with sip:carol:topsecret@example.test\r\n\
                 a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n\
                 a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:c2Vjb25kIHNlY3JldCBrZXkgZm9yIHRlc3Rz;inline:dGhpcmQ=\r\n";
    let masked = mask_secrets(trace);
    for secret in [
        "0123abcd",
        "feedface",
        "cafebabe",
        "hunter2",
        "pa55",
        "topsecret",
        "WVNfX19zZW1jdGwg",
        "c2Vjb25kIHNlY3JldCBr",
        "dGhpcmQ",
    ] {
        assert!(!masked.contains(secret), "{secret} in:\n{masked}");
    }
    // What is not secret stays: user names, hosts, ports, the body.
    assert!(
        masked.contains("<sip:alice:***@192.0.2.1;transport=tcp>"),
        "{masked}"
    );
    assert!(
        masked.contains("<sip:proxy.example.test:5060;lr>"),
        "{masked}"
    );
    assert!(masked.contains("a body line with sip:carol:***@example.test"));
    assert!(masked.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:***masked***\r\n"));
    assert_eq!(masked.lines().count(), trace.lines().count());
}
