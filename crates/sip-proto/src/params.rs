//! `;name=value` parameter lists, shared by URIs and header fields.
//!
//! Values are kept as they appeared on the wire (escaped in URIs, quoted
//! where the header used a quoted-string) so they serialize back unchanged;
//! [`Param::unquoted`] gives the decoded form.

use std::borrow::Cow;
use std::fmt;

use crate::error::SyntaxError;
use crate::grammar::{
    find_byte_from, is_gen_value_char, is_token, scan_quoted, skip_ws_from, unquote,
    walk_alnum_from, Cursor,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: Cow<'a, str>,
    pub value: Option<Cow<'a, str>>,
}

impl<'a> Param<'a> {
    pub fn new(name: impl Into<Cow<'a, str>>, value: Option<impl Into<Cow<'a, str>>>) -> Self {
        Param {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    /// The value with a surrounding quoted-string decoded.
    pub fn unquoted(&self) -> Option<Cow<'_, str>> {
        self.value.as_deref().map(unquote)
    }

    pub fn into_owned(self) -> Param<'static> {
        Param {
            name: Cow::Owned(self.name.into_owned()),
            value: self.value.map(|v| Cow::Owned(v.into_owned())),
        }
    }
}

/// An ordered parameter list. Names compare case-insensitively.
///
/// A list read from a message stays the text it was received as (checked
/// by the parser) and is read on demand: most lists are read once or
/// twice, and building each one cost an allocation and a copy per
/// parameter (a typical INVITE's parse and reads went from 13,784 to
/// 13,215 instructions without them). A list that is built or changed
/// holds its parameters.
#[derive(Clone, Default)]
pub struct Params<'a>(Repr<'a>);

#[derive(Clone)]
enum Repr<'a> {
    /// `;name=value;...` as received, with no whitespace and no quoted
    /// value: it splits at ';' and '=' (always so for URI parameters,
    /// whose characters exclude both).
    Plain(&'a str),
    /// As received, with whitespace or quoted values: walked by the
    /// header grammar.
    Spaced(&'a str),
    Built(Vec<Param<'a>>),
}

impl Default for Repr<'_> {
    /// No parameters: an empty received text, which has nothing to drop.
    fn default() -> Self {
        Repr::Plain("")
    }
}

impl<'a> Params<'a> {
    pub fn new() -> Self {
        Params::default()
    }

    /// A received list of URI parameters, `;name[=value]...`, already
    /// checked (no whitespace, no quotes: it splits at ';' and '=').
    pub(crate) fn received_uri(text: &'a str) -> Self {
        Params(Repr::Plain(text))
    }

    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Repr::Plain(text) | Repr::Spaced(text) => text.is_empty(),
            Repr::Built(v) => v.is_empty(),
        }
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Plain(_) | Repr::Spaced(_) => self.iter().count(),
            Repr::Built(v) => v.len(),
        }
    }

    /// The parameters in order, borrowed from the list.
    pub fn iter(&self) -> Iter<'_, 'a> {
        match &self.0 {
            Repr::Plain(text) => Iter::received(text, true),
            Repr::Spaced(text) => Iter::received(text, false),
            Repr::Built(v) => Iter(IterRepr::Built(v.iter())),
        }
    }

    /// The first parameter named `name`.
    pub fn find(&self, name: &str) -> Option<Param<'_>> {
        self.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The raw value of `name`; `Some(None)` for a parameter without value.
    #[inline(always)]
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        match &self.0 {
            Repr::Plain(text) => plain_get(text, name),
            Repr::Spaced(text) => {
                let mut rest: &str = text;
                while let Some((n, v, next)) = next_received(rest, false) {
                    if n.eq_ignore_ascii_case(name) {
                        return Some(v);
                    }
                    rest = next;
                }
                None
            }
            Repr::Built(v) => v
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
                .map(|p| p.value.as_deref()),
        }
    }

    /// The value of `name`, quoted-string decoded; `None` if absent or valueless.
    pub fn value(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).flatten().map(unquote)
    }

    /// Runs `f` on the parameters as a list to change (a received list
    /// is copied out of its text first).
    fn change<R>(&mut self, f: impl FnOnce(&mut Vec<Param<'a>>) -> R) -> R {
        let mut list = match std::mem::take(&mut self.0) {
            Repr::Built(v) => v,
            Repr::Plain(text) => Iter::received(text, true).collect(),
            Repr::Spaced(text) => Iter::received(text, false).collect(),
        };
        let r = f(&mut list);
        self.0 = Repr::Built(list);
        r
    }

    /// Appends a parameter (even if one of that name is present).
    pub fn push(&mut self, p: Param<'a>) {
        self.change(|list| list.push(p));
    }

    /// Sets `name` (replacing an existing one in place, else appending).
    pub fn set(&mut self, name: impl Into<Cow<'a, str>>, value: Option<impl Into<Cow<'a, str>>>) {
        let p = Param::new(name, value);
        self.change(|list| {
            match list
                .iter_mut()
                .find(|q| q.name.eq_ignore_ascii_case(&p.name))
            {
                Some(q) => *q = p,
                None => list.push(p),
            }
        });
    }

    pub fn remove(&mut self, name: &str) -> Option<Param<'a>> {
        self.change(|list| {
            let i = list
                .iter()
                .position(|p| p.name.eq_ignore_ascii_case(name))?;
            Some(list.remove(i))
        })
    }

    pub fn into_owned(self) -> Params<'static> {
        self.iter().map(|p| p.into_owned()).collect()
    }

    /// Parses `*( SEMI generic-param )` of a header field, with LWS allowed
    /// around `;` and `=`. Stops before anything that is not a `;` (the
    /// whitespace before it included). One walk over the bytes; the list
    /// keeps the text it walked.
    pub(crate) fn parse_header(c: &mut Cursor<'a>) -> Result<Self, SyntaxError> {
        Self::parse_header_checked(c, |_, _| true, "")
    }

    /// [`parse_header`](Self::parse_header), each parameter also asked of
    /// `check` as it is read (a refusal is a `what` error).
    #[inline]
    pub(crate) fn parse_header_checked(
        c: &mut Cursor<'a>,
        check: impl Fn(&[u8], Option<&[u8]>) -> bool,
        what: &'static str,
    ) -> Result<Self, SyntaxError> {
        let s = c.rest();
        let b = s.as_bytes();
        let first = skip_ws_from(b, 0);
        if b.get(first) != Some(&b';') {
            return Ok(Params::new());
        }
        let mut i = first;
        // No whitespace skipped and no quoted value so far.
        let mut plain = true;
        let end = loop {
            let name_start = skip_ws_from(b, i + 1);
            plain &= name_start == i + 1;
            i = walk_alnum_from(b, name_start, is_token);
            if i == name_start {
                return Err(SyntaxError::new("parameter name", rest_at(s, name_start)));
            }
            // Bytes, not text: the names and values are ASCII, and a text
            // slice would check its ends for character boundaries.
            let name = b.get(name_start..i).unwrap_or(&[]);
            let eq = skip_ws_from(b, i);
            let value = if b.get(eq) == Some(&b'=') {
                let v_start = skip_ws_from(b, eq + 1);
                plain &= eq == i && v_start == eq + 1;
                if b.get(v_start) == Some(&b'"') {
                    let (_, len) = scan_quoted(rest_at(s, v_start))?;
                    plain = false;
                    i = v_start + len;
                } else {
                    i = walk_alnum_from(b, v_start, is_gen_value_char);
                    if i == v_start {
                        return Err(SyntaxError::new("parameter value", rest_at(s, v_start)));
                    }
                }
                b.get(v_start..i)
            } else {
                None
            };
            if !check(name, value) {
                return Err(SyntaxError::new(what, rest_at(s, name_start)));
            }
            let next = skip_ws_from(b, i);
            if b.get(next) != Some(&b';') {
                break i;
            }
            plain &= next == i;
            i = next;
        };
        c.advance(end);
        let text = s.get(first..end).unwrap_or("");
        Ok(Params(if plain {
            Repr::Plain(text)
        } else {
            Repr::Spaced(text)
        }))
    }
}

/// The first parameter of a received list `rest` (starting at its ';',
/// or at whitespace before it): name, value and the text after it. The
/// text was checked when received, so a plain list is split at ';' and
/// '=', and one with whitespace or quotes is walked by the header grammar.
#[inline]
fn next_received(rest: &str, plain: bool) -> Option<(&str, Option<&str>, &str)> {
    let b = rest.as_bytes();
    if plain {
        if b.first() != Some(&b';') {
            return None;
        }
        let end = find_byte_from(b, 1, b';');
        let eq = find_byte_from(b.get(..end)?, 1, b'=');
        let value = rest.get(eq + 1..end).filter(|_| eq < end);
        return Some((rest.get(1..eq)?, value, rest.get(end..)?));
    }
    let i = skip_ws_from(b, 0);
    if b.get(i) != Some(&b';') {
        return None;
    }
    let name_start = skip_ws_from(b, i + 1);
    let name_end = walk_alnum_from(b, name_start, is_token);
    let name = rest.get(name_start..name_end).filter(|n| !n.is_empty())?;
    let eq = skip_ws_from(b, name_end);
    if b.get(eq) != Some(&b'=') {
        return Some((name, None, rest.get(name_end..)?));
    }
    let v_start = skip_ws_from(b, eq + 1);
    let v_end = if b.get(v_start) == Some(&b'"') {
        v_start + scan_quoted(rest_at(rest, v_start)).ok()?.1
    } else {
        walk_alnum_from(b, v_start, is_gen_value_char)
    };
    Some((name, rest.get(v_start..v_end), rest.get(v_end..)?))
}

/// [`Params::get`] in a plain received list: the name compared at each
/// ';' (names of up to eight bytes as one 64-bit word), the search for
/// the value's end sixteen bytes a step.
#[inline(always)]
fn plain_get<'t>(text: &'t str, name: &str) -> Option<Option<&'t str>> {
    let b = text.as_bytes();
    let n = name.as_bytes();
    // The name as a little-endian word, its bytes masked in (a literal
    // name folds to constants once inlined).
    let word = (n.len() <= 8).then(|| {
        let mut w = [0u8; 8];
        for (d, c) in w.iter_mut().zip(n) {
            *d = *c;
        }
        let mask = match n.len() {
            8 => u64::MAX,
            len => (1u64 << (8 * len)) - 1,
        };
        (u64::from_le_bytes(w), mask)
    });
    let mut i = 0;
    while b.get(i) == Some(&b';') {
        let after = i + 1 + n.len();
        // What follows a name of the right length is the cheap test.
        let has_value = match b.get(after) {
            None | Some(b';') => Some(false),
            Some(b'=') => Some(true),
            Some(_) => None,
        };
        if let Some(has_value) = has_value {
            let here = b.get(i + 1..after).unwrap_or(&[]);
            let same = match (word, b.get(i + 1..).and_then(|r| r.first_chunk::<8>())) {
                (Some((w, mask)), Some(chunk)) => {
                    let t = u64::from_le_bytes(*chunk);
                    (t ^ w) & mask == 0 || here.eq_ignore_ascii_case(n)
                }
                _ => here.eq_ignore_ascii_case(n),
            };
            if same {
                if !has_value {
                    return Some(None);
                }
                let end = find_byte_from(b, after + 1, b';');
                return Some(text.get(after + 1..end));
            }
        }
        i = find_byte_from(b, i + 1, b';');
    }
    None
}

/// The parameters of a list, in order.
pub struct Iter<'s, 'a>(IterRepr<'s, 'a>);

impl<'s, 'a> Iter<'s, 'a> {
    /// The parameters of received text (`plain`: see [`Repr::Plain`]).
    fn received(rest: &'a str, plain: bool) -> Self {
        Iter(IterRepr::Received { rest, plain })
    }
}

enum IterRepr<'s, 'a> {
    Received { rest: &'a str, plain: bool },
    Built(std::slice::Iter<'s, Param<'a>>),
}

impl<'s> Iterator for Iter<'s, '_> {
    type Item = Param<'s>;

    #[inline]
    fn next(&mut self) -> Option<Param<'s>> {
        match &mut self.0 {
            IterRepr::Received { rest, plain } => {
                let (name, value, next) = next_received(rest, *plain)?;
                *rest = next;
                Some(Param {
                    name: Cow::Borrowed(name),
                    value: value.map(Cow::Borrowed),
                })
            }
            IterRepr::Built(it) => it.next().map(|p| Param {
                name: Cow::Borrowed(&*p.name),
                value: p.value.as_deref().map(Cow::Borrowed),
            }),
        }
    }
}

impl PartialEq for Params<'_> {
    /// The same parameters in the same order, however each list is held.
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Params<'_> {}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> From<Vec<Param<'a>>> for Params<'a> {
    fn from(v: Vec<Param<'a>>) -> Self {
        Params(Repr::Built(v))
    }
}

fn rest_at(s: &str, i: usize) -> &str {
    s.get(i..).unwrap_or("")
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Repr::Plain(text) = self.0 {
            // Already in canonical form.
            return f.write_str(text);
        }
        for p in self.iter() {
            f.write_str(";")?;
            f.write_str(&p.name)?;
            if let Some(v) = &p.value {
                f.write_str("=")?;
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

impl<'a> FromIterator<Param<'a>> for Params<'a> {
    fn from_iter<T: IntoIterator<Item = Param<'a>>>(iter: T) -> Self {
        Params(Repr::Built(iter.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_with_lws() {
        let mut c = Cursor::new(" ;   tag    = 1918181833n ; lr ;q=\"a;b\"");
        let p = Params::parse_header(&mut c).unwrap();
        assert_eq!(p.get("TAG"), Some(Some("1918181833n")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.value("q").as_deref(), Some("a;b"));
        assert!(c.is_empty());
    }

    #[test]
    fn empty_params_refused() {
        assert!(Params::parse_header(&mut Cursor::new(";;")).is_err());
        assert!(Params::parse_header(&mut Cursor::new(";a=")).is_err());
    }

    #[test]
    fn a_list_is_as_small_as_a_vec() {
        // Every URI holds two lists and a name-addr three: growing them
        // costs every move of a parsed header.
        assert_eq!(std::mem::size_of::<Params<'_>>(), 24);
    }

    #[test]
    fn set_replaces_in_place() {
        let mut p = Params::parse_header(&mut Cursor::new(";a=1;b")).unwrap();
        p.set("B", Some("2"));
        p.set("c", None::<&str>);
        assert_eq!(p.to_string(), ";a=1;B=2;c");
    }

    #[test]
    fn lookups_match_whole_names_in_any_case() {
        let parse = |t: &'static str| Params::parse_header(&mut Cursor::new(t)).unwrap();
        let p = parse(";tagx=1;ta=2;TAG=3;lr;transport=tcp");
        assert_eq!(p.get("tag"), Some(Some("3")));
        assert_eq!(p.get("Tag"), Some(Some("3")));
        assert_eq!(p.get("ta"), Some(Some("2")));
        assert_eq!(p.get("t"), None);
        assert_eq!(p.get("lr"), Some(None));
        // Longer than one 64-bit word.
        assert_eq!(p.get("transport"), Some(Some("tcp")));
        assert_eq!(p.get("TRANSPORT"), Some(Some("tcp")));
        assert_eq!(p.get(""), None);
        // A name at the very end, with and without a value.
        assert_eq!(parse(";a=1;b").get("b"), Some(None));
        assert_eq!(
            parse(";b=12345678901234567890").get("b"),
            Some(Some("12345678901234567890"))
        );
        // With whitespace and quotes the list is walked by the grammar.
        let q = parse(" ; a = 1 ;q=\"x;lr=2\" ;lr");
        assert_eq!(q.get("lr"), Some(None));
        assert_eq!(q.get("q"), Some(Some("\"x;lr=2\"")));
        assert_eq!(q.to_string(), ";a=1;q=\"x;lr=2\";lr");
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn an_empty_list_reads_and_grows() {
        let mut p = Params::new();
        assert!(p.is_empty());
        assert_eq!(
            (p.len(), p.get("a"), p.to_string()),
            (0, None, String::new())
        );
        assert_eq!(p, Params::from(Vec::new()));
        assert_eq!(p.remove("a"), None);
        p.set("a", Some("1"));
        assert!(!p.is_empty());
        assert_eq!(p.to_string(), ";a=1");
    }

    #[test]
    fn a_received_list_changes_like_a_built_one() {
        let mut p = Params::parse_header(&mut Cursor::new(";a=1;b;c=3")).unwrap();
        assert_eq!(p.remove("B").map(|r| r.name), Some(Cow::Borrowed("b")));
        p.push(Param::new("d", None::<&str>));
        assert_eq!(p.to_string(), ";a=1;c=3;d");
        let built: Params<'_> = [Param::new("a", Some("1")), Param::new("c", Some("3"))]
            .into_iter()
            .chain([Param::new("d", None::<&str>)])
            .collect();
        assert_eq!(p, built);
    }

    use proptest::prelude::*;

    /// A parameter list as a model and as text, with whitespace around
    /// ';' and '=' and quoted values (holding ';' and '=') here and there.
    fn list() -> impl Strategy<Value = (Vec<(String, Option<String>)>, String)> {
        let name = "[a-zA-Z][a-zA-Z0-9.!%*_+`'~-]{0,11}";
        let value = prop_oneof!["[a-zA-Z0-9.:\\[\\]-]{1,24}", "\"[a-z;= ]{0,8}\"",];
        let ws = prop_oneof![Just(""), Just(""), Just(" "), Just(" \t")];
        proptest::collection::vec(
            (
                name,
                proptest::option::of(value),
                ws.clone(),
                ws.clone(),
                ws,
            ),
            1..6,
        )
        .prop_map(|items| {
            let mut text = String::new();
            let mut model = Vec::new();
            for (n, v, w1, w2, w3) in items {
                text.push_str(&format!("{w1};{w2}{n}"));
                if let Some(v) = &v {
                    text.push_str(&format!("{w3}={w2}{v}"));
                }
                model.push((n, v));
            }
            (model, text)
        })
    }

    proptest! {
        /// A received list reads as the list it was parsed from: in order,
        /// by name (first of a name, any case), in canonical form.
        #[test]
        fn received_lists_read_as_their_model((model, text) in list()) {
            let mut c = Cursor::new(&text);
            let p = Params::parse_header(&mut c).unwrap();
            prop_assert!(c.is_empty());
            let read: Vec<(String, Option<String>)> = p
                .iter()
                .map(|q| (q.name.into_owned(), q.value.map(Cow::into_owned)))
                .collect();
            prop_assert_eq!(&read, &model);
            prop_assert_eq!(p.len(), model.len());
            for (n, _) in &model {
                let first = model.iter().find(|(m, _)| m.eq_ignore_ascii_case(n));
                let want = first.map(|(_, v)| v.as_deref());
                prop_assert_eq!(p.get(&n.to_ascii_uppercase()), want);
                prop_assert_eq!(p.get(n), want);
            }
            prop_assert_eq!(p.get("absent-name"), None);
            let built: Params<'_> = model
                .iter()
                .map(|(n, v)| Param::new(n.as_str(), v.as_deref()))
                .collect();
            prop_assert_eq!(p.to_string(), built.to_string());
            prop_assert_eq!(&p, &built);
        }
    }
}
