//! The serializer: the lines in RFC 8866 order, CRLF after each. Values
//! that could carry a line break are written with it removed, so a
//! description built from untrusted text cannot grow extra lines.

use std::fmt::{self, Write};

use crate::model::{Attribute, Bandwidth, Connection, Media, SessionDescription};

fn clean(s: &str) -> impl fmt::Display + '_ {
    struct Clean<'a>(&'a str);
    impl fmt::Display for Clean<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for c in self.0.chars().filter(|c| *c != '\r' && *c != '\n') {
                f.write_char(c)?;
            }
            Ok(())
        }
    }
    Clean(s)
}

fn line(f: &mut fmt::Formatter<'_>, t: char, v: impl fmt::Display) -> fmt::Result {
    write!(f, "{t}={v}\r\n")
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            clean(&self.net_type),
            self.addr_type,
            clean(&self.address)
        )?;
        if let Some(ttl) = self.ttl {
            write!(f, "/{ttl}")?;
        }
        if let Some(n) = self.count {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", clean(&self.kind), self.value)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", clean(&self.name))?;
        if let Some(v) = &self.value {
            write!(f, ":{}", clean(v))?;
        }
        Ok(())
    }
}

fn media(f: &mut fmt::Formatter<'_>, m: &Media) -> fmt::Result {
    write!(f, "m={} {}", clean(&m.media), m.port)?;
    if let Some(n) = m.port_count {
        write!(f, "/{n}")?;
    }
    write!(f, " {}", clean(&m.protocol))?;
    for fmt in &m.formats {
        write!(f, " {}", clean(fmt))?;
    }
    f.write_str("\r\n")?;
    if let Some(i) = &m.information {
        line(f, 'i', clean(i))?;
    }
    for c in &m.connections {
        line(f, 'c', c)?;
    }
    for b in &m.bandwidths {
        line(f, 'b', b)?;
    }
    if let Some(k) = &m.key {
        line(f, 'k', clean(k))?;
    }
    for a in &m.attributes {
        line(f, 'a', a)?;
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        line(f, 'v', 0)?;
        let o = &self.origin;
        line(
            f,
            'o',
            format_args!(
                "{} {} {} {} {} {}",
                clean(&o.username),
                clean(&o.session_id),
                o.session_version,
                clean(&o.net_type),
                o.addr_type,
                clean(&o.address)
            ),
        )?;
        line(f, 's', clean(&self.session_name))?;
        if let Some(i) = &self.information {
            line(f, 'i', clean(i))?;
        }
        if let Some(u) = &self.uri {
            line(f, 'u', clean(u))?;
        }
        for e in &self.emails {
            line(f, 'e', clean(e))?;
        }
        for p in &self.phones {
            line(f, 'p', clean(p))?;
        }
        if let Some(c) = &self.connection {
            line(f, 'c', c)?;
        }
        for b in &self.bandwidths {
            line(f, 'b', b)?;
        }
        for t in &self.timings {
            line(f, 't', format_args!("{} {}", t.start, t.stop))?;
            for r in &t.repeats {
                line(f, 'r', clean(r))?;
            }
        }
        if let Some(z) = &self.time_zones {
            line(f, 'z', clean(z))?;
        }
        if let Some(k) = &self.key {
            line(f, 'k', clean(k))?;
        }
        for a in &self.attributes {
            line(f, 'a', a)?;
        }
        for m in &self.media {
            media(f, m)?;
        }
        Ok(())
    }
}
