//! Storage backends for the configuration: a TOML file and memory.
//!
//! TOML because the file is meant to be read and edited by people (the
//! spec's backends are opaque; issue 4 asks for one editable file), and
//! the `toml` crate gives parse errors with positions, which a corrupt file
//! must be reported with.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The stored tree: groups are tables, settings are values.
pub type Tree = toml::Table;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but is not valid TOML (or not a table of settings).
    /// The file is left as it was.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A value refused by its setting, on assignment or when loading.
    #[error("{setting}: {reason}")]
    Invalid { setting: String, reason: String },
    #[error("no setting named {0}")]
    UnknownSetting(String),
}

/// Where a ConfigurationManager keeps its settings.
pub trait StorageBackend: Send + Sync {
    /// Everything stored; an empty tree when nothing was ever saved.
    fn load(&self) -> Result<Tree, ConfigError>;
    /// Replaces what is stored with `tree`, all or nothing.
    fn save(&self, tree: &Tree) -> Result<(), ConfigError>;
    /// Where the settings are, for error messages.
    fn describe(&self) -> String;
}

/// Settings held in memory only (tests, throw-away applications).
#[derive(Debug, Default)]
pub struct MemoryBackend {
    tree: Mutex<Tree>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// A backend that starts with `tree` stored.
    pub fn with(tree: Tree) -> Self {
        MemoryBackend {
            tree: Mutex::new(tree),
        }
    }
}

impl StorageBackend for MemoryBackend {
    fn load(&self) -> Result<Tree, ConfigError> {
        Ok(crate::sync::lock(&self.tree).clone())
    }

    fn save(&self, tree: &Tree) -> Result<(), ConfigError> {
        *crate::sync::lock(&self.tree) = tree.clone();
        Ok(())
    }

    fn describe(&self) -> String {
        "the in-memory configuration".into()
    }
}

/// Settings in one TOML file.
///
/// Saving writes a sibling temporary file with mode 0600, syncs it and
/// renames it over the old one, so a crash leaves either the old or the new
/// file, never half of one, and the passwords in it are never readable by
/// others, not even for a moment.
#[derive(Debug, Clone)]
pub struct FileBackend {
    path: PathBuf,
}

impl FileBackend {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileBackend { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> ConfigError {
        ConfigError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl StorageBackend for FileBackend {
    fn load(&self) -> Result<Tree, ConfigError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tree::new()),
            Err(e) => return Err(self.io(e)),
        };
        text.parse::<Tree>().map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_column(&text, span.start));
            ConfigError::Syntax {
                path: self.path.clone(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })
    }

    fn save(&self, tree: &Tree) -> Result<(), ConfigError> {
        let text = toml::to_string(tree)
            .map_err(|e| self.io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir).map_err(|e| self.io(e))?;
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp-{}", std::process::id()));
        let tmp = dir.join(name);
        let written = (|| {
            let mut options = fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            // The rename is durable once the directory entry is.
            #[cfg(unix)]
            fs::File::open(&dir)?.sync_all()?;
            Ok(())
        })();
        written.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            self.io(e)
        })
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_column("a = 1\nb = ?\n", 10), (2, 5));
        assert_eq!(line_column("x", 0), (1, 1));
        assert_eq!(line_column("é\n", 2), (1, 2));
        // An offset past the end or inside a character does not panic.
        assert_eq!(line_column("é", 1), (1, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
