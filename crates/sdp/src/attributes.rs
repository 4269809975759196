//! Typed views of the attributes a SIP SIMPLE client reads. The model
//! keeps every attribute as text; these parse on demand, and one that does
//! not parse is skipped by the iterators (a peer's odd attribute must not
//! fail a whole offer) or reported by the single-value getters as `None`.

use std::fmt;

use crate::model::{Attribute, Media, SessionDescription};

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u16>,
}

impl RtpMap {
    pub fn parse(value: &str) -> Option<RtpMap> {
        let (pt, rest) = value.split_once(' ')?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next()?.to_owned();
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(c) => Some(c.parse().ok()?),
            None => None,
        };
        if encoding.is_empty() || parts.next().is_some() {
            return None;
        }
        Some(RtpMap {
            payload_type: pt.parse().ok().filter(|p| *p <= 127)?,
            encoding,
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <parameters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    pub format: String,
    pub parameters: String,
}

impl Fmtp {
    pub fn parse(value: &str) -> Option<Fmtp> {
        let (format, parameters) = value.split_once(' ')?;
        (!format.is_empty()).then(|| Fmtp {
            format: format.to_owned(),
            parameters: parameters.trim().to_owned(),
        })
    }
}

/// The media direction (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub fn parse(name: &str) -> Option<Direction> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The direction seen from the other side: what the peer sends, we
    /// receive.
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// What flows between `self` (ours) and the peer's `theirs`, seen
    /// from our side: we send if we want to and they receive, and the
    /// reverse. As our answer to an offer of `theirs` it is what RFC 3264
    /// §6.1 allows (sendonly is answered recvonly or inactive, recvonly
    /// sendonly or inactive, inactive inactive); once both SDPs are known
    /// it is the negotiated direction.
    pub fn with(self, theirs: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && theirs.receives(),
            self.receives() && theirs.sends(),
        )
    }

    pub fn from_flags(send: bool, receive: bool) -> Direction {
        match (send, receive) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpAttr {
    pub port: u16,
    pub address: Option<String>,
}

impl RtcpAttr {
    pub fn parse(value: &str) -> Option<RtcpAttr> {
        let mut f = value.split(' ');
        let port = f.next()?.parse().ok()?;
        let address = match (f.next(), f.next(), f.next()) {
            (None, _, _) => None,
            (Some(_net), Some(_addr_type), Some(addr)) => Some(addr.to_owned()),
            _ => return None,
        };
        Some(RtcpAttr { port, address })
    }
}

/// `a=crypto:<tag> <suite> inline:<key||salt>[|<lifetime>][|<mki>:<len>] [<session params>]`
/// (RFC 4568 SDES).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    pub suite: String,
    /// The base64 master key and salt.
    pub key: String,
    pub lifetime: Option<String>,
    pub mki: Option<String>,
    pub session_params: Vec<String>,
}

impl Crypto {
    pub fn parse(value: &str) -> Option<Crypto> {
        let mut f = value.split(' ').filter(|s| !s.is_empty());
        let tag = f.next()?.parse().ok()?;
        let suite = f.next()?.to_owned();
        // Several keys are allowed by the RFC; the first is the one used.
        let key_params = f.next()?.split(';').next()?;
        let inline = key_params.strip_prefix("inline:")?;
        let mut parts = inline.split('|');
        let key = parts.next().filter(|k| !k.is_empty())?.to_owned();
        let (mut lifetime, mut mki) = (None, None);
        for p in parts {
            if p.contains(':') {
                mki = Some(p.to_owned());
            } else {
                lifetime = Some(p.to_owned());
            }
        }
        Some(Crypto {
            tag,
            suite,
            key,
            lifetime,
            mki,
            session_params: f.map(str::to_owned).collect(),
        })
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} inline:{}", self.tag, self.suite, self.key)?;
        if let Some(l) = &self.lifetime {
            write!(f, "|{l}")?;
        }
        if let Some(m) = &self.mki {
            write!(f, "|{m}")?;
        }
        for p in &self.session_params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=setup:` (RFC 4145), used by MSRP's connection model (RFC 6135).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Active,
    Passive,
    ActPass,
    HoldConn,
}

impl Setup {
    pub fn parse(value: &str) -> Option<Setup> {
        Some(match value {
            "active" => Setup::Active,
            "passive" => Setup::Passive,
            "actpass" => Setup::ActPass,
            "holdconn" => Setup::HoldConn,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }
}

/// The name of RFC 6714's `a=msrp-cema`, a media-level property
/// attribute (no value): the MSRP endpoint that sends it connects to the
/// c=/m= address of a peer that sent it too, and matches sessions by
/// session-id only, so a middlebox may anchor the connection by
/// rewriting c= and m= alone.
pub const MSRP_CEMA: &str = "msrp-cema";

fn direction_in(attributes: &[Attribute]) -> Option<Direction> {
    attributes
        .iter()
        .filter(|a| a.value.is_none())
        .find_map(|a| Direction::parse(&a.name))
}

impl Media {
    /// Every parsable `a=rtpmap`.
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap> + '_ {
        self.attribute_values("rtpmap").filter_map(RtpMap::parse)
    }

    /// The rtpmap of payload type `pt`, if given.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.rtpmaps().find(|r| r.payload_type == pt)
    }

    /// The `a=fmtp` parameters of `format`.
    pub fn fmtp(&self, format: &str) -> Option<String> {
        self.attribute_values("fmtp")
            .filter_map(Fmtp::parse)
            .find(|f| f.format == format)
            .map(|f| f.parameters)
    }

    /// This media's own direction attribute, if it has one.
    pub fn own_direction(&self) -> Option<Direction> {
        direction_in(&self.attributes)
    }

    /// `a=maxptime` in milliseconds (a fraction is rounded).
    pub fn maxptime(&self) -> Option<u32> {
        let v: f64 = self.attribute("maxptime")?.trim().parse().ok()?;
        (v.is_finite() && v > 0.0 && v < 10_000.0).then(|| v.round() as u32)
    }

    /// `a=ptime` in milliseconds (a fraction is rounded).
    pub fn ptime(&self) -> Option<u32> {
        let v: f64 = self.attribute("ptime")?.trim().parse().ok()?;
        (v.is_finite() && v > 0.0 && v < 10_000.0).then(|| v.round() as u32)
    }

    pub fn rtcp(&self) -> Option<RtcpAttr> {
        self.attribute("rtcp").and_then(RtcpAttr::parse)
    }

    /// Every parsable `a=crypto`.
    pub fn cryptos(&self) -> impl Iterator<Item = Crypto> + '_ {
        self.attribute_values("crypto").filter_map(Crypto::parse)
    }

    /// ICE candidate lines, kept as text (RFC 8839).
    pub fn candidates(&self) -> impl Iterator<Item = &str> + '_ {
        self.attribute_values("candidate")
    }

    /// MSRP `a=path` (RFC 4975): the URIs, in order.
    pub fn msrp_path(&self) -> Vec<&str> {
        self.attribute("path")
            .map(|p| p.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// `a=accept-types` (RFC 4975).
    pub fn accept_types(&self) -> Vec<&str> {
        list(self.attribute("accept-types"))
    }

    /// `a=accept-wrapped-types` (RFC 4975).
    pub fn accept_wrapped_types(&self) -> Vec<&str> {
        list(self.attribute("accept-wrapped-types"))
    }

    pub fn setup(&self) -> Option<Setup> {
        self.attribute("setup").and_then(Setup::parse)
    }

    /// Whether this m-line has `a=msrp-cema` (RFC 6714). Its grammar
    /// allows no value, so `a=msrp-cema:<anything>` does not count: a
    /// peer that wrote one says something we cannot know it means.
    pub fn msrp_cema(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| a.name == MSRP_CEMA && a.value.is_none())
    }

    /// Adds `a=msrp-cema` (RFC 6714) unless it is there.
    pub fn set_msrp_cema(&mut self) {
        if !self.msrp_cema() {
            self.attributes.push(Attribute::flag(MSRP_CEMA));
        }
    }

    /// `a=file-selector` (RFC 5547), kept as text.
    pub fn file_selector(&self) -> Option<&str> {
        self.attribute("file-selector")
    }

    /// Sets the direction attribute, replacing any there.
    pub fn set_direction(&mut self, d: Direction) {
        self.attributes
            .retain(|a| !(a.value.is_none() && Direction::parse(&a.name).is_some()));
        self.attributes.push(Attribute::flag(d.as_str()));
    }
}

fn list(v: Option<&str>) -> Vec<&str> {
    v.map(|t| t.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

impl SessionDescription {
    /// The direction media `index` declares: its own attribute, else the
    /// session's, else sendrecv (RFC 3264 §5.1), without
    /// [`SessionDescription::direction`]'s reading of a 0.0.0.0
    /// connection address. For media whose transport the c= line does
    /// not carry (MSRP reaches its peer by `a=path`), that address is no
    /// hold. None when there is no such m-line.
    pub fn declared_direction(&self, index: usize) -> Option<Direction> {
        let m = self.media.get(index)?;
        Some(
            m.own_direction()
                .or_else(|| direction_in(&self.attributes))
                .unwrap_or_default(),
        )
    }

    /// The direction of media `index`: its own attribute, else the
    /// session's, else sendrecv (RFC 3264 §5.1). A connection address of
    /// 0.0.0.0 (RFC 2543 hold) makes a sending direction not receive
    /// from us: it counts as the peer not wanting media sent to it.
    pub fn direction(&self, index: usize) -> Direction {
        let Some(m) = self.media.get(index) else {
            return Direction::Inactive;
        };
        let d = m
            .own_direction()
            .or_else(|| direction_in(&self.attributes))
            .unwrap_or_default();
        if self
            .connection_for(index)
            .is_some_and(|c| c.is_hold_address())
        {
            // RFC 3264 §8.4: the old way of saying "do not send to me".
            return Direction::from_flags(d.sends(), false);
        }
        d
    }
}
