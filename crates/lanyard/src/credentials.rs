//! The command line's stored credential: `$XDG_CONFIG_HOME/lanyard/credentials.json` (else
//! `~/.config/lanyard/credentials.json`), mode 0600, written atomically; a file others may read
//! is refused with the `chmod` that fixes it. `LANYARD_API_TOKEN` overrides the stored token.

use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub server: String,
    pub org: String,
    pub token: String,
    #[serde(default)]
    pub token_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

pub fn path() -> Result<PathBuf, String> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("lanyard").join("credentials.json"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => Ok(PathBuf::from(h)
            .join(".config")
            .join("lanyard")
            .join("credentials.json")),
        None => {
            Err("neither XDG_CONFIG_HOME nor HOME is set, so there is no config directory".into())
        }
    }
}

/// The stored credential, if any. A file with group or other permissions is refused.
pub fn load() -> Result<Option<Credentials>, String> {
    let p = path()?;
    let meta = match std::fs::metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", p.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} may be read by other users (mode {mode:o}); run `chmod 600 {}` and try again",
                p.display(),
                p.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text =
        std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    serde_json::from_str(&text).map(Some).map_err(|e| {
        format!(
            "{} is not a lanyard credentials file ({e}); delete it and run `lanyard login`",
            p.display()
        )
    })
}

/// Writes the credential with mode 0600 (the directory 0700), replacing any old one.
pub fn save(c: &Credentials) -> Result<PathBuf, String> {
    let p = path()?;
    let dir = p.parent().ok_or("the credentials path has no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join("credentials.json.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        opts.mode(0o600);
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let body = serde_json::to_string_pretty(c).map_err(|e| e.to_string())?;
    let mut f = opts
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(body.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &p).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    Ok(p)
}

/// Forgets the stored credential (no file is fine).
pub fn forget() -> Result<(), String> {
    let p = path()?;
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot delete {}: {e}", p.display())),
    }
}
