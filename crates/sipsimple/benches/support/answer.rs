//! The answering side of the load benchmarks: every incoming call is
//! accepted with the streams the application's registry made for it.

use sipsimple::application::SipApplication;
use sipsimple::notification::Filter;

/// Accepts every call `app` receives from now on (needs a runtime).
pub fn answer_every_call(app: &SipApplication) {
    let mut incoming = app
        .notification_center()
        .subscribe(Filter::name("SIPSessionNewIncoming"));
    let manager = app.session_manager().clone();
    tokio::spawn(async move {
        while let Some(n) = incoming.next().await {
            let Some(session) = manager
                .sessions()
                .into_iter()
                .find(|s| s.sender() == n.sender)
            else {
                continue;
            };
            tokio::spawn(async move {
                if let Some(streams) = session.proposed_streams() {
                    let _ = session.accept(streams).await;
                }
            });
        }
    });
}
