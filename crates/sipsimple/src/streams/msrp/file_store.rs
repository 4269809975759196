//! Where received files go, safely: a name from the peer is made into
//! one plain file name inside the download directory, bytes go to a
//! `.part` file, and only a complete file whose hash matches is renamed
//! into place, never over an existing file (`name (1).ext`).
//!
//! The writing runs on a thread of its own: disk writes block, and the
//! engine's tasks must not. It takes its work from a channel the
//! connection's reader feeds; the reader pauses (the connection's
//! `ReadGate`) while too many bytes wait for the disk, so memory stays
//! flat whatever the file size.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

/// Longest file name made, in bytes (most file systems take 255).
const MAX_NAME_BYTES: usize = 200;

/// Names Windows keeps for devices: refused as file names everywhere, so
/// a file saved here can be copied there.
const DEVICE_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A plain file name for what the peer called its file: the last
/// component of any path (`/` or `\`), without control characters, not
/// empty, not `.` or `..`, not hidden, not a device name, at most
/// [`MAX_NAME_BYTES`] bytes (the extension kept).
pub fn safe_file_name(peer_name: Option<&str>) -> String {
    let raw = peer_name.unwrap_or("");
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    name = name.trim_matches([' ', '.']).to_owned();
    let stem = name.split('.').next().unwrap_or("").to_ascii_lowercase();
    if name.is_empty() {
        name = "file".into();
    } else if DEVICE_NAMES.contains(&stem.as_str()) {
        name = format!("_{name}");
    }
    if name.len() > MAX_NAME_BYTES {
        let (stem, ext) = split_ext(&name);
        let ext: String = ext.chars().take(16).collect();
        let mut cut = MAX_NAME_BYTES.saturating_sub(ext.len());
        while !stem.is_char_boundary(cut.min(stem.len())) {
            cut -= 1;
        }
        name = format!("{}{ext}", stem.get(..cut.min(stem.len())).unwrap_or(""));
    }
    name
}

/// `("report", ".pdf")`; a leading dot is no extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(at) if at > 0 => (name.get(..at).unwrap_or(name), name.get(at..).unwrap_or("")),
        _ => (name, ""),
    }
}

/// The first `name`, `name (1).ext`, `name (2).ext`... not taken in `dir`.
pub fn unused_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = split_ext(name);
    (1..)
        .map(|i| dir.join(format!("{stem} ({i}){ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// The `.part` file of a transfer: hidden, named after the file and its
/// hash, so a resumed transfer of the same file finds it.
pub fn part_path(dir: &Path, name: &str, hash: Option<&[u8]>) -> PathBuf {
    let tag: String = hash
        .map(|h| h.iter().take(8).map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default();
    dir.join(format!(".{name}.{tag}.part"))
}

/// How many bytes of the file `selector` names a cut transfer left in
/// `dir` (the part file the receiver keeps), for a new transfer to ask
/// for the rest with `a=file-range` from the next byte: chunks come in
/// order, so the part file holds the file's first bytes. None without a
/// part file, or with one as long as the file (it was never confirmed:
/// start over).
pub fn received_part(dir: &Path, selector: &sdp::FileSelector) -> Option<u64> {
    let hash = selector
        .hash
        .as_ref()
        .filter(|h| h.algorithm == "sha-1")
        .map(|h| h.digest.as_slice());
    let name = safe_file_name(selector.name.as_deref());
    let len = std::fs::metadata(part_path(dir, &name, hash)).ok()?.len();
    (len < selector.size.unwrap_or(u64::MAX)).then_some(len)
}

/// Bytes that could not be stored (a full disk, a peer that lied about
/// the size): the reason said here, and the one the peer's failure
/// REPORT carries, which names no local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFailure {
    pub reason: String,
    pub for_peer: String,
}

/// A file being received.
pub struct PartFile {
    file: File,
    path: PathBuf,
    size: u64,
    /// SHA-1 of bytes `0..hashed`, while they came in order.
    hasher: Option<Sha1>,
    hashed: u64,
    /// Received byte ranges, merged (0-based, end exclusive).
    have: Vec<(u64, u64)>,
}

impl PartFile {
    /// Opens (creating) the part file of a transfer of `size` bytes whose
    /// first `keep` bytes were received before (a resumed transfer):
    /// those are kept and hashed, the rest is cut off.
    pub fn open(path: PathBuf, size: u64, keep: u64) -> Result<PartFile, String> {
        let err = |what: &str, e: std::io::Error| format!("{what} {}: {e}", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| err("cannot open", e))?;
        let len = file.metadata().map_err(|e| err("cannot read", e))?.len();
        if keep > len {
            return Err(format!(
                "cannot resume at byte {}: only {len} bytes of {} were received",
                keep + 1,
                path.display()
            ));
        }
        file.set_len(keep).map_err(|e| err("cannot cut", e))?;
        let mut hasher = Sha1::new();
        let mut buf = vec![0u8; 256 * 1024];
        file.seek(SeekFrom::Start(0))
            .map_err(|e| err("cannot read", e))?;
        let mut left = keep;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let piece = buf.get_mut(..want).unwrap_or_default();
            file.read_exact(piece).map_err(|e| err("cannot read", e))?;
            hasher.update(&*piece);
            left -= want as u64;
        }
        Ok(PartFile {
            file,
            path,
            size,
            hasher: Some(hasher),
            hashed: keep,
            have: if keep > 0 {
                vec![(0, keep)]
            } else {
                Vec::new()
            },
        })
    }

    /// Stores `data` at `offset`; bytes beyond the announced size are an
    /// error (the peer lied about the size).
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteFailure> {
        let end = offset.saturating_add(data.len() as u64);
        if end > self.size {
            let reason = format!(
                "the peer sent bytes up to {end} of a file of {} bytes",
                self.size
            );
            return Err(WriteFailure {
                for_peer: reason.clone(),
                reason,
            });
        }
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(data))
            .map_err(|e| WriteFailure {
                reason: format!("cannot write {}: {e}", self.path.display()),
                for_peer: format!("cannot store the file: {e}"),
            })?;
        match &mut self.hasher {
            Some(h) if offset == self.hashed => {
                h.update(data);
                self.hashed = end;
            }
            _ => self.hasher = None,
        }
        add_range(&mut self.have, offset, end);
        Ok(())
    }

    /// Bytes received from the start without a gap.
    pub fn contiguous(&self) -> u64 {
        match self.have.first() {
            Some(&(0, end)) => end,
            _ => 0,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.contiguous() >= self.size
    }

    /// The SHA-1 of the whole file (re-read when bytes came out of order).
    pub fn sha1(&mut self) -> Result<Vec<u8>, String> {
        if let Some(h) = self.hasher.take().filter(|_| self.hashed == self.size) {
            return Ok(h.finalize().to_vec());
        }
        let mut h = Sha1::new();
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = self.file.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            h.update(buf.get(..n).unwrap_or_default());
        }
        Ok(h.finalize().to_vec())
    }

    /// Flushes and moves the file to the first free name for `name` in
    /// `dir`; returns where it went.
    pub fn finish(self, dir: &Path, name: &str) -> Result<PathBuf, String> {
        self.file
            .sync_all()
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        let target = unused_path(dir, name);
        // hard_link fails if the target exists: no race overwrites a file.
        std::fs::hard_link(&self.path, &target)
            .or_else(|_| std::fs::rename(&self.path, &target))
            .map_err(|e| format!("cannot move the file to {}: {e}", target.display()))?;
        let _ = std::fs::remove_file(&self.path);
        Ok(target)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn add_range(have: &mut Vec<(u64, u64)>, start: u64, end: u64) {
    if start >= end {
        return;
    }
    have.push((start, end));
    have.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(have.len());
    for &(s, e) in have.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *have = merged;
}

/// SHA-1 of a file, read in pieces (the caller runs it off the engine).
pub fn sha1_of(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().to_vec());
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_names() {
        for (peer, want) in [
            (Some("../../etc/passwd"), "passwd"),
            (Some("/etc/shadow"), "shadow"),
            (Some("..\\..\\windows\\system.ini"), "system.ini"),
            (Some("a\0b.txt"), "a_b.txt"),
            (Some("CON.txt"), "_CON.txt"),
            (Some("nul"), "_nul"),
            (Some(""), "file"),
            (Some("."), "file"),
            (Some(".."), "file"),
            (Some("dir/"), "file"),
            (Some(".bashrc"), "bashrc"),
            (Some("a:b*c?.txt"), "a_b_c_.txt"),
            (Some("line\nbreak"), "line_break"),
            (None, "file"),
            (Some("résumé.pdf"), "résumé.pdf"),
        ] {
            assert_eq!(safe_file_name(peer), want, "{peer:?}");
        }
        let long = format!("{}.tar.gz", "é".repeat(300));
        let made = safe_file_name(Some(&long));
        assert!(made.len() <= MAX_NAME_BYTES, "{}", made.len());
        assert!(made.ends_with(".gz"));
    }

    #[test]
    fn never_overwrites() {
        let dir = std::env::temp_dir().join(format!("ft-unused-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(unused_path(&dir, "a.txt"), dir.join("a.txt"));
        std::fs::write(dir.join("a.txt"), b"x").unwrap();
        std::fs::write(dir.join("a (1).txt"), b"x").unwrap();
        assert_eq!(unused_path(&dir, "a.txt"), dir.join("a (2).txt"));
        std::fs::write(dir.join("noext"), b"x").unwrap();
        assert_eq!(unused_path(&dir, "noext"), dir.join("noext (1)"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn part_file_resumes_and_hashes() {
        let dir = std::env::temp_dir().join(format!("ft-part-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let want = Sha1::digest(&data).to_vec();
        let path = part_path(&dir, "x.bin", Some(&want));
        let mut p = PartFile::open(path.clone(), 10_000, 0).unwrap();
        p.write_at(0, &data[..4000]).unwrap();
        drop(p);
        // Resumed after 3000 of the 4000 bytes written.
        let mut p = PartFile::open(path.clone(), 10_000, 3000).unwrap();
        assert_eq!(p.contiguous(), 3000);
        p.write_at(3000, &data[3000..]).unwrap();
        assert!(p.is_complete());
        assert_eq!(p.sha1().unwrap(), want);
        assert!(p.write_at(9999, b"xy").is_err());
        let out = p.finish(&dir, "x.bin").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), data);
        assert!(!path.exists());
        // Cannot resume past what is there.
        assert!(PartFile::open(dir.join("y.part"), 10, 5).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn out_of_order_bytes_are_rehashed() {
        let dir = std::env::temp_dir().join(format!("ft-ooo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut p = PartFile::open(dir.join("o.part"), 6, 0).unwrap();
        p.write_at(3, b"def").unwrap();
        assert!(!p.is_complete());
        p.write_at(0, b"abc").unwrap();
        assert!(p.is_complete());
        assert_eq!(p.sha1().unwrap(), Sha1::digest(b"abcdef").to_vec());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
