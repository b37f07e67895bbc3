//! Key files in Crossbar's format (`key.pub`, `key.priv`, a shell profile's `default.pub`):
//! a free-text header, a blank line, then `tag: value` lines such as
//! `public-key-ed25519: <64 hex>` and `private-key-ed25519: <64 hex>`. Tags other than the keys
//! (`node-authid`, `user-id`, `created-at`, ...) are kept in order. Parsing and formatting only;
//! reading and writing files (with mode 0600 for private keys) is the caller's job.

use crate::cryptosign::{self, CryptosignError, LEN};

pub const TAG_PUBLIC: &str = "public-key-ed25519";
pub const TAG_PRIVATE: &str = "private-key-ed25519";

/// Why a key file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("line {0} is not a 'tag: value' line")]
    Syntax(usize),
    #[error("duplicate tag '{0}'")]
    Duplicate(String),
    #[error("missing tag '{0}'")]
    Missing(&'static str),
    #[error("tag '{tag}': {err}")]
    Key {
        tag: &'static str,
        err: CryptosignError,
    },
    #[error("public key does not belong to the private key")]
    Mismatch,
}

/// A parsed key file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyFile {
    /// Text before the first blank line (e.g. "Crossbar.io node public key").
    pub header: String,
    /// Tags in file order, names lower-cased.
    pub tags: Vec<(String, String)>,
}

impl KeyFile {
    /// Parses key file text.
    pub fn parse(text: &str) -> Result<KeyFile, KeyFileError> {
        let mut kf = KeyFile::default();
        let mut in_tags = false;
        let mut header = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                in_tags = true;
                continue;
            }
            if !in_tags {
                header.push(line.trim_end());
                continue;
            }
            let (tag, value) = line.split_once(':').ok_or(KeyFileError::Syntax(i + 1))?;
            let tag = tag.trim().to_ascii_lowercase();
            if kf.get(&tag).is_some() {
                return Err(KeyFileError::Duplicate(tag));
            }
            kf.tags.push((tag, value.trim().to_owned()));
        }
        kf.header = header.join("\n");
        kf.check()?;
        Ok(kf)
    }

    /// Checks the keys that are present (and that a private key matches its public key).
    fn check(&self) -> Result<(), KeyFileError> {
        let public = self.public_key()?;
        if let Some(secret) = self.private_key()? {
            if cryptosign::public_key(&secret) != public {
                return Err(KeyFileError::Mismatch);
            }
        }
        Ok(())
    }

    pub fn get(&self, tag: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a tag, replacing its value or appending it.
    pub fn set(&mut self, tag: &str, value: impl Into<String>) {
        let value = value.into();
        match self.tags.iter_mut().find(|(t, _)| t == tag) {
            Some(entry) => entry.1 = value,
            None => self.tags.push((tag.to_owned(), value)),
        }
    }

    /// The Ed25519 public key (required in every key file).
    pub fn public_key(&self) -> Result<[u8; LEN], KeyFileError> {
        let hex = self
            .get(TAG_PUBLIC)
            .ok_or(KeyFileError::Missing(TAG_PUBLIC))?;
        cryptosign::parse_hex(hex).map_err(|err| KeyFileError::Key {
            tag: TAG_PUBLIC,
            err,
        })
    }

    /// The Ed25519 secret key seed, if this is a private key file.
    pub fn private_key(&self) -> Result<Option<[u8; LEN]>, KeyFileError> {
        self.get(TAG_PRIVATE)
            .map(|hex| {
                cryptosign::parse_hex(hex).map_err(|err| KeyFileError::Key {
                    tag: TAG_PRIVATE,
                    err,
                })
            })
            .transpose()
    }

    /// A key pair's two files from a secret seed, with extra tags (e.g. `created-at`,
    /// `node-authid`) placed before the keys, as Crossbar writes them.
    pub fn pair(secret: &[u8; LEN], kind: &str, extra: &[(&str, String)]) -> (KeyFile, KeyFile) {
        let mut tags: Vec<(String, String)> = extra
            .iter()
            .map(|(t, v)| (t.to_string(), v.clone()))
            .collect();
        tags.push((
            TAG_PUBLIC.into(),
            hex::encode(cryptosign::public_key(secret)),
        ));
        let public = KeyFile {
            header: format!("Crossbar.io {kind} public key"),
            tags: tags.clone(),
        };
        tags.push((TAG_PRIVATE.into(), hex::encode(secret)));
        let private = KeyFile {
            header: format!("Crossbar.io {kind} private key - KEEP THIS SAFE!"),
            tags,
        };
        (public, private)
    }
}

impl std::fmt::Display for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}\n", self.header)?;
        for (tag, value) in &self.tags {
            writeln!(f, "{tag}: {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A private key file as `crossbar edge keys` (26.10.1) writes it.
    const CROSSBAR_PRIV: &str = "Crossbar.io node private key - KEEP THIS SAFE!

creator: root@vm
created-at: 2026-11-24T20:05:59.558Z
machine-id: 3d1219c7c4c5404aaa1f6d2a48adfda4
node-authid: node7
node-cluster-ip: 127.0.0.1
public-key-ed25519: e06a5f63595934e337280c110462eb342bf7a9d5423ae644e7accd9cac2b7faf
public-adr-eth: 0xC517edc7773bB8f3AEFEaC042AacD3481C98B821
private-key-ed25519: 5d1030019943dab2bb24e93f94c1ce9a4b4629603caf4de05f368c07bd3e26b0
private-key-eth: c2848c1332060d466cb7f36a17483399d53df93e67e50464cf3de715cbfc2c32
";

    #[test]
    fn reads_crossbar_key_file() {
        let kf = KeyFile::parse(CROSSBAR_PRIV).expect("parses");
        assert_eq!(kf.header, "Crossbar.io node private key - KEEP THIS SAFE!");
        assert_eq!(kf.get("node-authid"), Some("node7"));
        assert_eq!(
            hex::encode(kf.public_key().expect("pub")),
            "e06a5f63595934e337280c110462eb342bf7a9d5423ae644e7accd9cac2b7faf"
        );
        assert!(kf.private_key().expect("priv").is_some());
        assert_eq!(KeyFile::parse(&kf.to_string()), Ok(kf));
    }

    #[test]
    fn refuses_bad_files() {
        assert_eq!(
            KeyFile::parse("h\n\nno colon here\n"),
            Err(KeyFileError::Syntax(3))
        );
        assert_eq!(
            KeyFile::parse("h\n\na: 1\na: 2\n"),
            Err(KeyFileError::Duplicate("a".into()))
        );
        assert_eq!(
            KeyFile::parse("h\n\na: 1\n"),
            Err(KeyFileError::Missing(TAG_PUBLIC))
        );
        let wrong = CROSSBAR_PRIV.replace("5d1030019943", "6d1030019943");
        assert_eq!(KeyFile::parse(&wrong), Err(KeyFileError::Mismatch));
        assert!(matches!(
            KeyFile::parse("h\n\npublic-key-ed25519: abc\n"),
            Err(KeyFileError::Key { .. })
        ));
    }

    #[test]
    fn pair_round_trips() {
        let (public, private) = KeyFile::pair(&[3; 32], "node", &[("node-authid", "n1".into())]);
        assert_eq!(public.private_key(), Ok(None));
        assert_eq!(private.private_key(), Ok(Some([3; 32])));
        assert_eq!(
            KeyFile::parse(&public.to_string()).map(|k| k.get("node-authid").map(str::to_owned)),
            Ok(Some("n1".into()))
        );
    }
}
