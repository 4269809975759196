//! `sip share-desktop URI --vnc HOST:PORT` (we offer our VNC server's
//! desktop), `sip view-desktop URI` (we ask the peer to share its
//! desktop) and what `sip listen --view-desktop` / `--share-desktop`
//! do with such offers. The SDK's DesktopSharingStream carries RFB over
//! MSRP; this side either connects to a VNC server (ExternalVNCServerHandler)
//! or opens a local port for any VNC viewer (ExternalVNCViewerHandler)
//! and prints it: `view the desktop at 127.0.0.1:PORT`.
//!
//! Exit status: 0 when the session ended normally (either side hung up,
//! or the local VNC viewer disconnected), 1 when it failed (the VNC
//! server could not be reached or went away, the call failed).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::signals::Interrupts;
use anyhow::{anyhow, Context, Result};
use sipsimple::notification::{NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{
    DesktopSharingHandler, DesktopSharingStream, ExternalVNCServerHandler,
    ExternalVNCViewerHandler, HandlerKind,
};
use sipsimple::streams::MediaStream;

use crate::call::{local_ip, pick_account, runtime, start, stop};

/// How long the VNC server has to accept our connection.
const VNC_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The local side of a desktop-sharing session.
pub(crate) enum Local {
    /// We share the VNC server at this address.
    Share(String),
    /// We view: a VNC viewer connects here.
    View(SocketAddr),
}

impl Local {
    /// The handler; a viewer port is bound now, so that it can be told.
    fn handler(&self) -> Result<(Arc<dyn DesktopSharingHandler>, Option<SocketAddr>)> {
        Ok(match self {
            Local::Share(vnc) => (
                Arc::new(ExternalVNCServerHandler::new(
                    vnc.clone(),
                    VNC_CONNECT_TIMEOUT,
                )),
                None,
            ),
            Local::View(at) => {
                let h = ExternalVNCViewerHandler::new(*at)
                    .with_context(|| format!("cannot listen for a VNC viewer on {at}"))?;
                let bound = h.address();
                (Arc::new(h), Some(bound))
            }
        })
    }
}

/// Follows a desktop-sharing session to its end; the exit status.
pub(crate) async fn follow_desktop(
    session: &Session,
    stream: &DesktopSharingStream,
    viewer_port: Option<SocketAddr>,
    events: &mut Subscription,
    signals: &mut Interrupts,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let Interrupts {
        interrupt,
        terminate,
    } = signals;
    let me = stream.base().context().map(|c| c.sender);
    let handler = stream.handler_sender();
    let mut failure: Option<String> = None;
    // The stream fails right after its handler: told once.
    let mut handler_failed = false;
    loop {
        tokio::select! {
            n = events.next() => {
                let Some(n) = n else { break };
                if n.sender == session.sender() {
                    match &n.data {
                        NotificationData::SIPSessionDidStart { .. } => {
                            out("session started\n")?;
                            match viewer_port {
                                Some(at) => out(&format!("view the desktop at {at}\n"))?,
                                None => out("sharing the desktop\n")?,
                            }
                        }
                        NotificationData::SIPSessionDidFail { code, reason, failure_reason, .. } => {
                            let why = if *code == 0 { failure_reason.clone() } else { format!("{code} {reason}") };
                            out(&format!("the session failed: {why}\n"))?;
                            failure.get_or_insert(why);
                            break;
                        }
                        NotificationData::SIPSessionDidEnd { originator, .. } => {
                            out(&format!("the session ended ({originator} hung up)\n"))?;
                            break;
                        }
                        _ => {}
                    }
                } else if Some(n.sender) == handler {
                    if let NotificationData::DesktopSharingHandlerDidFail { context, reason } = &n.data {
                        handler_failed = true;
                        // The local viewer closing is how a person stops
                        // viewing; a VNC server going away is a failure.
                        if viewer_port.is_some() && context == "reading" {
                            out(&format!("the VNC viewer left ({reason})\n"))?;
                        } else {
                            out(&format!("desktop sharing failed {context}: {reason}\n"))?;
                            failure.get_or_insert(reason.clone());
                        }
                        let _ = session.end().await;
                    }
                } else if Some(n.sender) == me {
                    if let NotificationData::MediaStreamDidFail { reason } = &n.data {
                        if !handler_failed {
                            out(&format!("desktop sharing failed: {reason}\n"))?;
                            failure.get_or_insert(reason.clone());
                            let _ = session.end().await;
                        }
                    }
                }
            }
            _ = interrupt.recv() => { let _ = session.end().await; }
            _ = terminate.recv() => { let _ = session.end().await; }
        }
    }
    Ok(u8::from(failure.is_some()))
}

/// `sip listen` and a desktop offered to it: a peer sharing its desktop
/// is viewed with `view` (a local viewer port), a peer asking to view
/// ours is shown the VNC server `share`; without the option that fits,
/// the offer is declined.
pub(crate) async fn take_desktop(
    session: &Session,
    stream: Arc<DesktopSharingStream>,
    view: Option<SocketAddr>,
    share: Option<&str>,
    events: &mut Subscription,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    let peer = crate::chat::identity(&session.remote_identity());
    let local = match (stream.kind(), view, share) {
        (HandlerKind::Active, Some(at), _) => {
            out(&format!("{peer} shares a desktop\n"))?;
            Local::View(at)
        }
        (HandlerKind::Passive, _, Some(vnc)) => {
            out(&format!("{peer} asks to view the desktop: sharing {vnc}\n"))?;
            Local::Share(vnc.to_owned())
        }
        (HandlerKind::Active, None, _) => {
            out(&format!(
                "{peer} offers to share a desktop: declined (sip listen --view-desktop takes it)\n"
            ))?;
            let _ = session.reject(488, None).await;
            return Ok(());
        }
        (HandlerKind::Passive, _, None) => {
            out(&format!(
                "{peer} asks to view the desktop: declined (sip listen --share-desktop HOST:PORT shares one)\n"
            ))?;
            let _ = session.reject(488, None).await;
            return Ok(());
        }
    };
    let (handler, viewer_port) = match local.handler() {
        Ok(h) => h,
        Err(e) => {
            let _ = session.reject(500, None).await;
            return Err(e);
        }
    };
    stream.set_handler(handler).map_err(|e| anyhow!("{e}"))?;
    let mut signals = Interrupts::catch()?;
    session
        .accept(vec![stream.clone() as Arc<dyn MediaStream>])
        .await
        .map_err(|e| anyhow!("{e}"))?;
    follow_desktop(session, &stream, viewer_port, events, &mut signals, out).await?;
    Ok(())
}

/// `sip share-desktop URI --vnc HOST:PORT` and `sip view-desktop URI`.
pub fn offer_desktop(
    config: &Path,
    uri: &str,
    account: Option<&str>,
    local: Local,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let rt = runtime()?;
    let status = rt.block_on(async move {
        let (handler, viewer_port) = local.handler()?;
        let (app, mut events) = start(config).await?;
        let result = async {
            let account = pick_account(&app, account)?;
            let settings = app
                .session_manager()
                .stream_settings(&account, local_ip(&app))
                .map_err(|e| anyhow!("{e}"))?;
            let stream = Arc::new(DesktopSharingStream::new(&settings, handler));
            match &local {
                Local::Share(vnc) => out(&format!("sharing the desktop of {vnc} with {uri}\n"))?,
                Local::View(_) => out(&format!("asking {uri} to share its desktop\n"))?,
            }
            let mut signals = Interrupts::catch()?;
            let session = app
                .session_manager()
                .connect(&account, uri, vec![stream.clone() as Arc<dyn MediaStream>])
                .await
                .map_err(|e| anyhow!("{e}"))?;
            follow_desktop(
                &session,
                &stream,
                viewer_port,
                &mut events,
                &mut signals,
                &mut out,
            )
            .await
        }
        .await;
        stop(&app, &mut events).await;
        result
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}
