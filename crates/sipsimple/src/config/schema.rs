//! What settings exist: typed settings with defaults, in nested groups.
//!
//! A schema is data, not Rust structs, so an application can extend the
//! SDK's settings objects with its own groups and settings (the spec's
//! SettingsObjectExtension) and every setting is addressed the same way,
//! by its dotted path (`audio.sample_rate`).

use std::fmt;

/// A setting's value, as stored in the TOML file.
pub type Value = toml::Value;

/// The type of a setting; assignment checks the value against it.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bool,
    /// An integer within the bounds, inclusive.
    Integer {
        min: i64,
        max: i64,
    },
    /// Any string; `non_empty` refuses "".
    Text {
        non_empty: bool,
    },
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A list whose items are all of one kind.
    List(Box<Kind>),
}

impl Kind {
    pub const PORT: Kind = Kind::Integer { min: 0, max: 65535 };

    fn check(&self, value: &Value) -> Result<(), String> {
        match (self, value) {
            (Kind::Bool, Value::Boolean(_)) => Ok(()),
            (Kind::Integer { min, max }, Value::Integer(i)) => {
                if i < min || i > max {
                    Err(format!("{i} is outside {min}..={max}"))
                } else {
                    Ok(())
                }
            }
            (Kind::Text { non_empty }, Value::String(s)) => {
                if *non_empty && s.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(())
                }
            }
            (Kind::Choice(options), Value::String(s)) => {
                if options.contains(&s.as_str()) {
                    Ok(())
                } else {
                    Err(format!("{s:?} is not one of {}", options.join(", ")))
                }
            }
            (Kind::List(item), Value::Array(items)) => {
                for (n, v) in items.iter().enumerate() {
                    item.check(v).map_err(|e| format!("item {}: {e}", n + 1))?;
                }
                Ok(())
            }
            (kind, other) => Err(format!("expected {kind}, got {}", other.type_str())),
        }
    }
}

impl Kind {
    /// A value as a person types it (command line, text field): `yes`/
    /// `no` for booleans, digits for integers, text as is, lists as
    /// comma-separated items (empty text: empty list).
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        match self {
            Kind::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Value::Boolean(true)),
                "false" | "no" | "off" | "0" => Ok(Value::Boolean(false)),
                _ => Err(format!("{text:?} is not a boolean (yes or no)")),
            },
            Kind::Integer { .. } => text
                .trim()
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("{text:?} is not an integer")),
            Kind::Text { .. } | Kind::Choice(_) => Ok(Value::String(text.to_owned())),
            Kind::List(item) => {
                if text.trim().is_empty() {
                    return Ok(Value::Array(Vec::new()));
                }
                text.split(',')
                    .map(|t| item.parse_text(t.trim()))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
        }
    }
}

/// A value for people: TOML syntax, `nil` when unset.
pub fn display(value: Option<&Value>) -> String {
    match value {
        None => "nil".into(),
        Some(v) => v.to_string(),
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Bool => f.write_str("a boolean"),
            Kind::Integer { min, max } => write!(f, "an integer in {min}..={max}"),
            Kind::Text { .. } => f.write_str("a string"),
            Kind::Choice(options) => write!(f, "one of {}", options.join(", ")),
            Kind::List(item) => write!(f, "a list of {item}"),
        }
    }
}

/// An extra check beyond the kind (e.g. "a SIP URI"); returns why not.
pub type Validator = fn(&Value) -> Result<(), String>;

/// One setting: name, type, default, whether it may be unset (nil).
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    /// `None` only for nillable settings: nil is their default, so an
    /// explicit nil never needs storing (TOML has no null).
    pub default: Option<Value>,
    pub nillable: bool,
    pub validator: Option<Validator>,
    /// One line for `sip settings show` and docs/CONFIGURATION.md.
    pub doc: &'static str,
    /// A password or key: its values never leave the configuration in a
    /// notification (CFGSettingsObjectDidChange says only that it changed).
    pub secret: bool,
}

impl Setting {
    /// A setting that always has a value, `default` unless assigned.
    pub fn new(
        name: &'static str,
        kind: Kind,
        default: impl Into<Value>,
        doc: &'static str,
    ) -> Self {
        Setting {
            name,
            kind,
            default: Some(default.into()),
            nillable: false,
            validator: None,
            secret: false,
            doc,
        }
    }

    /// A setting that may be unset, and is unset by default.
    pub fn nillable(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Setting {
            name,
            kind,
            default: None,
            nillable: true,
            validator: None,
            secret: false,
            doc,
        }
    }

    /// Marks the setting as a secret (see [`Setting::secret`]).
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    pub fn validated_by(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Reads and checks a value typed by a person (see `Kind::parse_text`).
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        let v = self.kind.parse_text(text)?;
        self.check(Some(&v))?;
        Ok(v)
    }

    /// Whether `value` may be assigned; the reason if not.
    pub fn check(&self, value: Option<&Value>) -> Result<(), String> {
        match value {
            None if self.nillable => Ok(()),
            None => Err("may not be unset".into()),
            Some(v) => {
                self.kind.check(v)?;
                match self.validator {
                    Some(validate) => validate(v),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A named group of settings and subgroups; the root group of a settings
/// object has an empty name.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: &'static str,
    pub settings: Vec<Setting>,
    pub groups: Vec<Group>,
}

impl Group {
    pub fn new(name: &'static str) -> Self {
        Group {
            name,
            ..Group::default()
        }
    }

    pub fn setting(mut self, setting: Setting) -> Self {
        self.settings.push(setting);
        self
    }

    pub fn group(mut self, group: Group) -> Self {
        self.groups.push(group);
        self
    }

    /// Adds an application's settings and groups (SettingsObjectExtension):
    /// groups of the same name merge; a setting that already exists is
    /// replaced, so an application may change a default.
    pub fn extend(&mut self, extension: Group) {
        for s in extension.settings {
            match self.settings.iter_mut().find(|x| x.name == s.name) {
                Some(existing) => *existing = s,
                None => self.settings.push(s),
            }
        }
        for g in extension.groups {
            match self.groups.iter_mut().find(|x| x.name == g.name) {
                Some(existing) => existing.extend(g),
                None => self.groups.push(g),
            }
        }
    }

    /// The setting at a dotted path.
    pub fn find(&self, path: &str) -> Option<&Setting> {
        match path.split_once('.') {
            Some((group, rest)) => self
                .groups
                .iter()
                .find(|g| g.name == group)
                .and_then(|g| g.find(rest)),
            None => self.settings.iter().find(|s| s.name == path),
        }
    }

    /// Every setting with its dotted path, groups after settings, in
    /// declaration order.
    pub fn walk(&self) -> Vec<(String, &Setting)> {
        let mut out = Vec::new();
        self.walk_into("", &mut out);
        out
    }

    fn walk_into<'a>(&'a self, prefix: &str, out: &mut Vec<(String, &'a Setting)>) {
        for s in &self.settings {
            out.push((format!("{prefix}{}", s.name), s));
        }
        for g in &self.groups {
            g.walk_into(&format!("{prefix}{}.", g.name), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_check_type_bounds_and_items() {
        assert!(Kind::PORT.check(&Value::Integer(5060)).is_ok());
        assert!(Kind::PORT.check(&Value::Integer(65536)).is_err());
        assert!(Kind::PORT.check(&Value::String("5060".into())).is_err());
        let codecs = Kind::List(Box::new(Kind::Choice(&["opus", "PCMU"])));
        assert!(codecs
            .check(&Value::Array(vec!["opus".into(), "PCMU".into()]))
            .is_ok());
        let e = codecs
            .check(&Value::Array(vec!["opus".into(), "G729".into()]))
            .unwrap_err();
        assert!(e.starts_with("item 2:"), "{e}");
        assert!(Kind::Text { non_empty: true }
            .check(&Value::String(String::new()))
            .is_err());
    }

    #[test]
    fn text_typed_by_people_is_read_by_kind() {
        assert_eq!(Kind::Bool.parse_text(" Yes"), Ok(Value::Boolean(true)));
        assert!(Kind::Bool.parse_text("maybe").is_err());
        assert_eq!(Kind::PORT.parse_text("5060"), Ok(Value::Integer(5060)));
        assert!(Kind::PORT.parse_text("50x").is_err());
        let l = Kind::List(Box::new(Kind::PORT));
        assert_eq!(
            l.parse_text("1, 2"),
            Ok(Value::Array(vec![Value::Integer(1), Value::Integer(2)]))
        );
        assert_eq!(l.parse_text(""), Ok(Value::Array(vec![])));
        let s = Setting::new("p", Kind::PORT, 0, "");
        assert!(s.parse_text("70000").is_err(), "the kind's bounds apply");
        assert_eq!(display(None), "nil");
        assert_eq!(display(Some(&Value::String("a".into()))), "\"a\"");
    }

    #[test]
    fn extension_merges_groups_and_replaces_settings() {
        let mut root = Group::new("")
            .setting(Setting::new("a", Kind::Bool, true, ""))
            .group(Group::new("g").setting(Setting::new("x", Kind::Bool, false, "")));
        root.extend(
            Group::new("")
                .setting(Setting::new("a", Kind::Bool, false, ""))
                .group(Group::new("g").setting(Setting::new("y", Kind::Bool, true, ""))),
        );
        let paths: Vec<_> = root.walk().into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["a", "g.x", "g.y"]);
        assert_eq!(root.find("a").unwrap().default, Some(Value::Boolean(false)));
        assert!(root.find("g.z").is_none());
        assert!(root.find("nope.x").is_none());
    }
}
