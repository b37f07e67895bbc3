//! Node keys: Ed25519 seeds generated for each simulated node, optionally persisted in a keys
//! directory (`<prefix>.keys`: one `authid secret-hex` line per node) together with the record of
//! completed pairings (`<prefix>.paired`: `url mrealm authid` lines), so that a second run reuses
//! the keys and skips pairing nodes that are already paired.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use wamp_proto::cryptosign::{self, LEN};

use crate::error::SimError;

/// One node's key pair.
#[derive(Clone, Copy)]
pub struct NodeKey {
    pub secret: [u8; LEN],
    pub public: [u8; LEN],
}

impl NodeKey {
    pub fn from_secret(secret: [u8; LEN]) -> NodeKey {
        NodeKey {
            secret,
            public: cryptosign::public_key(&secret),
        }
    }

    fn random() -> NodeKey {
        let mut secret = [0u8; LEN];
        rand::thread_rng().fill_bytes(&mut secret);
        NodeKey::from_secret(secret)
    }

    pub fn pubkey_hex(&self) -> String {
        hex::encode(self.public)
    }
}

/// The keys of a fleet and where they persist.
pub struct KeyStore {
    dir: Option<PathBuf>,
    prefix: String,
}

impl KeyStore {
    pub fn new(dir: Option<PathBuf>, prefix: &str) -> KeyStore {
        KeyStore {
            dir,
            prefix: prefix.to_owned(),
        }
    }

    fn keys_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.keys", self.prefix))
    }

    fn paired_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.paired", self.prefix))
    }

    /// Keys for `authids`, reusing persisted ones and persisting new ones.
    pub fn load_or_create(&self, authids: &[String]) -> Result<Vec<NodeKey>, SimError> {
        let Some(dir) = &self.dir else {
            return Ok(authids.iter().map(|_| NodeKey::random()).collect());
        };
        std::fs::create_dir_all(dir)?;
        let path = self.keys_path(dir);
        let mut known = read_keys(&path)?;
        let mut fresh = String::new();
        let keys = authids
            .iter()
            .map(|a| {
                *known.entry(a.clone()).or_insert_with(|| {
                    let k = NodeKey::random();
                    fresh.push_str(&format!("{a} {}\n", hex::encode(k.secret)));
                    k
                })
            })
            .collect();
        append_private(&path, &fresh)?;
        Ok(keys)
    }

    /// The authids recorded as paired to `mrealm` at `url`.
    pub fn paired(&self, url: &str, mrealm: &str) -> Result<HashSet<String>, SimError> {
        let Some(dir) = &self.dir else {
            return Ok(HashSet::new());
        };
        let text = match std::fs::read_to_string(self.paired_path(dir)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (u, m, a) = (f.next()?, f.next()?, f.next()?);
                (u == url && m == mrealm).then(|| a.to_owned())
            })
            .collect())
    }

    /// Records `authids` as paired to `mrealm` at `url`.
    pub fn record_paired(
        &self,
        url: &str,
        mrealm: &str,
        authids: &[String],
    ) -> Result<(), SimError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let lines: String = authids
            .iter()
            .map(|a| format!("{url} {mrealm} {a}\n"))
            .collect();
        append_private(&self.paired_path(dir), &lines)
    }
}

fn read_keys(path: &Path) -> Result<std::collections::HashMap<String, NodeKey>, SimError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(e.into()),
    };
    let bad = |line: usize| SimError::Keys {
        path: path.to_path_buf(),
        reason: format!("line {line} is not 'authid <64 hex>'"),
    };
    let mut out = std::collections::HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (authid, hex) = line.split_once(' ').ok_or_else(|| bad(i + 1))?;
        let secret = cryptosign::parse_hex(hex.trim()).map_err(|_| bad(i + 1))?;
        out.insert(authid.to_owned(), NodeKey::from_secret(secret));
    }
    Ok(out)
}

/// Appends to a file created with mode 0600 (it holds private keys).
fn append_private(path: &Path, text: &str) -> Result<(), SimError> {
    if text.is_empty() {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persisted_keys_are_reused_and_pairings_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(Some(dir.path().to_path_buf()), "t");
        let ids: Vec<String> = (0..3).map(|i| format!("t-{i}")).collect();
        let a = store.load_or_create(&ids).unwrap();
        let b = store.load_or_create(&ids).unwrap();
        assert!(a.iter().zip(&b).all(|(x, y)| x.secret == y.secret));
        assert_ne!(a[0].secret, a[1].secret);
        store.record_paired("ws://x/ws", "m", &ids[..2]).unwrap();
        let p = store.paired("ws://x/ws", "m").unwrap();
        assert!(p.contains("t-0") && p.contains("t-1") && !p.contains("t-2"));
        assert!(store.paired("ws://y/ws", "m").unwrap().is_empty());
    }
}
