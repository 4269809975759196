//! RFC 5547 §6's file attributes other than the selector
//! (`a=file-disposition`, `a=file-date`, `a=file-icon`), as the SDP
//! carries them.

/// `a=file-disposition`, `a=file-date` and `a=file-icon` (RFC 5547 §6),
/// as the SDP carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileAttributes {
    /// `render` or `attachment` (RFC 2183 values).
    pub disposition: Option<String>,
    /// E.g. `modification:"Sun, 06 Dec 2026 04:50:00 GMT"`: creation,
    /// modification and read dates in RFC 5322 form.
    pub date: Option<String>,
    /// A `cid:` URL of an icon sent as a message of the session.
    pub icon: Option<String>,
}

impl FileAttributes {
    /// What we say of a file we push: an attachment, with its
    /// modification date when the file system has one.
    pub(super) fn of_file(path: &std::path::Path) -> FileAttributes {
        let date = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| format!("modification:\"{}\"", httpdate::fmt_http_date(t)));
        FileAttributes {
            disposition: Some("attachment".into()),
            date,
            icon: None,
        }
    }

    pub(super) fn from_sdp(m: &sdp::Media) -> FileAttributes {
        let text = |name| m.attribute(name).map(|v| v.trim().to_owned());
        FileAttributes {
            disposition: text("file-disposition"),
            date: text("file-date"),
            icon: text("file-icon"),
        }
    }

    pub(super) fn to_sdp(&self, m: &mut sdp::Media) {
        for (name, value) in [
            ("file-disposition", &self.disposition),
            ("file-date", &self.date),
            ("file-icon", &self.icon),
        ] {
            if let Some(v) = value {
                m.attributes.push(sdp::Attribute::new(name, v.clone()));
            }
        }
    }
}
