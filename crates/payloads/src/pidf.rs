//! Presence documents (`application/pidf+xml`): the Presence Information
//! Data Format of RFC 3863, read through the data model of RFC 4479
//! (persons, devices and tuples as services) with the rich presence
//! extensions of RFC 4480 (RPID: activities, mood, place type, privacy,
//! sphere, time offset, user input, class).
//!
//! What is typed: every element those three RFCs define that a client acts
//! on. What is kept untyped: every other element, of any namespace (caps,
//! cipid, civic location, RPID's `place-is`, `relationship`,
//! `service-class` and `status-icon`, ...), as an [`XmlElement`] in the
//! `extensions` of the element it was found in, printed back in the
//! schema's place for extensions. A presence agent composes documents from
//! several sources, so what it does not understand it must pass on
//! (RFC 3863 §4.1.1, RFC 4479 §4).
//!
//! Printing puts every child in the schema's order: what is read back is
//! the same value, though not always the same order of siblings as the
//! input had (extensions are printed after the typed elements of their
//! parent). A value built by hand reads back the same as long as its
//! extensions are elements this module does not type (an extension named
//! `{pidf}tuple` would read back as a tuple) and its texts are trimmed.

use crate::xml::{expect_root, XmlAttribute, XmlElement, XmlError, XmlLimits, XmlNode, XML_NS};
use crate::DateTime;
use std::fmt;

/// The PIDF namespace (RFC 3863).
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:pidf";
/// The data model namespace of persons and devices (RFC 4479).
pub const DM_NAMESPACE: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// The RPID namespace (RFC 4480).
pub const RPID_NAMESPACE: &str = "urn:ietf:params:xml:ns:pidf:rpid";
/// The namespace of the location types `place-type` carries (RFC 4589).
pub const LOCATION_TYPE_NAMESPACE: &str = "urn:ietf:params:xml:ns:location-type";
/// The MIME type of the document.
pub const CONTENT_TYPE: &str = "application/pidf+xml";

/// Why a presence document was refused: the bounded reader's faults and the
/// typed view's (a missing entity or tuple id, a bad timestamp, a basic
/// status other than open or closed, ...).
pub type PidfError = XmlError;

/// A human-readable note, in the language of `xml:lang` if given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Note {
    /// The text, trimmed.
    pub text: String,
    pub lang: Option<String>,
}

impl Note {
    pub fn new(text: &str) -> Note {
        Note {
            text: text.to_owned(),
            lang: None,
        }
    }

    pub fn with_lang(text: &str, lang: &str) -> Note {
        Note {
            text: text.to_owned(),
            lang: Some(lang.to_owned()),
        }
    }

    pub(crate) fn read(el: &XmlElement) -> Note {
        Note {
            text: el.text().trim().to_owned(),
            lang: el.attr_ns(XML_NS, "lang").map(str::to_owned),
        }
    }

    pub(crate) fn to_element(&self, ns: &str, name: &str) -> XmlElement {
        let mut el = XmlElement::new(ns, name).with_text(&self.text);
        if let Some(lang) = &self.lang {
            el.attributes.push(XmlAttribute {
                ns: XML_NS.to_owned(),
                name: "lang".to_owned(),
                value: lang.clone(),
            });
        }
        el
    }
}

/// `<basic>`: whether the service accepts communication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basic {
    Open,
    Closed,
}

impl Basic {
    pub fn as_str(self) -> &'static str {
        match self {
            Basic::Open => "open",
            Basic::Closed => "closed",
        }
    }

    fn parse(text: &str) -> Result<Basic, XmlError> {
        match text {
            "open" => Ok(Basic::Open),
            "closed" => Ok(Basic::Closed),
            other => Err(XmlError::malformed("basic (open or closed)", other)),
        }
    }
}

/// A tuple's `<status>`: the basic status, and the status extensions of
/// other namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Status {
    /// Optional in the schema: a status may carry only extensions.
    pub basic: Option<Basic>,
    pub extensions: Vec<XmlElement>,
}

/// A contact priority, `0` to `1` in steps of a thousandth (RFC 3863
/// §4.1.5, the SIP q-value), kept in thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Priority(u16);

impl Priority {
    /// The priority `n / 1000`, if `n` is at most 1000.
    pub fn from_thousandths(n: u16) -> Option<Priority> {
        (n <= 1000).then_some(Priority(n))
    }

    pub fn thousandths(self) -> u16 {
        self.0
    }

    /// Reads an `xs:decimal` from 0 to 1 with at most three significant
    /// fraction digits (`1`, `0.8`, `.65`, `+0.500`).
    pub fn parse(text: &str) -> Option<Priority> {
        let t = text.trim();
        let t = t.strip_prefix('+').unwrap_or(t);
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 3 {
            return None;
        }
        let whole: u16 = match int.trim_start_matches('0') {
            "" => 0,
            "1" => 1,
            _ => return None,
        };
        let mut thousandths = 0u16;
        for (i, b) in frac.bytes().enumerate() {
            let scale = [100u16, 10, 1].get(i).copied().unwrap_or(0);
            thousandths += u16::from(b - b'0') * scale;
        }
        Priority::from_thousandths(whole * 1000 + thousandths)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1000 {
            return f.write_str("1");
        }
        let frac = format!("{:03}", self.0);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            f.write_str("0")
        } else {
            write!(f, "0.{frac}")
        }
    }
}

/// A tuple's `<contact>`: the URI to reach the service at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Contact {
    pub uri: String,
    pub priority: Option<Priority>,
}

/// The attributes that qualify an RPID element: its id and the interval it
/// is valid in (RFC 4480 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Validity {
    pub id: Option<String>,
    pub from: Option<DateTime>,
    pub until: Option<DateTime>,
}

impl Validity {
    fn read(el: &XmlElement) -> Result<Validity, XmlError> {
        Ok(Validity {
            id: el.attr("id").map(str::to_owned),
            from: datetime_attr(el, "from")?,
            until: datetime_attr(el, "until")?,
        })
    }

    fn write(&self, el: XmlElement) -> XmlElement {
        let mut el = el;
        if let Some(id) = &self.id {
            el = el.with_attr("id", id);
        }
        if let Some(t) = &self.from {
            el = el.with_attr("from", &t.to_string());
        }
        if let Some(t) = &self.until {
            el = el.with_attr("until", &t.to_string());
        }
        el
    }
}

fn datetime_attr(el: &XmlElement, name: &'static str) -> Result<Option<DateTime>, XmlError> {
    el.attr(name)
        .map(|t| DateTime::parse(t).map_err(|_| XmlError::malformed(name, t)))
        .transpose()
}

fn datetime_text(el: &XmlElement, what: &'static str) -> Result<DateTime, XmlError> {
    let t = el.text();
    DateTime::parse(t.trim()).map_err(|_| XmlError::malformed(what, &t))
}

/// A value of an enumerated RPID element (activities, mood, privacy, place
/// type) that this crate can name.
pub trait Token: Sized {
    /// The value an element stands for: only an element with no attributes
    /// and no content, so that printing it back loses nothing.
    fn from_element(el: &XmlElement) -> Option<Self>;
    fn to_element(&self) -> XmlElement;
}

macro_rules! tokens {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            /// Every value, in the RFC's order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The element's local name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl Token for $name {
            fn from_element(el: &XmlElement) -> Option<$name> {
                if el.ns == RPID_NAMESPACE && el.attributes.is_empty() && el.children.is_empty() {
                    $name::from_name(&el.name)
                } else {
                    None
                }
            }

            fn to_element(&self) -> XmlElement {
                XmlElement::new(RPID_NAMESPACE, self.name())
            }
        }
    };
}

tokens! {
    /// What the person is doing (RFC 4480 §3.2).
    Activity {
        Appointment = "appointment",
        Away = "away",
        Breakfast = "breakfast",
        Busy = "busy",
        Dinner = "dinner",
        Holiday = "holiday",
        InTransit = "in-transit",
        LookingForWork = "looking-for-work",
        Meal = "meal",
        Meeting = "meeting",
        OnThePhone = "on-the-phone",
        Performance = "performance",
        PermanentAbsence = "permanent-absence",
        Playing = "playing",
        Presentation = "presentation",
        Shopping = "shopping",
        Sleeping = "sleeping",
        Spectator = "spectator",
        Steering = "steering",
        Travel = "travel",
        Tv = "tv",
        Unknown = "unknown",
        Vacation = "vacation",
        Working = "working",
        Worship = "worship",
    }
}

tokens! {
    /// The person's mood (RFC 4480 §3.7).
    MoodValue {
        Afraid = "afraid",
        Amazed = "amazed",
        Angry = "angry",
        Annoyed = "annoyed",
        Anxious = "anxious",
        Ashamed = "ashamed",
        Bored = "bored",
        Brave = "brave",
        Calm = "calm",
        Cold = "cold",
        Confused = "confused",
        Contented = "contented",
        Cranky = "cranky",
        Curious = "curious",
        Depressed = "depressed",
        Disappointed = "disappointed",
        Disgusted = "disgusted",
        Distracted = "distracted",
        Embarrassed = "embarrassed",
        Excited = "excited",
        Flirtatious = "flirtatious",
        Frustrated = "frustrated",
        Grumpy = "grumpy",
        Guilty = "guilty",
        Happy = "happy",
        Hot = "hot",
        Humbled = "humbled",
        Humiliated = "humiliated",
        Hungry = "hungry",
        Hurt = "hurt",
        Impressed = "impressed",
        InAwe = "in_awe",
        InLove = "in_love",
        Indignant = "indignant",
        Interested = "interested",
        Invincible = "invincible",
        Jealous = "jealous",
        Lonely = "lonely",
        Mean = "mean",
        Moody = "moody",
        Nervous = "nervous",
        Neutral = "neutral",
        Offended = "offended",
        Playful = "playful",
        Proud = "proud",
        Relieved = "relieved",
        Remorseful = "remorseful",
        Restless = "restless",
        Sad = "sad",
        Sarcastic = "sarcastic",
        Serious = "serious",
        Shocked = "shocked",
        Shy = "shy",
        Sick = "sick",
        Sleepy = "sleepy",
        Stressed = "stressed",
        Surprised = "surprised",
        Thirsty = "thirsty",
        Unknown = "unknown",
        Worried = "worried",
    }
}

tokens! {
    /// Which media the person can use without being overheard or seen
    /// (RFC 4480 §3.10).
    PrivacyValue {
        Audio = "audio",
        Text = "text",
        Video = "video",
        Unknown = "unknown",
    }
}

/// A location type of RFC 4589 (`residence`, `office`, `airport`, ...),
/// the values of `place-type`: an empty element in
/// [`LOCATION_TYPE_NAMESPACE`], kept by its local name (an XML name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocationType(pub String);

impl Token for LocationType {
    fn from_element(el: &XmlElement) -> Option<LocationType> {
        (el.ns == LOCATION_TYPE_NAMESPACE && el.attributes.is_empty() && el.children.is_empty())
            .then(|| LocationType(el.name.clone()))
    }

    fn to_element(&self) -> XmlElement {
        XmlElement::new(LOCATION_TYPE_NAMESPACE, &self.0)
    }
}

/// One value of an enumerated RPID element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value<V> {
    /// A value the RFC names.
    Known(V),
    /// `<rpid:other>`: free text for a value the list lacks.
    Other(Note),
    /// An element this crate cannot name (another namespace, attributes or
    /// content on a value element), kept as it was.
    Extension(XmlElement),
}

/// An enumerated RPID element: notes, then one or more values, valid in an
/// interval.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enumerated<V> {
    pub validity: Validity,
    /// The `<rpid:note>`s inside the element.
    pub notes: Vec<Note>,
    pub values: Vec<Value<V>>,
}

impl<V> Default for Enumerated<V> {
    fn default() -> Enumerated<V> {
        Enumerated {
            validity: Validity::default(),
            notes: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<V: Token> Enumerated<V> {
    /// The element with these values, no notes, valid at any time.
    pub fn of(values: impl IntoIterator<Item = V>) -> Enumerated<V> {
        Enumerated {
            values: values.into_iter().map(Value::Known).collect(),
            ..Enumerated::default()
        }
    }

    /// The named values, in order.
    pub fn known(&self) -> impl Iterator<Item = &V> {
        self.values.iter().filter_map(|v| match v {
            Value::Known(k) => Some(k),
            _ => None,
        })
    }

    fn read(el: &XmlElement) -> Result<Enumerated<V>, XmlError> {
        let mut out = Enumerated {
            validity: Validity::read(el)?,
            ..Enumerated::default()
        };
        for child in el.elements() {
            if child.is(RPID_NAMESPACE, "note") {
                out.notes.push(Note::read(child));
            } else if child.is(RPID_NAMESPACE, "other") {
                out.values.push(Value::Other(Note::read(child)));
            } else if let Some(v) = V::from_element(child) {
                out.values.push(Value::Known(v));
            } else {
                out.values.push(Value::Extension(child.clone()));
            }
        }
        Ok(out)
    }

    fn to_element(&self, name: &str) -> XmlElement {
        let mut el = self.validity.write(XmlElement::new(RPID_NAMESPACE, name));
        for n in &self.notes {
            el = el.with_child(n.to_element(RPID_NAMESPACE, "note"));
        }
        for v in &self.values {
            el = el.with_child(match v {
                Value::Known(k) => k.to_element(),
                Value::Other(n) => n.to_element(RPID_NAMESPACE, "other"),
                Value::Extension(e) => e.clone(),
            });
        }
        el
    }
}

/// `<rpid:activities>`.
pub type Activities = Enumerated<Activity>;
/// `<rpid:mood>`.
pub type Mood = Enumerated<MoodValue>;
/// `<rpid:privacy>`.
pub type Privacy = Enumerated<PrivacyValue>;
/// `<rpid:place-type>`.
pub type PlaceType = Enumerated<LocationType>;

/// What a `<rpid:sphere>` says: the person's current role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SphereValue {
    Work,
    Home,
    Unknown,
    /// A sphere named in free text ("bowling league").
    Text(String),
    /// An element of another namespace (or with content), kept.
    Extension(XmlElement),
}

/// `<rpid:sphere>` (RFC 4480 §3.12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sphere {
    pub validity: Validity,
    pub value: SphereValue,
}

impl Sphere {
    fn read(el: &XmlElement) -> Result<Sphere, XmlError> {
        let value = match el.elements().next() {
            Some(c)
                if c.ns == RPID_NAMESPACE && c.attributes.is_empty() && c.children.is_empty() =>
            {
                match c.name.as_str() {
                    "work" => SphereValue::Work,
                    "home" => SphereValue::Home,
                    "unknown" => SphereValue::Unknown,
                    _ => SphereValue::Extension(c.clone()),
                }
            }
            Some(c) => SphereValue::Extension(c.clone()),
            None => SphereValue::Text(el.text().trim().to_owned()),
        };
        Ok(Sphere {
            validity: Validity::read(el)?,
            value,
        })
    }

    fn to_element(&self) -> XmlElement {
        let el = self
            .validity
            .write(XmlElement::new(RPID_NAMESPACE, "sphere"));
        let token = |name: &str| XmlElement::new(RPID_NAMESPACE, name);
        match &self.value {
            SphereValue::Work => el.with_child(token("work")),
            SphereValue::Home => el.with_child(token("home")),
            SphereValue::Unknown => el.with_child(token("unknown")),
            SphereValue::Text(t) => el.with_text(t),
            SphereValue::Extension(e) => el.with_child(e.clone()),
        }
    }
}

/// `<rpid:time-offset>`: the person's local time offset from UTC
/// (RFC 4480 §3.13).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeOffset {
    pub validity: Validity,
    /// Minutes east of UTC.
    pub minutes: i32,
    /// The `description` attribute ("EST", ...).
    pub description: Option<String>,
}

impl TimeOffset {
    fn read(el: &XmlElement) -> Result<TimeOffset, XmlError> {
        let t = el.text();
        let minutes = t
            .trim()
            .parse::<i32>()
            .map_err(|_| XmlError::malformed("time-offset (minutes)", &t))?;
        Ok(TimeOffset {
            validity: Validity::read(el)?,
            minutes,
            description: el.attr("description").map(str::to_owned),
        })
    }

    fn to_element(&self) -> XmlElement {
        let mut el = self
            .validity
            .write(XmlElement::new(RPID_NAMESPACE, "time-offset"));
        if let Some(d) = &self.description {
            el = el.with_attr("description", d);
        }
        el.with_text(&self.minutes.to_string())
    }
}

/// Whether the user is using the device or service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputState {
    Active,
    Idle,
}

impl InputState {
    pub fn as_str(self) -> &'static str {
        match self {
            InputState::Active => "active",
            InputState::Idle => "idle",
        }
    }
}

/// `<rpid:user-input>` (RFC 4480 §3.15).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserInput {
    pub id: Option<String>,
    pub state: InputState,
    /// Seconds without input after which the state becomes idle.
    pub idle_threshold: Option<u32>,
    /// When the last input was.
    pub last_input: Option<DateTime>,
}

impl UserInput {
    fn read(el: &XmlElement) -> Result<UserInput, XmlError> {
        let t = el.text();
        let state = match t.trim() {
            "active" => InputState::Active,
            "idle" => InputState::Idle,
            _ => return Err(XmlError::malformed("user-input (active or idle)", &t)),
        };
        let idle_threshold = el
            .attr("idle-threshold")
            .map(|v| match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(XmlError::malformed("idle-threshold", v)),
            })
            .transpose()?;
        Ok(UserInput {
            id: el.attr("id").map(str::to_owned),
            state,
            idle_threshold,
            last_input: datetime_attr(el, "last-input")?,
        })
    }

    fn to_element(&self) -> XmlElement {
        let mut el = XmlElement::new(RPID_NAMESPACE, "user-input");
        if let Some(id) = &self.id {
            el = el.with_attr("id", id);
        }
        if let Some(n) = self.idle_threshold {
            el = el.with_attr("idle-threshold", &n.to_string());
        }
        if let Some(t) = &self.last_input {
            el = el.with_attr("last-input", &t.to_string());
        }
        el.with_text(self.state.as_str())
    }
}

/// The RPID elements of a person, device or tuple. RFC 4480 attaches most
/// of them to persons and `class` and `user-input` to any of the three;
/// they are read wherever they appear. The elements that carry a validity
/// interval may appear once per interval, so they are lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Rpid {
    pub activities: Vec<Activities>,
    pub class: Option<String>,
    pub mood: Vec<Mood>,
    pub place_type: Vec<PlaceType>,
    pub privacy: Vec<Privacy>,
    pub sphere: Vec<Sphere>,
    pub time_offset: Vec<TimeOffset>,
    pub user_input: Option<UserInput>,
}

impl Rpid {
    /// Whether no RPID element is present.
    pub fn is_empty(&self) -> bool {
        self == &Rpid::default()
    }

    /// Reads `el` into `self` if it is one of the typed RPID elements.
    fn take(&mut self, el: &XmlElement) -> Result<bool, XmlError> {
        if el.ns != RPID_NAMESPACE {
            return Ok(false);
        }
        match el.name.as_str() {
            "activities" => self.activities.push(Enumerated::read(el)?),
            "mood" => self.mood.push(Enumerated::read(el)?),
            "place-type" => self.place_type.push(Enumerated::read(el)?),
            "privacy" => self.privacy.push(Enumerated::read(el)?),
            "sphere" => self.sphere.push(Sphere::read(el)?),
            "time-offset" => self.time_offset.push(TimeOffset::read(el)?),
            "user-input" => {
                if self.user_input.is_some() {
                    return Err(XmlError::Repeated("user-input"));
                }
                self.user_input = Some(UserInput::read(el)?);
            }
            "class" => {
                if self.class.is_some() {
                    return Err(XmlError::Repeated("class"));
                }
                self.class = Some(el.text().trim().to_owned());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn write(&self, parent: &mut XmlElement) {
        let mut kids: Vec<XmlElement> = Vec::new();
        kids.extend(self.activities.iter().map(|a| a.to_element("activities")));
        if let Some(c) = &self.class {
            kids.push(XmlElement::new(RPID_NAMESPACE, "class").with_text(c));
        }
        kids.extend(self.mood.iter().map(|m| m.to_element("mood")));
        kids.extend(self.place_type.iter().map(|p| p.to_element("place-type")));
        kids.extend(self.privacy.iter().map(|p| p.to_element("privacy")));
        kids.extend(self.sphere.iter().map(Sphere::to_element));
        kids.extend(self.time_offset.iter().map(TimeOffset::to_element));
        kids.extend(self.user_input.iter().map(UserInput::to_element));
        parent
            .children
            .extend(kids.into_iter().map(XmlNode::Element));
    }
}

/// A `<tuple>`: one service of the presentity (RFC 4479 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub id: String,
    pub status: Status,
    /// `<dm:deviceID>`: the device the service runs on.
    pub device_id: Option<String>,
    pub rpid: Rpid,
    pub contact: Option<Contact>,
    pub notes: Vec<Note>,
    pub timestamp: Option<DateTime>,
    /// Children of the tuple this crate does not type, kept.
    pub extensions: Vec<XmlElement>,
}

impl Tuple {
    /// A tuple with a basic status and nothing else.
    pub fn new(id: &str, basic: Basic) -> Tuple {
        Tuple {
            id: id.to_owned(),
            status: Status {
                basic: Some(basic),
                extensions: Vec::new(),
            },
            device_id: None,
            rpid: Rpid::default(),
            contact: None,
            notes: Vec::new(),
            timestamp: None,
            extensions: Vec::new(),
        }
    }

    fn read(el: &XmlElement) -> Result<Tuple, XmlError> {
        let id = el.attr("id").ok_or(XmlError::Missing("tuple id"))?;
        let mut status = None;
        let mut t = Tuple::new(id, Basic::Open);
        for child in el.elements() {
            if child.is(NAMESPACE, "status") {
                if status.is_some() {
                    return Err(XmlError::Repeated("status"));
                }
                status = Some(read_status(child)?);
            } else if child.is(NAMESPACE, "contact") {
                if t.contact.is_some() {
                    return Err(XmlError::Repeated("contact"));
                }
                let priority = child
                    .attr("priority")
                    .map(|p| Priority::parse(p).ok_or_else(|| XmlError::malformed("priority", p)))
                    .transpose()?;
                t.contact = Some(Contact {
                    uri: child.text().trim().to_owned(),
                    priority,
                });
            } else if child.is(NAMESPACE, "note") {
                t.notes.push(Note::read(child));
            } else if child.is(NAMESPACE, "timestamp") {
                if t.timestamp.is_some() {
                    return Err(XmlError::Repeated("timestamp"));
                }
                t.timestamp = Some(datetime_text(child, "timestamp")?);
            } else if child.is(DM_NAMESPACE, "deviceID") {
                if t.device_id.is_some() {
                    return Err(XmlError::Repeated("deviceID"));
                }
                t.device_id = Some(child.text().trim().to_owned());
            } else if !t.rpid.take(child)? {
                t.extensions.push(child.clone());
            }
        }
        t.status = status.ok_or(XmlError::Missing("status"))?;
        Ok(t)
    }

    fn to_element(&self) -> XmlElement {
        let mut status = XmlElement::new(NAMESPACE, "status");
        if let Some(b) = self.status.basic {
            status = status.with_child(XmlElement::new(NAMESPACE, "basic").with_text(b.as_str()));
        }
        for e in &self.status.extensions {
            status = status.with_child(e.clone());
        }
        let mut el = XmlElement::new(NAMESPACE, "tuple")
            .with_attr("id", &self.id)
            .with_child(status);
        if let Some(d) = &self.device_id {
            el = el.with_child(XmlElement::new(DM_NAMESPACE, "deviceID").with_text(d));
        }
        self.rpid.write(&mut el);
        for e in &self.extensions {
            el = el.with_child(e.clone());
        }
        if let Some(c) = &self.contact {
            let mut contact = XmlElement::new(NAMESPACE, "contact");
            if let Some(p) = c.priority {
                contact = contact.with_attr("priority", &p.to_string());
            }
            el = el.with_child(contact.with_text(&c.uri));
        }
        for n in &self.notes {
            el = el.with_child(n.to_element(NAMESPACE, "note"));
        }
        if let Some(t) = &self.timestamp {
            el = el.with_child(XmlElement::new(NAMESPACE, "timestamp").with_text(&t.to_string()));
        }
        el
    }
}

fn read_status(el: &XmlElement) -> Result<Status, XmlError> {
    let mut status = Status::default();
    for child in el.elements() {
        if child.is(NAMESPACE, "basic") {
            if status.basic.is_some() {
                return Err(XmlError::Repeated("basic"));
            }
            status.basic = Some(Basic::parse(child.text().trim())?);
        } else {
            status.extensions.push(child.clone());
        }
    }
    Ok(status)
}

/// What persons and devices share: an id, RPID elements, extensions,
/// `<dm:note>`s and a `<dm:timestamp>`.
struct Common {
    id: String,
    rpid: Rpid,
    notes: Vec<Note>,
    timestamp: Option<DateTime>,
    extensions: Vec<XmlElement>,
    device_id: Option<String>,
}

fn read_common(el: &XmlElement, what: &'static str, device: bool) -> Result<Common, XmlError> {
    let mut c = Common {
        id: el.attr("id").ok_or(XmlError::Missing(what))?.to_owned(),
        rpid: Rpid::default(),
        notes: Vec::new(),
        timestamp: None,
        extensions: Vec::new(),
        device_id: None,
    };
    for child in el.elements() {
        if child.is(DM_NAMESPACE, "note") {
            c.notes.push(Note::read(child));
        } else if child.is(DM_NAMESPACE, "timestamp") {
            if c.timestamp.is_some() {
                return Err(XmlError::Repeated("timestamp"));
            }
            c.timestamp = Some(datetime_text(child, "timestamp")?);
        } else if device && child.is(DM_NAMESPACE, "deviceID") {
            if c.device_id.is_some() {
                return Err(XmlError::Repeated("deviceID"));
            }
            c.device_id = Some(child.text().trim().to_owned());
        } else if !c.rpid.take(child)? {
            c.extensions.push(child.clone());
        }
    }
    Ok(c)
}

fn write_common(
    name: &str,
    id: &str,
    rpid: &Rpid,
    extensions: &[XmlElement],
    device_id: Option<&str>,
    notes: &[Note],
    timestamp: Option<&DateTime>,
) -> XmlElement {
    let mut el = XmlElement::new(DM_NAMESPACE, name).with_attr("id", id);
    rpid.write(&mut el);
    for e in extensions {
        el = el.with_child(e.clone());
    }
    if let Some(d) = device_id {
        el = el.with_child(XmlElement::new(DM_NAMESPACE, "deviceID").with_text(d));
    }
    for n in notes {
        el = el.with_child(n.to_element(DM_NAMESPACE, "note"));
    }
    if let Some(t) = timestamp {
        el = el.with_child(XmlElement::new(DM_NAMESPACE, "timestamp").with_text(&t.to_string()));
    }
    el
}

/// A `<dm:person>`: the human (or other presentity) itself (RFC 4479 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Person {
    pub id: String,
    pub rpid: Rpid,
    pub notes: Vec<Note>,
    pub timestamp: Option<DateTime>,
    pub extensions: Vec<XmlElement>,
}

impl Person {
    pub fn new(id: &str) -> Person {
        Person {
            id: id.to_owned(),
            rpid: Rpid::default(),
            notes: Vec::new(),
            timestamp: None,
            extensions: Vec::new(),
        }
    }

    fn read(el: &XmlElement) -> Result<Person, XmlError> {
        let c = read_common(el, "person id", false)?;
        Ok(Person {
            id: c.id,
            rpid: c.rpid,
            notes: c.notes,
            timestamp: c.timestamp,
            extensions: c.extensions,
        })
    }

    fn to_element(&self) -> XmlElement {
        write_common(
            "person",
            &self.id,
            &self.rpid,
            &self.extensions,
            None,
            &self.notes,
            self.timestamp.as_ref(),
        )
    }
}

/// A `<dm:device>`: a physical device services run on (RFC 4479 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Device {
    pub id: String,
    /// `<dm:deviceID>`, which tuples name to say they run here. RFC 4479
    /// requires one; a document without is read, not refused.
    pub device_id: Option<String>,
    pub rpid: Rpid,
    pub notes: Vec<Note>,
    pub timestamp: Option<DateTime>,
    pub extensions: Vec<XmlElement>,
}

impl Device {
    pub fn new(id: &str, device_id: &str) -> Device {
        Device {
            id: id.to_owned(),
            device_id: Some(device_id.to_owned()),
            rpid: Rpid::default(),
            notes: Vec::new(),
            timestamp: None,
            extensions: Vec::new(),
        }
    }

    fn read(el: &XmlElement) -> Result<Device, XmlError> {
        let c = read_common(el, "device id", true)?;
        Ok(Device {
            id: c.id,
            device_id: c.device_id,
            rpid: c.rpid,
            notes: c.notes,
            timestamp: c.timestamp,
            extensions: c.extensions,
        })
    }

    fn to_element(&self) -> XmlElement {
        write_common(
            "device",
            &self.id,
            &self.rpid,
            &self.extensions,
            self.device_id.as_deref(),
            &self.notes,
            self.timestamp.as_ref(),
        )
    }
}

/// A presence document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Presence {
    /// The presentity's URI (`pres:`, `sip:`, ...).
    pub entity: String,
    pub tuples: Vec<Tuple>,
    pub notes: Vec<Note>,
    pub persons: Vec<Person>,
    pub devices: Vec<Device>,
    /// Children of `<presence>` this crate does not type, kept.
    pub extensions: Vec<XmlElement>,
}

impl Presence {
    /// An empty document for `entity`.
    pub fn new(entity: &str) -> Presence {
        Presence {
            entity: entity.to_owned(),
            tuples: Vec::new(),
            notes: Vec::new(),
            persons: Vec::new(),
            devices: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// Parses a document within `limits`.
    pub fn parse(input: &[u8], limits: &XmlLimits) -> Result<Presence, PidfError> {
        Presence::from_element(&XmlElement::parse(input, limits)?)
    }

    /// Reads the typed view of an already parsed root element.
    pub fn from_element(root: &XmlElement) -> Result<Presence, PidfError> {
        expect_root(
            root,
            NAMESPACE,
            "presence",
            "{urn:ietf:params:xml:ns:pidf}presence",
        )?;
        let mut p = Presence::new(
            root.attr("entity")
                .ok_or(XmlError::Missing("presence entity"))?,
        );
        for child in root.elements() {
            if child.is(NAMESPACE, "tuple") {
                p.tuples.push(Tuple::read(child)?);
            } else if child.is(NAMESPACE, "note") {
                p.notes.push(Note::read(child));
            } else if child.is(DM_NAMESPACE, "person") {
                p.persons.push(Person::read(child)?);
            } else if child.is(DM_NAMESPACE, "device") {
                p.devices.push(Device::read(child)?);
            } else {
                p.extensions.push(child.clone());
            }
        }
        Ok(p)
    }

    /// The tuple with `id`.
    pub fn tuple(&self, id: &str) -> Option<&Tuple> {
        self.tuples.iter().find(|t| t.id == id)
    }

    /// The tuples that run on the device with `<dm:deviceID>` `device_id`.
    pub fn tuples_on<'a>(&'a self, device_id: &'a str) -> impl Iterator<Item = &'a Tuple> + 'a {
        self.tuples
            .iter()
            .filter(move |t| t.device_id.as_deref() == Some(device_id))
    }

    /// The document as an element tree: tuples, notes, persons, devices,
    /// extensions (RFC 3863's order, the data model's elements being
    /// extensions to it).
    pub fn to_element(&self) -> XmlElement {
        let mut root = XmlElement::new(NAMESPACE, "presence").with_attr("entity", &self.entity);
        let mut kids: Vec<XmlElement> = Vec::new();
        kids.extend(self.tuples.iter().map(Tuple::to_element));
        kids.extend(self.notes.iter().map(|n| n.to_element(NAMESPACE, "note")));
        kids.extend(self.persons.iter().map(Person::to_element));
        kids.extend(self.devices.iter().map(Device::to_element));
        kids.extend(self.extensions.iter().cloned());
        root.children.extend(kids.into_iter().map(XmlNode::Element));
        root
    }

    /// The document as text.
    pub fn to_xml(&self) -> String {
        // The prefixes of RFC 4479's and RFC 4480's examples.
        self.to_element()
            .to_document_with_prefixes(&[(DM_NAMESPACE, "dm"), (RPID_NAMESPACE, "rpid")])
    }

    /// The document as bytes, for a message body.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_xml().into_bytes()
    }
}
