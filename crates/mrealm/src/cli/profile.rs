//! The operator's profile, found like `crossbar shell` finds it: the dot directory is the
//! directory of `$CROSSBAR_FABRIC_SUPERUSER`, else `~/.crossbar`; its `config.ini` section
//! `[default]` names the master's `url` and the `privkey` file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use wamp_proto::cryptosign::LEN;

use crate::cmd::keys::read_key_file;

/// The master URL used when neither the command line nor the profile names one.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:9000/ws";

/// The operator's identity: the private key and the authid to send in HELLO.
pub struct Identity {
    pub secret: [u8; LEN],
    pub pubkey: String,
    pub authid: String,
    pub path: PathBuf,
}

/// The profile's dot directory.
pub fn dotdir() -> PathBuf {
    if let Some(p) = std::env::var_os("CROSSBAR_FABRIC_SUPERUSER") {
        if let Some(dir) = Path::new(&p).parent() {
            return dir.to_path_buf();
        }
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".crossbar")
}

/// The `[default]` section of `<dotdir>/config.ini` (empty if there is none).
pub fn default_section(dotdir: &Path) -> Vec<(String, String)> {
    match std::fs::read_to_string(dotdir.join("config.ini")) {
        Ok(text) => parse_ini_section(&text, "default"),
        Err(_) => Vec::new(),
    }
}

/// The `key = value` pairs of one section of an ini text (comments and blanks skipped).
pub fn parse_ini_section(text: &str, wanted: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == wanted;
        } else if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            pairs.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    pairs
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The master URL: the explicit one, else the profile's, else [`DEFAULT_URL`].
pub fn resolve_url(explicit: Option<&str>) -> String {
    if let Some(u) = explicit {
        return u.to_owned();
    }
    let dir = dotdir();
    lookup(&default_section(&dir), "url").map_or_else(|| DEFAULT_URL.to_owned(), str::to_owned)
}

/// The private key file: the explicit one, else the profile's `privkey` (default
/// `default.priv`, relative to the dot directory).
pub fn resolve_key_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let dir = dotdir();
    let section = default_section(&dir);
    dir.join(lookup(&section, "privkey").unwrap_or("default.priv"))
}

/// Loads the operator's identity from a private key file.
pub fn load_identity(path: &Path) -> anyhow::Result<Identity> {
    let kf = read_key_file(path).with_context(|| {
        "no usable private key (run `mrealm init` or pass --key FILE)".to_string()
    })?;
    let secret = kf
        .private_key()?
        .with_context(|| format!("{} holds no private key", path.display()))?;
    Ok(Identity {
        secret,
        pubkey: hex::encode(kf.public_key()?),
        authid: kf.get("user-id").unwrap_or("unknown").to_owned(),
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_wanted_section() {
        let text = "[other]\nurl=x\n\n[default]\n# c\nurl = ws://h:1/ws\nprivkey=k.priv\n";
        let pairs = parse_ini_section(text, "default");
        assert_eq!(lookup(&pairs, "url"), Some("ws://h:1/ws"));
        assert_eq!(lookup(&pairs, "privkey"), Some("k.priv"));
        assert_eq!(pairs.len(), 2);
    }
}
