//! Header fields: names (with compact forms), the raw header list kept in
//! message order, and typed views parsed on demand.
//!
//! A parsed message stores each header value as a slice of the received
//! buffer (unfolded and trimmed). Typed access ([`Headers::typed`],
//! [`Headers::typed_all`]) parses that slice into a struct that borrows from
//! it, so reading a header costs no allocation beyond small parameter lists.

mod addr;
mod auth;
mod name;
mod simple;
mod via;

use std::fmt;

use bytestring::ByteString;

pub use addr::{
    Contact, ContactValue, From, NameAddr, Path, RecordRoute, ReferTo, ReferredBy, Route,
    ServiceRoute, To,
};
pub use auth::{
    AuthenticationInfo, Authorization, Credentials, ProxyAuthenticate, ProxyAuthorization,
    WwwAuthenticate,
};
pub use name::HeaderName;
pub use simple::{
    Accept, AcceptEncoding, Allow, AllowEvents, CSeq, CallId, ContentDisposition, ContentEncoding,
    ContentLength, ContentType, Date, Event, Expires, MaxForwards, MediaType, MinExpires, MinSe,
    ProxyRequire, RAck, RSeq, Reason, Replaces, Require, RetryAfter, ServerHeader, SessionExpires,
    SipETag, SipIfMatch, Subject, SubscriptionState, Supported, Timestamp, Unsupported, UserAgent,
    Warning,
};
pub use via::{Transport, Via};

use crate::error::{ParseError, SyntaxError};
use crate::grammar::split_commas;

/// A header type with a typed form.
///
/// `parse` receives one value: the whole (unfolded) header value for
/// single-valued headers, or one comma-separated element for list headers
/// (`LIST = true`). `Display` writes the value back in canonical form.
pub trait TypedHeader<'a>: Sized + fmt::Display {
    const NAME: HeaderName;
    const LIST: bool = false;
    fn parse(value: &'a str) -> Result<Self, SyntaxError>;
}

/// One header field as it appeared (name spelling kept for unknown headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    /// The value, unfolded, with surrounding whitespace removed. RFC 3261
    /// header values are UTF-8; a received value that is not has its bad
    /// octets replaced by U+FFFD (the raw datagram is still what a trace
    /// shows).
    pub value: ByteString,
}

impl Header {
    pub fn new(name: HeaderName, value: impl Into<ByteString>) -> Self {
        Header {
            name,
            value: value.into(),
        }
    }

    pub fn value_str(&self) -> &str {
        &self.value
    }

    /// The typed values of this one header line (several for a list
    /// header with commas); empty if the line is not a `T` header.
    pub fn typed_values<'s, T: TypedHeader<'s>>(&'s self) -> TypedIter<'s, T> {
        TypedIter {
            headers: std::slice::from_ref(self).iter(),
            current: None,
            _t: std::marker::PhantomData,
        }
    }
}

/// The header fields of a message, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    pub(crate) fn with_capacity(n: usize) -> Self {
        Headers(Vec::with_capacity(n))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// All values of `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s HeaderName) -> impl Iterator<Item = &'s Header> + 's {
        self.0.iter().filter(move |h| h.name == *name)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&Header> {
        self.0.iter().find(|h| h.name == *name)
    }

    /// The first value of `name` as text.
    pub fn get_str(&self, name: &HeaderName) -> Option<&str> {
        self.get(name).map(|h| &*h.value)
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        self.get(name).is_some()
    }

    pub fn count(&self, name: &HeaderName) -> usize {
        self.get_all(name).count()
    }

    pub fn push(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        self.0.push(Header::new(name, value));
    }

    /// Inserts a header before all others (a proxy's or UA's own Via).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        self.0.insert(0, Header::new(name, value));
    }

    /// Replaces every value of `name` by one value, at the first one's place.
    pub fn set(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(i) => {
                if let Some(h) = self.0.get_mut(i) {
                    h.value = value;
                }
                let mut k = 0;
                self.0.retain(|h| {
                    let keep = k <= i || h.name != name;
                    k += 1;
                    keep
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every value of `name`; returns how many were removed.
    pub fn remove_all(&mut self, name: &HeaderName) -> usize {
        let before = self.0.len();
        self.0.retain(|h| h.name != *name);
        before - self.0.len()
    }

    /// Removes the first value of `name` (for a list header, the first
    /// line, which may hold several comma-separated values).
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<Header> {
        let i = self.0.iter().position(|h| h.name == *name)?;
        Some(self.0.remove(i))
    }

    /// The first typed value of `T`, if the header is present.
    pub fn typed<'s, T: TypedHeader<'s>>(&'s self) -> Option<Result<T, ParseError>> {
        self.typed_all::<T>().next()
    }

    /// Every typed value of `T` in order, list headers split at commas.
    pub fn typed_all<'s, T: TypedHeader<'s>>(&'s self) -> TypedIter<'s, T> {
        TypedIter {
            headers: self.0.iter(),
            current: None,
            _t: std::marker::PhantomData,
        }
    }

    /// Appends a typed header.
    pub fn push_typed<'v, T: TypedHeader<'v>>(&mut self, value: &T) {
        self.push(T::NAME, value.to_string());
    }

    /// Replaces all values of `T`'s header by `value`.
    pub fn set_typed<'v, T: TypedHeader<'v>>(&mut self, value: &T) {
        self.set(T::NAME, value.to_string());
    }

    pub(crate) fn push_header(&mut self, h: Header) {
        self.0.push(h);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

pub struct TypedIter<'s, T> {
    headers: std::slice::Iter<'s, Header>,
    current: Option<(&'s HeaderName, crate::grammar::CommaSplit<'s>)>,
    _t: std::marker::PhantomData<T>,
}

impl<'s, T: TypedHeader<'s>> Iterator for TypedIter<'s, T> {
    type Item = Result<T, ParseError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((name, split)) = &mut self.current {
                if let Some(item) = split.next() {
                    return Some(T::parse(item).map_err(|e| ParseError::header(name.as_str(), e)));
                }
                self.current = None;
            }
            let h = self.headers.find(|h| h.name == T::NAME)?;
            let value: &'s str = &h.value;
            if T::LIST {
                self.current = Some((&h.name, split_commas(value)));
            } else {
                return Some(T::parse(value).map_err(|e| ParseError::header(h.name.as_str(), e)));
            }
        }
    }
}
