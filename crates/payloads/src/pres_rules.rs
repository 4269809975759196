//! Presence authorization rules (RFC 5025, `application/auth-policy+xml`)
//! on the common-policy framework (RFC 4745): the document a presentity
//! keeps on an XCAP server (RFC 4825, application usage `pres-rules`) and
//! the presence server consults to decide who may watch.
//!
//! A [`Ruleset`] holds rules; a [`Rule`] has conditions (here: identities,
//! one URI or a whole domain with exceptions), actions (here:
//! `sub-handling`, RFC 5025 §3.2.1) and transformations (what a permitted
//! watcher sees, RFC 5025 §3.3; kept as elements, with a constructor for
//! "everything"). Conditions, actions and transformations of other kinds,
//! and extension elements anywhere else, are kept as [`XmlElement`]s so a
//! document written by another client survives our read-modify-write.
//!
//! Combining (RFC 4745 §10): every rule whose conditions match applies;
//! for `sub-handling` the most permissive value wins (block < confirm <
//! polite-block < allow). So [`Ruleset::set_sub_handling`] first removes
//! the watcher's own identity from every rule, then adds it to one rule
//! for the wanted value: a deny is not outvoted by an earlier allow of the
//! same URI. A rule granting a whole domain (`many`) still wins over a
//! deny of one URI of that domain; that is the RFC's rule, reported by
//! [`Ruleset::sub_handling_for`].

use crate::xml::{expect_root, XmlElement, XmlError, XmlLimits};

/// The common-policy namespace (RFC 4745): ruleset, rule, conditions,
/// actions, transformations, identity.
pub const COMMON_POLICY_NS: &str = "urn:ietf:params:xml:ns:common-policy";
/// The pres-rules namespace (RFC 5025): sub-handling and the provide-*
/// transformations.
pub const PRES_RULES_NS: &str = "urn:ietf:params:xml:ns:pres-rules";
/// The MIME type of the document (RFC 5025 §9.1).
pub const CONTENT_TYPE: &str = "application/auth-policy+xml";
/// The XCAP application usage (RFC 5025 §9).
pub const AUID: &str = "pres-rules";

/// Why a pres-rules document was refused.
pub type PresRulesError = XmlError;

/// What happens to a watcher's subscription (RFC 5025 §3.2.1), in the
/// order of RFC 4745 §10's combining: a later variant is more permissive
/// and wins when several rules match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubHandling {
    /// The subscription is rejected (terminated, reason `rejected`).
    Block,
    /// The subscription stays pending until the presentity decides
    /// (watcher info tells it someone is waiting).
    Confirm,
    /// The subscription is accepted but the watcher sees the presentity
    /// as unavailable (one closed service), so it cannot tell it was
    /// blocked.
    PoliteBlock,
    /// The subscription is accepted and the watcher sees what the
    /// transformations permit.
    Allow,
}

impl SubHandling {
    pub fn as_str(self) -> &'static str {
        match self {
            SubHandling::Block => "block",
            SubHandling::Confirm => "confirm",
            SubHandling::PoliteBlock => "polite-block",
            SubHandling::Allow => "allow",
        }
    }

    pub fn parse(text: &str) -> Option<SubHandling> {
        Some(match text.trim() {
            "block" => SubHandling::Block,
            "confirm" => SubHandling::Confirm,
            "polite-block" => SubHandling::PoliteBlock,
            "allow" => SubHandling::Allow,
            _ => return None,
        })
    }
}

/// `<one id="URI"/>`: a single identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct One {
    pub id: String,
    pub extensions: Vec<XmlElement>,
}

/// An exception of `<many>`: a domain or one identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Except {
    Domain(String),
    Id(String),
}

/// `<many>`: every authenticated identity, or every one of `domain`, but
/// the exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Many {
    pub domain: Option<String>,
    pub excepts: Vec<Except>,
    pub extensions: Vec<XmlElement>,
}

/// `<conditions>`: the rule applies when all present conditions match.
/// `identity: None` means no identity condition: every watcher matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Conditions {
    /// `<identity>`: matches when any `one` or `many` matches.
    pub identity: Option<Identity>,
    /// Other conditions (sphere, validity, extensions), kept as read.
    pub other: Vec<XmlElement>,
}

/// `<identity>`'s `one` and `many` children, in their order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Identity {
    pub ones: Vec<One>,
    pub manies: Vec<Many>,
    pub extensions: Vec<XmlElement>,
}

/// `<actions>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Actions {
    pub sub_handling: Option<SubHandling>,
    /// Other actions, kept as read.
    pub other: Vec<XmlElement>,
}

/// One `<rule id="...">`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub id: String,
    pub conditions: Conditions,
    pub actions: Actions,
    /// `<transformations>`' children (provide-services, provide-persons,
    /// ...), kept as elements; `None` when the rule has none.
    pub transformations: Option<Vec<XmlElement>>,
}

/// The whole document: `<ruleset>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ruleset {
    pub rules: Vec<Rule>,
}

/// Compares identities the way the presence server must (RFC 3261 §19.1.4
/// in short): scheme and host case-insensitively, the user part exactly;
/// a missing `sip:` is the same as `sip:`. Parameters are not compared
/// (identities carry none).
fn same_identity(a: &str, b: &str) -> bool {
    fn split(u: &str) -> (String, &str, String) {
        let u = u.trim();
        let (scheme, rest) = match u.split_once(':') {
            Some((s, r)) if !s.contains('@') => (s.to_ascii_lowercase(), r),
            _ => ("sip".to_owned(), u),
        };
        match rest.rsplit_once('@') {
            Some((user, host)) => (scheme, user, host.to_ascii_lowercase()),
            None => (scheme, "", rest.to_ascii_lowercase()),
        }
    }
    split(a) == split(b)
}

fn domain_of(uri: &str) -> Option<String> {
    uri.rsplit_once('@').map(|(_, h)| {
        // Drop a port or parameters after the host.
        let h = h.split([';', '>', '?']).next().unwrap_or(h);
        h.split(':').next().unwrap_or(h).to_ascii_lowercase()
    })
}

impl Many {
    fn matches(&self, uri: &str) -> bool {
        let domain = domain_of(uri);
        let in_domain = match &self.domain {
            Some(d) => domain.as_deref() == Some(d.to_ascii_lowercase().as_str()),
            None => true,
        };
        in_domain
            && !self.excepts.iter().any(|e| match e {
                Except::Domain(d) => domain.as_deref() == Some(d.to_ascii_lowercase().as_str()),
                Except::Id(id) => same_identity(id, uri),
            })
    }
}

impl Identity {
    fn matches(&self, uri: &str) -> bool {
        self.ones.iter().any(|o| same_identity(&o.id, uri))
            || self.manies.iter().any(|m| m.matches(uri))
    }
}

impl Rule {
    /// A rule for `sub_handling` of the identities `ids`, giving allowed
    /// watchers everything (RFC 5025 §3.3: without provide-* a permitted
    /// watcher would see nothing of the document).
    pub fn for_identities(id: &str, sub_handling: SubHandling, ids: &[&str]) -> Rule {
        Rule {
            id: id.to_owned(),
            conditions: Conditions {
                identity: Some(Identity {
                    ones: ids
                        .iter()
                        .map(|i| One {
                            id: (*i).to_owned(),
                            extensions: Vec::new(),
                        })
                        .collect(),
                    ..Identity::default()
                }),
                other: Vec::new(),
            },
            actions: Actions {
                sub_handling: Some(sub_handling),
                other: Vec::new(),
            },
            transformations: (sub_handling == SubHandling::Allow).then(provide_all),
        }
    }

    /// Whether the rule's conditions match watcher `uri`, judging only
    /// the identity condition (sphere and validity are the server's: a
    /// rule with other conditions is taken to match).
    pub fn matches(&self, uri: &str) -> bool {
        self.conditions
            .identity
            .as_ref()
            .is_none_or(|i| i.matches(uri))
    }

    fn read(el: &XmlElement) -> Result<Rule, XmlError> {
        let id = el
            .attr("id")
            .ok_or(XmlError::Missing("rule id"))?
            .to_owned();
        let mut rule = Rule {
            id,
            conditions: Conditions::default(),
            actions: Actions::default(),
            transformations: None,
        };
        let (mut conditions, mut actions) = (false, false);
        for part in el.elements() {
            if part.ns != COMMON_POLICY_NS {
                // The schema allows nothing else in a rule: ignored.
                continue;
            }
            match part.name.as_str() {
                "conditions" => {
                    if std::mem::replace(&mut conditions, true) {
                        return Err(XmlError::Repeated("conditions"));
                    }
                    rule.conditions = read_conditions(part)?;
                }
                "actions" => {
                    if std::mem::replace(&mut actions, true) {
                        return Err(XmlError::Repeated("actions"));
                    }
                    rule.actions = read_actions(part)?;
                }
                "transformations" => {
                    if rule.transformations.is_some() {
                        return Err(XmlError::Repeated("transformations"));
                    }
                    rule.transformations = Some(part.elements().cloned().collect());
                }
                _ => {}
            }
        }
        Ok(rule)
    }

    fn to_element(&self) -> XmlElement {
        let cp = COMMON_POLICY_NS;
        let mut rule = XmlElement::new(cp, "rule").with_attr("id", &self.id);
        let mut conditions = XmlElement::new(cp, "conditions");
        if let Some(identity) = &self.conditions.identity {
            let mut el = XmlElement::new(cp, "identity");
            for one in &identity.ones {
                let mut o = XmlElement::new(cp, "one").with_attr("id", &one.id);
                for x in &one.extensions {
                    o = o.with_child(x.clone());
                }
                el = el.with_child(o);
            }
            for many in &identity.manies {
                let mut m = XmlElement::new(cp, "many");
                if let Some(d) = &many.domain {
                    m = m.with_attr("domain", d);
                }
                for e in &many.excepts {
                    let (name, value) = match e {
                        Except::Domain(d) => ("domain", d),
                        Except::Id(i) => ("id", i),
                    };
                    m = m.with_child(XmlElement::new(cp, "except").with_attr(name, value));
                }
                for x in &many.extensions {
                    m = m.with_child(x.clone());
                }
                el = el.with_child(m);
            }
            for x in &identity.extensions {
                el = el.with_child(x.clone());
            }
            conditions = conditions.with_child(el);
        }
        for x in &self.conditions.other {
            conditions = conditions.with_child(x.clone());
        }
        rule = rule.with_child(conditions);
        let mut actions = XmlElement::new(cp, "actions");
        if let Some(s) = self.actions.sub_handling {
            actions = actions
                .with_child(XmlElement::new(PRES_RULES_NS, "sub-handling").with_text(s.as_str()));
        }
        for x in &self.actions.other {
            actions = actions.with_child(x.clone());
        }
        rule = rule.with_child(actions);
        if let Some(t) = &self.transformations {
            let mut el = XmlElement::new(cp, "transformations");
            for x in t {
                el = el.with_child(x.clone());
            }
            rule = rule.with_child(el);
        }
        rule
    }
}

/// The transformations that let a watcher see the whole document: every
/// service, person and device with all their attributes (RFC 5025
/// §3.3.1-§3.3.4).
pub fn provide_all() -> Vec<XmlElement> {
    let pr = PRES_RULES_NS;
    vec![
        XmlElement::new(pr, "provide-services").with_child(XmlElement::new(pr, "all-services")),
        XmlElement::new(pr, "provide-persons").with_child(XmlElement::new(pr, "all-persons")),
        XmlElement::new(pr, "provide-devices").with_child(XmlElement::new(pr, "all-devices")),
        XmlElement::new(pr, "provide-all-attributes"),
    ]
}

fn read_conditions(el: &XmlElement) -> Result<Conditions, XmlError> {
    let mut c = Conditions::default();
    for part in el.elements() {
        if !part.is(COMMON_POLICY_NS, "identity") {
            c.other.push(part.clone());
            continue;
        }
        if c.identity.is_some() {
            return Err(XmlError::Repeated("identity"));
        }
        let mut identity = Identity::default();
        for child in part.elements() {
            if child.is(COMMON_POLICY_NS, "one") {
                identity.ones.push(One {
                    id: child
                        .attr("id")
                        .ok_or(XmlError::Missing("one id"))?
                        .to_owned(),
                    extensions: child.elements().cloned().collect(),
                });
            } else if child.is(COMMON_POLICY_NS, "many") {
                let mut many = Many {
                    domain: child.attr("domain").map(str::to_owned),
                    ..Many::default()
                };
                for e in child.elements() {
                    if !e.is(COMMON_POLICY_NS, "except") {
                        many.extensions.push(e.clone());
                    } else if let Some(d) = e.attr("domain") {
                        many.excepts.push(Except::Domain(d.to_owned()));
                    } else if let Some(i) = e.attr("id") {
                        many.excepts.push(Except::Id(i.to_owned()));
                    } else {
                        return Err(XmlError::Missing("except domain or id"));
                    }
                }
                identity.manies.push(many);
            } else {
                identity.extensions.push(child.clone());
            }
        }
        c.identity = Some(identity);
    }
    Ok(c)
}

fn read_actions(el: &XmlElement) -> Result<Actions, XmlError> {
    let mut a = Actions::default();
    for part in el.elements() {
        if !part.is(PRES_RULES_NS, "sub-handling") {
            a.other.push(part.clone());
            continue;
        }
        if a.sub_handling.is_some() {
            return Err(XmlError::Repeated("sub-handling"));
        }
        let text = part.text();
        a.sub_handling = Some(
            SubHandling::parse(&text).ok_or_else(|| XmlError::malformed("sub-handling", &text))?,
        );
    }
    Ok(a)
}

impl Ruleset {
    /// An empty ruleset: with no rule matching, RFC 5025 §3.2.1 leaves
    /// every watcher to the server's default (usually `confirm`).
    pub fn new() -> Ruleset {
        Ruleset::default()
    }

    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<Ruleset, PresRulesError> {
        Ruleset::from_element(&XmlElement::parse(input, limits)?)
    }

    pub fn from_element(root: &XmlElement) -> Result<Ruleset, PresRulesError> {
        expect_root(root, COMMON_POLICY_NS, "ruleset", "common-policy ruleset")?;
        let mut set = Ruleset::default();
        for el in root.elements() {
            if el.is(COMMON_POLICY_NS, "rule") {
                let rule = Rule::read(el)?;
                // RFC 4745 §7: rule ids are unique in the document.
                if set.rules.iter().any(|r| r.id == rule.id) {
                    return Err(XmlError::Repeated("rule id"));
                }
                set.rules.push(rule);
            }
        }
        Ok(set)
    }

    pub fn to_element(&self) -> XmlElement {
        let mut root = XmlElement::new(COMMON_POLICY_NS, "ruleset");
        for r in &self.rules {
            root = root.with_child(r.to_element());
        }
        root
    }

    /// The document, with the `cr:` and `pr:` prefixes of RFC 5025's
    /// examples.
    pub fn to_xml(&self) -> String {
        self.to_element()
            .to_document_with_prefixes(&[(COMMON_POLICY_NS, "cr"), (PRES_RULES_NS, "pr")])
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The sub-handling the rules give watcher `uri` by RFC 4745 §10's
    /// combining (the most permissive of the matching rules), or `None`
    /// when no matching rule says (the server's default applies).
    pub fn sub_handling_for(&self, uri: &str) -> Option<SubHandling> {
        self.rules
            .iter()
            .filter(|r| r.matches(uri))
            .filter_map(|r| r.actions.sub_handling)
            .max()
    }

    /// Whether some rule names `uri` itself in a `one`.
    pub fn names(&self, uri: &str) -> bool {
        self.rules.iter().any(|r| {
            r.conditions
                .identity
                .as_ref()
                .is_some_and(|i| i.ones.iter().any(|o| same_identity(&o.id, uri)))
        })
    }

    /// Removes `uri`'s `one` from every rule. A rule left with an empty
    /// identity condition is removed whole: without any `one` or `many`
    /// it would otherwise match nobody by the schema, or everybody to a
    /// lenient server.
    pub fn remove_identity(&mut self, uri: &str) {
        self.rules.retain_mut(|r| {
            let Some(identity) = r.conditions.identity.as_mut() else {
                return true;
            };
            let before = identity.ones.len();
            identity.ones.retain(|o| !same_identity(&o.id, uri));
            let emptied = identity.ones.is_empty() && identity.manies.is_empty();
            !(emptied && before > 0)
        });
    }

    /// Makes `uri`'s own sub-handling `value`: its `one` is taken out of
    /// every rule and put into the rule `{prefix}_{value}` (made when
    /// missing, with [`provide_all`] for allow).
    pub fn set_sub_handling(&mut self, prefix: &str, uri: &str, value: SubHandling) {
        self.remove_identity(uri);
        let id = format!("{prefix}_{}", value.as_str().replace('-', "_"));
        match self.rules.iter_mut().find(|r| r.id == id) {
            Some(rule) => {
                let identity = rule
                    .conditions
                    .identity
                    .get_or_insert_with(Identity::default);
                identity.ones.push(One {
                    id: uri.to_owned(),
                    extensions: Vec::new(),
                });
                rule.actions.sub_handling = Some(value);
            }
            None => self.rules.push(Rule::for_identities(&id, value, &[uri])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_takes_the_most_permissive_matching_rule() {
        let mut set = Ruleset::new();
        set.rules.push(Rule {
            id: "domain".into(),
            conditions: Conditions {
                identity: Some(Identity {
                    manies: vec![Many {
                        domain: Some("example.com".into()),
                        excepts: vec![Except::Id("sip:eve@example.com".into())],
                        extensions: vec![],
                    }],
                    ..Identity::default()
                }),
                other: vec![],
            },
            actions: Actions {
                sub_handling: Some(SubHandling::Confirm),
                other: vec![],
            },
            transformations: None,
        });
        set.set_sub_handling("t", "sip:bob@example.com", SubHandling::Allow);
        assert_eq!(
            set.sub_handling_for("sip:bob@EXAMPLE.com"),
            Some(SubHandling::Allow)
        );
        assert_eq!(
            set.sub_handling_for("sip:carol@example.com"),
            Some(SubHandling::Confirm)
        );
        assert_eq!(set.sub_handling_for("sip:eve@example.com"), None);
        assert_eq!(set.sub_handling_for("sip:x@other.org"), None);
        // Denying bob takes him out of the allow rule (emptied: removed).
        set.set_sub_handling("t", "sip:bob@example.com", SubHandling::Block);
        assert!(set.rule("t_allow").is_none());
        // The domain's confirm outranks block (RFC 4745 §10).
        assert_eq!(
            set.sub_handling_for("sip:bob@example.com"),
            Some(SubHandling::Confirm)
        );
        set.set_sub_handling("t", "sip:eve@example.com", SubHandling::PoliteBlock);
        assert_eq!(
            set.sub_handling_for("eve@example.com"),
            Some(SubHandling::PoliteBlock)
        );
    }

    #[test]
    fn prints_and_reads_back() {
        let mut set = Ruleset::new();
        set.set_sub_handling("s", "sip:a@b.c", SubHandling::Allow);
        set.set_sub_handling("s", "sip:d@b.c", SubHandling::Allow);
        set.set_sub_handling("s", "sip:e@b.c", SubHandling::PoliteBlock);
        let text = set.to_xml();
        assert!(text.contains("<cr:ruleset"), "{text}");
        assert!(
            text.contains("<pr:sub-handling>polite-block</pr:sub-handling>"),
            "{text}"
        );
        let back = Ruleset::parse(text.as_bytes(), &XmlLimits::default()).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            back.rule("s_allow").unwrap().transformations,
            Some(provide_all())
        );
    }
}
