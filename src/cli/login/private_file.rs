//! Files only their owner may read: directories created `0700`, files written whole and
//! atomically (a temporary file in the same directory, written, fsynced, `0600`, renamed over the
//! old one, the directory fsynced), so a reader sees the old file or the new one, never a part,
//! and never with wider permissions than `0600`, whatever the old file's mode was.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::LoginError;
use super::pkce;

/// Create `dir` and any missing parents with mode `0700` (existing ones are left as they are).
pub fn create_dir(dir: &Path) -> Result<(), LoginError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| LoginError::local(dir.display(), e))
}

/// `path`'s content, `None` when it does not exist; refused past `max` bytes.
pub fn read(path: &Path, max: u64) -> Result<Option<Vec<u8>>, LoginError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LoginError::local(path.display(), e)),
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| LoginError::local(path.display(), e))?;
    if bytes.len() as u64 > max {
        return Err(LoginError::Local(format!(
            "{}: larger than {max} bytes",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

/// Replace `path` with `bytes`, mode `0600`, atomically (its directory must exist). A symbolic
/// link at `path` is followed: the file it names is replaced, the link stays.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), LoginError> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|e| LoginError::local(path.display(), e))?
        }
        _ => path.to_path_buf(),
    };
    let err = |e: std::io::Error| LoginError::local(target.display(), e);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| LoginError::Local(format!("{}: not a file name", target.display())))?;
    let suffix = pkce::random_token()?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        suffix.get(..12).unwrap_or("tmp")
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // The mode of create_new is masked by the umask: set it exactly.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    // The rename is durable once the directory is; a failure here leaves a good file behind.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A fresh directory name under the system's temporary directory (tests).
#[cfg(test)]
pub(crate) fn scratch(name: &str) -> PathBuf {
    let unique = pkce::random_token().map(|t| t.replace(['-', '_'], "x"));
    std::env::temp_dir().join(format!(
        "idbroker-login-{name}-{}-{}",
        std::process::id(),
        unique.as_deref().map_or("x", |u| u.get(..10).unwrap_or(u))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_and_atomic() {
        let dir = scratch("private");
        let nested = dir.join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!(mode(&dir.join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        let f = nested.join("file");
        assert_eq!(read(&f, 10).unwrap(), None);
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&f, b"new content").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new content");
        assert_eq!(mode(&f), 0o600);
        assert!(read(&f, 5).is_err());
        assert_eq!(read(&f, 11).unwrap().unwrap(), b"new content");
        // Nothing left behind.
        assert_eq!(std::fs::read_dir(&nested).unwrap().count(), 1);
        // A link stays a link; its target is replaced.
        let real = nested.join("real");
        std::fs::write(&real, b"x").unwrap();
        let link = nested.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"through the link").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"through the link");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
