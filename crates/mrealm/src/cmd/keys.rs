//! `mrealm keys`: creates an Ed25519 key pair in Crossbar's key file format, like
//! `crossbar edge keys`, and never overwrites an existing one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use wamp_proto::keyfile::KeyFile;

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Directory of the key files (`key.pub`, `key.priv`); created if missing.
    #[arg(long, default_value = ".mrealm")]
    pub cbdir: PathBuf,
    /// The node's authid, written as the `node-authid` tag (default: $CROSSBAR_NODE_ID).
    #[arg(long, env = "CROSSBAR_NODE_ID")]
    pub authid: Option<String>,
}

pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let (public, private) = (args.cbdir.join("key.pub"), args.cbdir.join("key.priv"));
    if public.exists() || private.exists() {
        let kf = read_key_file(if private.exists() { &private } else { &public })?;
        println!("existing key pair kept in {}", args.cbdir.display());
        println!("public-key-ed25519: {}", hex::encode(kf.public_key()?));
        return Ok(());
    }
    fs::create_dir_all(&args.cbdir)
        .with_context(|| format!("cannot create {}", args.cbdir.display()))?;
    let secret: [u8; 32] = rand::random();
    let (pub_file, priv_file) = KeyFile::pair(&secret, "node", &tags(args.authid.as_deref()));
    write_new(&private, &priv_file.to_string(), 0o600)?;
    write_new(&public, &pub_file.to_string(), 0o644)?;
    println!("new key pair written to {}", args.cbdir.display());
    println!(
        "public-key-ed25519: {}",
        hex::encode(pub_file.public_key()?)
    );
    Ok(())
}

/// Reads and parses a key file.
pub fn read_key_file(path: &Path) -> anyhow::Result<KeyFile> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    KeyFile::parse(&text).with_context(|| format!("invalid key file {}", path.display()))
}

fn tags(authid: Option<&str>) -> Vec<(&'static str, String)> {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let mut tags = vec![
        ("creator", format!("{user}@{host}")),
        ("created-at", wamp_proto::time::utcnow()),
    ];
    if let Ok(id) = fs::read_to_string("/etc/machine-id") {
        tags.push(("machine-id", id.trim().to_owned()));
    }
    if let Some(a) = authid {
        tags.push(("node-authid", a.to_owned()));
    }
    tags
}

/// Creates `path` with `mode`; fails if it exists (never overwrites a key).
pub(crate) fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}
