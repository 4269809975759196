//! `;name=value` parameter lists, shared by URIs and header fields.
//!
//! Values are kept as they appeared on the wire (escaped in URIs, quoted
//! where the header used a quoted-string) so they serialize back unchanged;
//! [`Param::unquoted`] gives the decoded form.

use std::borrow::Cow;
use std::fmt;

use crate::error::SyntaxError;
use crate::grammar::{
    is_gen_value_char, is_token, scan_quoted, skip_ws_from, unquote, walk_alnum_from, Cursor,
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params<'a>(pub Vec<Param<'a>>);

impl<'a> Params<'a> {
    pub fn new() -> Self {
        Params(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Param<'a>> {
        self.0.iter()
    }

    pub fn find(&self, name: &str) -> Option<&Param<'a>> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The raw value of `name`; `Some(None)` for a parameter without value.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.find(name).map(|p| p.value.as_deref())
    }

    /// The value of `name`, quoted-string decoded; `None` if absent or valueless.
    pub fn value(&self, name: &str) -> Option<Cow<'_, str>> {
        self.find(name).and_then(Param::unquoted)
    }

    /// Sets `name` (replacing an existing one in place, else appending).
    pub fn set(&mut self, name: impl Into<Cow<'a, str>>, value: Option<impl Into<Cow<'a, str>>>) {
        let p = Param::new(name, value);
        match self
            .0
            .iter_mut()
            .find(|q| q.name.eq_ignore_ascii_case(&p.name))
        {
            Some(q) => *q = p,
            None => self.0.push(p),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Param<'a>> {
        let i = self
            .0
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(name))?;
        Some(self.0.remove(i))
    }

    pub fn into_owned(self) -> Params<'static> {
        Params(self.0.into_iter().map(Param::into_owned).collect())
    }

    /// Parses `*( SEMI generic-param )` of a header field, with LWS allowed
    /// around `;` and `=`. Stops before anything that is not a `;` (the
    /// whitespace before it included). One walk over the bytes.
    pub(crate) fn parse_header(c: &mut Cursor<'a>) -> Result<Self, SyntaxError> {
        let s = c.rest();
        let b = s.as_bytes();
        let mut i = skip_ws_from(b, 0);
        if b.get(i) != Some(&b';') {
            return Ok(Params::new());
        }
        // One allocation for the usual few.
        let mut params = Vec::with_capacity(4);
        let end = loop {
            let name_start = skip_ws_from(b, i + 1);
            i = walk_alnum_from(b, name_start, is_token);
            if i == name_start {
                return Err(SyntaxError::new("parameter name", rest_at(s, name_start)));
            }
            let name = s.get(name_start..i).unwrap_or("");
            let eq = skip_ws_from(b, i);
            let value = if b.get(eq) == Some(&b'=') {
                let v_start = skip_ws_from(b, eq + 1);
                if b.get(v_start) == Some(&b'"') {
                    let (_, len) = scan_quoted(rest_at(s, v_start))?;
                    i = v_start + len;
                } else {
                    i = walk_alnum_from(b, v_start, is_gen_value_char);
                    if i == v_start {
                        return Err(SyntaxError::new("parameter value", rest_at(s, v_start)));
                    }
                }
                Some(Cow::Borrowed(s.get(v_start..i).unwrap_or("")))
            } else {
                None
            };
            params.push(Param {
                name: Cow::Borrowed(name),
                value,
            });
            let next = skip_ws_from(b, i);
            if b.get(next) != Some(&b';') {
                break i;
            }
            i = next;
        };
        c.advance(end);
        Ok(Params(params))
    }
}

fn rest_at(s: &str, i: usize) -> &str {
    s.get(i..).unwrap_or("")
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
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
        Params(iter.into_iter().collect())
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
    fn set_replaces_in_place() {
        let mut p = Params::parse_header(&mut Cursor::new(";a=1;b")).unwrap();
        p.set("B", Some("2"));
        p.set("c", None::<&str>);
        assert_eq!(p.to_string(), ";a=1;B=2;c");
    }
}
