//! An XCAP client (RFC 4825): whole documents of one user read, written
//! and deleted over HTTP or HTTPS, with the entity tags that make a
//! read-modify-write safe, and HTTP digest (RFC 7616) or basic
//! authentication with the account's credentials when the server asks.
//!
//! What it is for here: the presence authorization rules (RFC 5025,
//! [`payloads::pres_rules`]). A presence server that keeps watchers
//! pending (winfo says `pending`) decides from the presentity's
//! pres-rules document, so allowing or denying a watcher is an edit of
//! that document ([`XcapClient::update_pres_rules`]).
//!
//! Document URL (RFC 4825 §6): `{xcap_root}/{auid}/users/{xui}/{file}`,
//! the XUI being the account's SIP URI (`sip:alice@example.com`, as
//! Kamailio's xcap_server and OpenXCAP expect); the pres-rules file is
//! `index` (RFC 5025 §9.7).
//!
//! Safe updates (RFC 4825 §7.11, RFC 7232): a PUT carries `If-Match` with
//! the ETag of the version read, or `If-None-Match: *` when there was
//! none; a 412 means someone else wrote in between, so the edit is made
//! again on a fresh read (a few times, then [`XcapError::Contended`]).
//!
//! Build: reqwest without default features, over rustls with the
//! application's TLS client configuration (ring, `tls.ca_list`,
//! `tls.verify_server`), HTTP/1.1 only; no native-tls or OpenSSL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use payloads::pres_rules::{self, Ruleset};
use payloads::resource_lists::{self, ResourceLists};
use payloads::rls_services::{self, RlsServices};
use payloads::xml::{XmlError, XmlLimits};
use reqwest::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, ETAG, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use sip_proto::digest::{Algorithm, DigestInput};
use sip_proto::headers::Credentials as AuthParams;

use crate::account::Credentials;

/// The application usage of resource-lists documents (RFC 4826 §3.4.1).
pub const RESOURCE_LISTS_AUID: &str = "resource-lists";

/// The largest document we read: pres-rules are a few kilobytes; a
/// server sending more is broken or hostile.
const MAX_DOCUMENT: usize = 1024 * 1024;
/// Fresh reads after a 412 before giving up.
const MAX_ATTEMPTS: u32 = 4;
/// One request, connection included.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why an XCAP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum XcapError {
    #[error("XCAP is not configured for this account (xcap.enabled and xcap.xcap_root)")]
    NotConfigured,
    #[error("bad XCAP URL {0:?}")]
    Url(String),
    #[error("XCAP request failed: {0}")]
    Transport(String),
    #[error("the XCAP server refused the credentials of {0:?}")]
    Unauthorized(String),
    #[error("the document changed on the XCAP server (412 Precondition Failed)")]
    PreconditionFailed,
    #[error("the XCAP server answered {code} {reason}")]
    Status { code: u16, reason: String },
    #[error("the XCAP document is over {0} bytes")]
    TooLarge(usize),
    #[error("the XCAP document is not valid: {0}")]
    Document(#[from] XmlError),
    #[error("the document kept changing on the XCAP server: gave up after {0} attempts")]
    Contended(u32),
}

impl From<reqwest::Error> for XcapError {
    fn from(e: reqwest::Error) -> XcapError {
        // Without the URL (it is ours), with the causes that reqwest
        // keeps behind its own words ("error sending request").
        let e = e.without_url();
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        XcapError::Transport(text)
    }
}

/// A document as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XcapDocument {
    pub body: Vec<u8>,
    /// The entity tag, with its quotes, as the server wrote it.
    pub etag: Option<String>,
    pub content_type: Option<String>,
}

/// What a write requires of the server's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Unconditional.
    None,
    /// Only over this version (`If-Match`).
    IfMatch(String),
    /// Only if there is no document yet (`If-None-Match: *`).
    Absent,
}

/// The digest challenge last seen, to answer the next request at once
/// instead of after another 401.
#[derive(Debug, Clone)]
struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    qop: Option<&'static str>,
    nc: u32,
}

/// The client of one user's documents on one XCAP server.
#[derive(Clone)]
pub struct XcapClient {
    http: reqwest::Client,
    root: String,
    xui: String,
    credentials: Credentials,
    challenge: Arc<Mutex<Option<Challenge>>>,
}

impl std::fmt::Debug for XcapClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XcapClient")
            .field("root", &self.root)
            .field("xui", &self.xui)
            .finish()
    }
}

/// Percent-encodes what RFC 3986 `pchar` does not allow in a path
/// segment (`:` and `@` stay: the XUI is a SIP URI, written as is).
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let plain = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl XcapClient {
    /// A client for the documents of `xui` (a SIP URI) under `root` (an
    /// http or https URL), authenticating as `credentials`. `tls` is the
    /// rustls configuration for https (the application's, so that
    /// `tls.ca_list` and `tls.verify_server` hold for XCAP too).
    pub fn new(
        root: &str,
        xui: &str,
        credentials: Credentials,
        tls: Option<rustls::ClientConfig>,
        user_agent: Option<&str>,
    ) -> Result<XcapClient, XcapError> {
        let root = root.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&root).map_err(|_| XcapError::Url(root.clone()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(XcapError::Url(root));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .http1_only()
            // No idle connections kept: servers that close after each
            // reply without saying so (Kamailio's xhttp) would make the
            // next request fail on a dead connection; XCAP requests are
            // few, a handshake each costs nothing that matters.
            .pool_max_idle_per_host(0)
            .no_proxy()
            // A redirect would carry our Authorization elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ua) = user_agent {
            builder = builder.user_agent(ua);
        }
        let tls = match tls {
            Some(t) => t,
            None => (*crate::engine::tls::client_config(&crate::engine::TlsSettings {
                verify_server: true,
                public_roots: true,
                ..crate::engine::TlsSettings::default()
            })
            .map_err(|e| XcapError::Transport(e.to_string()))?)
            .clone(),
        };
        builder = builder.use_preconfigured_tls(tls);
        Ok(XcapClient {
            http: builder.build()?,
            root,
            xui: xui.to_owned(),
            credentials,
            challenge: Arc::default(),
        })
    }

    /// `{root}/{auid}/users/{xui}/{file}`.
    pub fn document_url(&self, auid: &str, file: &str) -> String {
        format!(
            "{}/{}/users/{}/{}",
            self.root,
            path_segment(auid),
            path_segment(&self.xui),
            path_segment(file)
        )
    }

    /// The document, or `None` when the server has none (404).
    pub async fn get(&self, auid: &str, file: &str) -> Result<Option<XcapDocument>, XcapError> {
        let resp = self
            .send(
                Method::GET,
                &self.document_url(auid, file),
                HeaderMap::new(),
                None,
            )
            .await?;
        match resp.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            s => return Err(status_error(s)),
        }
        let etag = header(&resp, ETAG);
        let content_type = header(&resp, CONTENT_TYPE);
        let body = read_bounded(resp).await?;
        Ok(Some(XcapDocument {
            body,
            etag,
            content_type,
        }))
    }

    /// Writes the whole document; returns the new ETag if the server
    /// gave one. [`XcapError::PreconditionFailed`] when `condition` no
    /// longer holds.
    pub async fn put(
        &self,
        auid: &str,
        file: &str,
        content_type: &str,
        body: Vec<u8>,
        condition: Precondition,
    ) -> Result<Option<String>, XcapError> {
        let mut headers = conditional(&condition)?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).map_err(|_| XcapError::Url(content_type.into()))?,
        );
        let resp = self
            .send(
                Method::PUT,
                &self.document_url(auid, file),
                headers,
                Some(body),
            )
            .await?;
        match resp.status() {
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT => {
                Ok(header(&resp, ETAG))
            }
            StatusCode::PRECONDITION_FAILED => Err(XcapError::PreconditionFailed),
            s => Err(status_error(s)),
        }
    }

    /// Deletes the document (a missing one is not an error).
    pub async fn delete(
        &self,
        auid: &str,
        file: &str,
        condition: Precondition,
    ) -> Result<(), XcapError> {
        let headers = conditional(&condition)?;
        let resp = self
            .send(
                Method::DELETE,
                &self.document_url(auid, file),
                headers,
                None,
            )
            .await?;
        match resp.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            StatusCode::PRECONDITION_FAILED => Err(XcapError::PreconditionFailed),
            s => Err(status_error(s)),
        }
    }

    /// The pres-rules document and its ETag; an empty ruleset when there
    /// is none yet.
    pub async fn pres_rules(&self) -> Result<(Ruleset, Option<String>), XcapError> {
        match self.get(pres_rules::AUID, "index").await? {
            Some(doc) => Ok((Ruleset::parse(&doc.body, &XmlLimits::default())?, doc.etag)),
            None => Ok((Ruleset::new(), None)),
        }
    }

    /// Reads the pres-rules, applies `edit` and writes them back only
    /// over the version read; on a 412 reads and edits again. Returns
    /// what was written.
    pub async fn update_pres_rules(
        &self,
        edit: impl FnMut(&mut Ruleset),
    ) -> Result<Ruleset, XcapError> {
        self.update(
            pres_rules::AUID,
            pres_rules::CONTENT_TYPE,
            |b| Ruleset::parse(b, &XmlLimits::default()),
            Ruleset::new,
            Ruleset::to_xml,
            edit,
        )
        .await
    }

    /// The resource-lists document (RFC 4826 §3: the user's buddy
    /// lists), empty when there is none.
    pub async fn resource_lists(&self) -> Result<ResourceLists, XcapError> {
        match self.get(RESOURCE_LISTS_AUID, "index").await? {
            Some(doc) => Ok(ResourceLists::parse(&doc.body, &XmlLimits::default())?),
            None => Ok(ResourceLists::default()),
        }
    }

    /// [`update_pres_rules`](Self::update_pres_rules) for the
    /// resource-lists document.
    pub async fn update_resource_lists(
        &self,
        edit: impl FnMut(&mut ResourceLists),
    ) -> Result<ResourceLists, XcapError> {
        self.update(
            RESOURCE_LISTS_AUID,
            resource_lists::CONTENT_TYPE,
            |b| ResourceLists::parse(b, &XmlLimits::default()),
            ResourceLists::default,
            ResourceLists::to_xml,
            edit,
        )
        .await
    }

    /// The rls-services document (RFC 4826 §4: the list URIs a resource
    /// list server serves for the user), empty when there is none.
    pub async fn rls_services(&self) -> Result<RlsServices, XcapError> {
        match self.get(rls_services::AUID, "index").await? {
            Some(doc) => Ok(RlsServices::parse(&doc.body, &XmlLimits::default())?),
            None => Ok(RlsServices::default()),
        }
    }

    /// [`update_pres_rules`](Self::update_pres_rules) for the
    /// rls-services document.
    pub async fn update_rls_services(
        &self,
        edit: impl FnMut(&mut RlsServices),
    ) -> Result<RlsServices, XcapError> {
        self.update(
            rls_services::AUID,
            rls_services::CONTENT_TYPE,
            |b| RlsServices::parse(b, &XmlLimits::default()),
            RlsServices::default,
            RlsServices::to_xml,
            edit,
        )
        .await
    }

    /// Read-modify-write of the user's `index` document of `auid`: read
    /// (or `empty` when there is none), `edit`, write back only over the
    /// version read (If-Match, or If-None-Match when there was none); on
    /// a 412 read and edit again, a few times.
    async fn update<T>(
        &self,
        auid: &str,
        content_type: &str,
        parse: impl Fn(&[u8]) -> Result<T, XmlError>,
        empty: impl Fn() -> T,
        print: impl Fn(&T) -> String,
        mut edit: impl FnMut(&mut T),
    ) -> Result<T, XcapError> {
        for _ in 0..MAX_ATTEMPTS {
            let (existed, (doc, etag)) = match self.get(auid, "index").await? {
                Some(doc) => (true, (parse(&doc.body)?, doc.etag)),
                None => (false, (empty(), None)),
            };
            let mut doc = doc;
            edit(&mut doc);
            let condition = match (existed, etag) {
                (_, Some(tag)) => Precondition::IfMatch(tag),
                (false, None) => Precondition::Absent,
                // A server that gives no ETag cannot be asked for one.
                (true, None) => Precondition::None,
            };
            let body = print(&doc).into_bytes();
            match self.put(auid, "index", content_type, body, condition).await {
                Ok(_) => return Ok(doc),
                Err(XcapError::PreconditionFailed) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(XcapError::Contended(MAX_ATTEMPTS))
    }

    /// Sends one request, answering one 401 with the credentials (and
    /// the next requests at once with the same nonce).
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, XcapError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| XcapError::Url(url.to_owned()))?;
        let mut path = parsed.path().to_owned();
        if let Some(q) = parsed.query() {
            path = format!("{path}?{q}");
        }
        let body_bytes = body.unwrap_or_default();
        let build = |auth: Option<HeaderValue>| {
            let mut r = self
                .http
                .request(method.clone(), parsed.clone())
                .headers(headers.clone());
            if let Some(a) = auth {
                r = r.header(AUTHORIZATION, a);
            }
            if method == Method::PUT {
                r = r.body(body_bytes.clone());
            }
            r
        };
        let early = self.answer_known(&method, &path, &body_bytes);
        let answered_early = early.is_some();
        let resp = build(early).send().await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenges: Vec<String> = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let stale = challenges.iter().any(|c| {
            AuthParams::parse_many(c)
                .unwrap_or_default()
                .iter()
                .any(|p| {
                    p.param("stale")
                        .is_some_and(|s| s.eq_ignore_ascii_case("true"))
                })
        });
        // A 401 to an answer with a nonce that was not stale: wrong
        // credentials, asking again would not help.
        if answered_early && !stale {
            self.forget_challenge();
        }
        let auth = self.answer(&challenges, &method, &path, &body_bytes)?;
        let resp = build(Some(auth)).send().await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            self.forget_challenge();
            return Err(XcapError::Unauthorized(self.credentials.username.clone()));
        }
        Ok(resp)
    }

    fn forget_challenge(&self) {
        *crate::sync::lock(&self.challenge) = None;
    }

    /// An Authorization for the digest challenge seen last, if any.
    fn answer_known(&self, method: &Method, path: &str, body: &[u8]) -> Option<HeaderValue> {
        let mut guard = crate::sync::lock(&self.challenge);
        let c = guard.as_mut()?;
        c.nc = c.nc.saturating_add(1);
        self.digest(c, method, path, body)
    }

    /// Answers the strongest Digest challenge of the 401 (remembering
    /// it), else Basic.
    fn answer(
        &self,
        challenges: &[String],
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<HeaderValue, XcapError> {
        let unauthorized = || XcapError::Unauthorized(self.credentials.username.clone());
        let mut best: Option<Challenge> = None;
        let mut basic = false;
        for value in challenges {
            for c in AuthParams::parse_many(value).unwrap_or_default() {
                if !c.is_digest() {
                    basic |= c.scheme.eq_ignore_ascii_case("basic");
                    continue;
                }
                let Some(algorithm) = Algorithm::parse(c.param("algorithm").as_deref()) else {
                    continue;
                };
                let Some(nonce) = c.param("nonce") else {
                    continue;
                };
                if best.as_ref().is_some_and(|b| b.algorithm >= algorithm) {
                    continue;
                }
                let qop = sip_proto::digest::choose_qop(c.param("qop").as_deref());
                best = Some(Challenge {
                    realm: c.param("realm").map(|r| r.into_owned()).unwrap_or_default(),
                    nonce: nonce.into_owned(),
                    opaque: c.param("opaque").map(|o| o.into_owned()),
                    algorithm,
                    qop,
                    nc: 1,
                });
            }
        }
        if let Some(c) = best {
            let value = self
                .digest(&c, method, path, body)
                .ok_or_else(unauthorized)?;
            *crate::sync::lock(&self.challenge) = Some(c);
            return Ok(value);
        }
        if basic {
            use base64::Engine as _;
            let token = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                self.credentials.username, self.credentials.password
            ));
            return HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| unauthorized());
        }
        Err(unauthorized())
    }

    fn digest(
        &self,
        c: &Challenge,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Option<HeaderValue> {
        let cnonce = crate::random::letters(16);
        let input = DigestInput {
            algorithm: c.algorithm,
            username: &self.credentials.username,
            realm: &c.realm,
            password: &self.credentials.password,
            method: method.as_str(),
            uri: path,
            nonce: &c.nonce,
            cnonce: &cnonce,
            nc: c.nc,
            qop: c.qop,
            body,
        };
        let mut p = AuthParams::new("Digest");
        p.push_quoted("username", &self.credentials.username);
        p.push_quoted("realm", &c.realm);
        p.push_quoted("nonce", &c.nonce);
        p.push_quoted("uri", path);
        p.push_quoted("response", &input.response());
        p.push_token("algorithm", c.algorithm.as_str());
        if let Some(o) = &c.opaque {
            p.push_quoted("opaque", o);
        }
        if let Some(qop) = c.qop {
            p.push_token("qop", qop);
            p.push_token("nc", format!("{:08x}", c.nc));
            p.push_quoted("cnonce", &cnonce);
        }
        let mut value = HeaderValue::from_str(&p.to_string()).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

fn conditional(condition: &Precondition) -> Result<HeaderMap, XcapError> {
    let mut headers = HeaderMap::new();
    match condition {
        Precondition::None => {}
        Precondition::IfMatch(tag) => {
            let v = HeaderValue::from_str(tag).map_err(|_| XcapError::Url(tag.clone()))?;
            headers.insert(reqwest::header::IF_MATCH, v);
        }
        Precondition::Absent => {
            headers.insert(
                reqwest::header::IF_NONE_MATCH,
                HeaderValue::from_static("*"),
            );
        }
    }
    Ok(headers)
}

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn status_error(s: StatusCode) -> XcapError {
    XcapError::Status {
        code: s.as_u16(),
        reason: s.canonical_reason().unwrap_or("").to_owned(),
    }
}

/// The body, refused past [`MAX_DOCUMENT`] without reading it all.
async fn read_bounded(mut resp: reqwest::Response) -> Result<Vec<u8>, XcapError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT as u64)
    {
        return Err(XcapError::TooLarge(MAX_DOCUMENT));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(XcapError::TooLarge(MAX_DOCUMENT));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_urls_follow_rfc4825_and_keep_the_sip_uri_readable() {
        let c = XcapClient::new(
            "http://127.0.0.1:8080/xcap-root/",
            "sip:alice@example.com",
            Credentials {
                username: "alice".into(),
                password: "x".into(),
            },
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            c.document_url("pres-rules", "index"),
            "http://127.0.0.1:8080/xcap-root/pres-rules/users/sip:alice@example.com/index"
        );
        assert_eq!(path_segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert!(matches!(
            XcapClient::new("ftp://x/", "sip:a@b", c.credentials.clone(), None, None),
            Err(XcapError::Url(_))
        ));
    }
}
