//! Header fields: names (with compact forms), the raw header list kept in
//! message order, and typed views parsed on demand.
//!
//! A parsed message stores each header value as a slice of the received
//! buffer (unfolded and trimmed). Typed access ([`Headers::typed`],
//! [`Headers::typed_all`]) parses that slice into a struct that borrows from
//! it, so reading a header costs no allocation (parameter lists stay the
//! text they were received as, read on demand).

mod addr;
mod auth;
mod name;
mod simple;
mod via;

use std::fmt;
use std::mem::ManuallyDrop;

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

/// A view of one header field: its name (spelling kept for unknown
/// headers) and its value, unfolded, surrounding whitespace removed. RFC
/// 3261 header values are UTF-8; a received value that is not has its bad
/// octets replaced by U+FFFD (the raw datagram is what a trace shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a HeaderName,
    pub value: &'a str,
}

impl<'a> Header<'a> {
    pub fn value_str(&self) -> &'a str {
        self.value
    }

    /// The typed values of this one header line (several for a list
    /// header with commas); empty if the line is not a `T` header.
    pub fn typed_values<T: TypedHeader<'a>>(&self) -> TypedValues<'a, T> {
        TypedValues {
            name: self.name,
            value: Some(self.value).filter(|_| *self.name == T::NAME),
            split: None,
            _t: std::marker::PhantomData,
        }
    }
}

/// Where a value lives: a span of the received head (no copy, no
/// reference count per header), or its own text (built or unfolded).
#[derive(Debug, Clone)]
enum Value {
    /// A span of the head text; `commas` is false when the parser saw no
    /// comma in it, so a list header's value is one element without a
    /// second look.
    Span {
        start: u32,
        end: u32,
        commas: bool,
    },
    Owned(ByteString),
}

/// One header. Kept to 48 bytes so that the sixteen a parsed message
/// starts with fit the allocator's small-size cache (glibc's tcache ends
/// at 1,032 bytes); the `size_of_entry` test holds it there.
#[derive(Debug, Clone)]
struct Entry {
    name: HeaderName,
    value: Value,
}

/// The header fields of a message, in order. A parsed message's values are
/// spans of its received head, shared with the message buffer.
#[derive(Clone, Default)]
pub struct Headers {
    text: ByteString,
    /// Held as `ManuallyDrop`: the entries of a parsed list (spans, known
    /// names) own nothing, and dropping the list then skips a drop call
    /// per entry; [`Drop`] below drops the entries when any owns text.
    /// Entries taken out of the list are dropped where they are taken.
    entries: Vec<ManuallyDrop<Entry>>,
}

impl Drop for Headers {
    fn drop(&mut self) {
        if self.entries.iter().any(|e| e.owns_text()) {
            for e in self.entries.drain(..) {
                drop(ManuallyDrop::into_inner(e));
            }
        }
    }
}

impl Entry {
    /// Whether dropping the entry frees anything: every field that can
    /// own memory must be asked here, or `Headers` would leak it.
    #[inline]
    fn owns_text(&self) -> bool {
        matches!(self.value, Value::Owned(_)) || matches!(self.name, HeaderName::Other(_))
    }

    fn new(name: HeaderName, value: Value) -> ManuallyDrop<Entry> {
        ManuallyDrop::new(Entry { name, value })
    }
}

impl Headers {
    pub fn new() -> Self {
        Headers::default()
    }

    /// Headers for the parser: span values are pushed before the text
    /// they index is known, then [`set_text`](Self::set_text) attaches it.
    pub(crate) fn for_parser(capacity: usize) -> Self {
        Headers {
            text: ByteString::new(),
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Appends a header whose value will be `text[start..end]` (parser only).
    pub(crate) fn push_span(&mut self, name: HeaderName, start: usize, end: usize, commas: bool) {
        let value = match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => Value::Span { start, end, commas },
            // Spans are bounded by the head limit; keep it safe anyway.
            _ => Value::Owned(ByteString::new()),
        };
        self.entries.push(Entry::new(name, value));
    }

    /// Appends the value to the last header (a folded continuation). Its
    /// value becomes owned text with the fold replaced by one SP.
    pub(crate) fn extend_last(&mut self, raw_head: &[u8], piece: &[u8]) -> Option<usize> {
        let e = self.entries.last_mut()?;
        let mut v: Vec<u8> = match &e.value {
            Value::Span { start, end, .. } => raw_head
                .get(*start as usize..*end as usize)
                .unwrap_or(&[])
                .to_vec(),
            Value::Owned(b) => b.as_bytes().to_vec(),
        };
        if !piece.is_empty() {
            if !v.is_empty() {
                v.push(b' ');
            }
            v.extend_from_slice(piece);
        }
        let len = v.len();
        e.value = Value::Owned(ByteString::from(String::from_utf8_lossy(&v).into_owned()));
        Some(len)
    }

    /// Attaches the head text the spans index (valid UTF-8).
    pub(crate) fn set_text(&mut self, text: ByteString) {
        self.text = text;
    }

    /// The head was not UTF-8: every span becomes its own text, bad octets
    /// replaced.
    pub(crate) fn own_spans_lossy(&mut self, raw_head: &[u8]) {
        for e in &mut self.entries {
            if let Value::Span { start, end, .. } = e.value {
                let b = raw_head.get(start as usize..end as usize).unwrap_or(&[]);
                e.value = Value::Owned(ByteString::from(String::from_utf8_lossy(b).into_owned()));
            }
        }
    }

    #[inline]
    fn value_of<'s>(&'s self, e: &'s Entry) -> &'s str {
        match &e.value {
            Value::Span { start, end, .. } => {
                self.text.get(*start as usize..*end as usize).unwrap_or("")
            }
            Value::Owned(b) => b,
        }
    }

    #[inline]
    fn view<'s>(&'s self, e: &'s Entry) -> Header<'s> {
        Header {
            name: &e.name,
            value: self.value_of(e),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            headers: self,
            entries: self.entries.iter(),
        }
    }

    /// All values of `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s HeaderName) -> impl Iterator<Item = Header<'s>> + 's {
        // Names first: only the matches need their value sliced out.
        self.entries
            .iter()
            .filter(move |e| e.name == *name)
            .map(|e| self.view(e))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<Header<'_>> {
        self.entries
            .iter()
            .find(|e| e.name == *name)
            .map(|e| self.view(e))
    }

    /// The first value of `name` as text.
    pub fn get_str(&self, name: &HeaderName) -> Option<&str> {
        self.get(name).map(|h| h.value)
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        self.entries.iter().any(|e| e.name == *name)
    }

    pub fn count(&self, name: &HeaderName) -> usize {
        self.entries.iter().filter(|e| e.name == *name).count()
    }

    pub fn push(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        self.entries
            .push(Entry::new(name, Value::Owned(value.into())));
    }

    /// Inserts a header before all others (a proxy's or UA's own Via).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        self.entries
            .insert(0, Entry::new(name, Value::Owned(value.into())));
    }

    /// Replaces every value of `name` by one value, at the first one's place.
    pub fn set(&mut self, name: HeaderName, value: impl Into<ByteString>) {
        let value = Value::Owned(value.into());
        match self.entries.iter().position(|e| e.name == name) {
            Some(i) => {
                if let Some(e) = self.entries.get_mut(i) {
                    e.value = value;
                }
                let mut k = 0;
                let removed = self.entries.extract_if(.., |e| {
                    let take = k > i && e.name == name;
                    k += 1;
                    take
                });
                removed.for_each(|e| drop(ManuallyDrop::into_inner(e)));
            }
            None => self.entries.push(Entry::new(name, value)),
        }
    }

    /// Replaces the value of the first header named `name` (keeping its
    /// place); false if there is none.
    pub fn replace_first(&mut self, name: &HeaderName, value: impl Into<ByteString>) -> bool {
        match self.entries.iter_mut().find(|e| e.name == *name) {
            Some(e) => {
                e.value = Value::Owned(value.into());
                true
            }
            None => false,
        }
    }

    /// Replaces the first comma-separated value of the first `name` header
    /// (a list header such as Via), keeping the values after it.
    pub fn replace_first_element(&mut self, name: &HeaderName, value: &str) -> bool {
        let Some(first) = self.get(name).map(|h| h.value.to_owned()) else {
            return false;
        };
        let mut items = split_commas(&first);
        items.next();
        let rest: Vec<&str> = items.collect();
        let new = if rest.is_empty() {
            value.to_owned()
        } else {
            format!("{value}, {}", rest.join(", "))
        };
        self.replace_first(name, new)
    }

    /// Removes every value of `name`; returns how many were removed.
    pub fn remove_all(&mut self, name: &HeaderName) -> usize {
        let removed = self.entries.extract_if(.., |e| e.name == *name);
        removed.map(|e| drop(ManuallyDrop::into_inner(e))).count()
    }

    /// Removes the first value of `name` (for a list header, the first
    /// line, which may hold several comma-separated values) and returns its
    /// value.
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<ByteString> {
        let i = self.entries.iter().position(|e| e.name == *name)?;
        let value = ByteString::from(self.value_of(self.entries.get(i)?));
        drop(ManuallyDrop::into_inner(self.entries.remove(i)));
        Some(value)
    }

    /// Appends a copy of another message's header (e.g. Via into a response).
    pub fn push_copy(&mut self, h: Header<'_>) {
        self.push(h.name.clone(), h.value);
    }

    /// The first typed value of `T`, if the header is present.
    pub fn typed<'s, T: TypedHeader<'s>>(&'s self) -> Option<Result<T, ParseError>> {
        self.typed_all::<T>().next()
    }

    /// Every typed value of `T` in order, list headers split at commas.
    pub fn typed_all<'s, T: TypedHeader<'s>>(&'s self) -> TypedIter<'s, T> {
        TypedIter {
            headers: self,
            entries: self.entries.iter(),
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
}

/// The headers in order, as [`Header`] views.
pub struct Iter<'a> {
    headers: &'a Headers,
    entries: std::slice::Iter<'a, ManuallyDrop<Entry>>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        self.entries.next().map(|e| self.headers.view(e))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries.next_back().map(|e| self.headers.view(e))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Headers {
    type Item = Header<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for Headers {
    /// Same names and values in the same order, wherever the text lives.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Eq for Headers {}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|h| (h.name.as_str(), h.value)))
            .finish()
    }
}

/// Typed values across all headers of one name.
pub struct TypedIter<'s, T> {
    headers: &'s Headers,
    entries: std::slice::Iter<'s, ManuallyDrop<Entry>>,
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
            let e = self.entries.find(|e| e.name == T::NAME)?;
            let value = self.headers.value_of(e);
            if T::LIST {
                // A parsed value without a comma is one element, already
                // trimmed; an empty one has none.
                if let Value::Span { commas: false, .. } = e.value {
                    if value.is_empty() {
                        continue;
                    }
                    return Some(
                        T::parse(value).map_err(|err| ParseError::header(e.name.as_str(), err)),
                    );
                }
                self.current = Some((&e.name, split_commas(value)));
            } else {
                return Some(
                    T::parse(value).map_err(|err| ParseError::header(e.name.as_str(), err)),
                );
            }
        }
    }
}

/// Typed values of one header line.
pub struct TypedValues<'a, T> {
    name: &'a HeaderName,
    value: Option<&'a str>,
    split: Option<crate::grammar::CommaSplit<'a>>,
    _t: std::marker::PhantomData<T>,
}

impl<'a, T: TypedHeader<'a>> Iterator for TypedValues<'a, T> {
    type Item = Result<T, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if !T::LIST {
            let v = self.value.take()?;
            return Some(T::parse(v).map_err(|e| ParseError::header(self.name.as_str(), e)));
        }
        if self.split.is_none() {
            self.split = Some(split_commas(self.value.take()?));
        }
        let item = self.split.as_mut()?.next()?;
        Some(T::parse(item).map_err(|e| ParseError::header(self.name.as_str(), e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Message};

    #[test]
    fn size_of_entry() {
        assert!(std::mem::size_of::<Entry>() <= 48);
    }

    /// Text whose owner counts its drops.
    fn counted(
        drops: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
        text: &'static str,
    ) -> ByteString {
        struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>, &'static str);
        impl AsRef<[u8]> for Counted {
            fn as_ref(&self) -> &[u8] {
                self.1.as_bytes()
            }
        }
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        ByteString::try_from(bytes::Bytes::from_owner(Counted(drops.clone(), text))).unwrap()
    }

    /// Entries are held undropped: owned text must still be dropped when
    /// an entry is replaced or removed, and with the list.
    #[test]
    fn owned_text_is_dropped_when_replaced_removed_or_with_the_list() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let count = || drops.load(Ordering::SeqCst);
        let raw = b"OPTIONS sip:b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nX-A: 1\r\n\r\n";
        let m =
            Message::parse_unvalidated(bytes::Bytes::from_static(raw), &Limits::default()).unwrap();
        let mut h = m.headers().clone();
        drop(m);
        h.push(HeaderName::Subject, counted(&drops, "one"));
        h.push(HeaderName::Subject, counted(&drops, "two"));
        h.push_front(HeaderName::Server, counted(&drops, "three"));
        h.push(HeaderName::new("X-B"), counted(&drops, "four"));
        h.push(HeaderName::Date, counted(&drops, "five"));
        assert_eq!(count(), 0);
        // `set` keeps the first Subject (its value replaced) and removes the second.
        h.set(HeaderName::Subject, counted(&drops, "six"));
        assert_eq!(count(), 2);
        assert_eq!(h.remove_all(&HeaderName::new("x-b")), 1);
        assert_eq!(count(), 3);
        assert_eq!(
            h.remove_first(&HeaderName::Server).as_deref(),
            Some("three")
        );
        assert_eq!(count(), 4);
        assert!(h.replace_first(&HeaderName::Date, "5"));
        assert_eq!(count(), 5);
        let copy = h.clone();
        drop(h);
        assert_eq!(count(), 5, "the copy still holds the last one");
        drop(copy);
        assert_eq!(count(), 6);
    }

    /// List headers read the same whether the parser saw a comma in the
    /// value (split at top-level commas) or none (one element, or none
    /// when blank), and when folding made the value owned text.
    #[test]
    fn list_values_with_and_without_commas() {
        let raw = "OPTIONS sip:a@b SIP/2.0\r\nSupported: timer\r\nSupported:\r\n\
                   Supported: path, \"x\"\r\nSupported: 100rel,\r\n gruu\r\n\r\n";
        let m = Message::parse_unvalidated(bytes::Bytes::from(raw), &Limits::default()).unwrap();
        let tags: Vec<String> = m
            .headers()
            .typed_all::<Supported>()
            .map(|r| {
                r.map(|s| s.0.to_string())
                    .unwrap_or_else(|e| format!("error: {e}"))
            })
            .collect();
        assert_eq!(tags.len(), 5, "{tags:?}");
        assert_eq!(tags.first().map(String::as_str), Some("timer"));
        assert_eq!(tags.get(1).map(String::as_str), Some("path"));
        assert!(
            tags.get(2).is_some_and(|t| t.starts_with("error")),
            "{tags:?}"
        );
        assert_eq!(tags.get(3).map(String::as_str), Some("100rel"));
        assert_eq!(tags.get(4).map(String::as_str), Some("gruu"));
    }
}
