//! `mrealm init`: creates the operator profile like `crossbar shell init`: a user key pair
//! (`default.priv`, `default.pub`, tag `user-id`) and `config.ini`; never overwrites keys.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use wamp_proto::keyfile::KeyFile;

use crate::cli::profile::{self, DEFAULT_URL};
use crate::cmd::keys::write_new;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mrealm init --yes\n  mrealm init --dir ./ops --yes \
    && CROSSBAR_FABRIC_SUPERUSER=./ops/default.pub mrealm master start"
)]
pub struct InitArgs {
    /// Profile directory [default: dirname of $CROSSBAR_FABRIC_SUPERUSER, else ~/.crossbar].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn run(args: InitArgs) -> anyhow::Result<()> {
    let dir = args.dir.unwrap_or_else(profile::dotdir);
    let (private, public) = (dir.join("default.priv"), dir.join("default.pub"));
    if private.exists() || public.exists() {
        let kf =
            crate::cmd::keys::read_key_file(if private.exists() { &private } else { &public })?;
        println!("existing profile kept in {}", dir.display());
        println!("public-key-ed25519: {}", hex::encode(kf.public_key()?));
        return Ok(());
    }
    if !args.yes && !confirm(&dir)? {
        anyhow::bail!("cannot create the profile: not confirmed — pass --yes to skip the question");
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret: [u8; 32] = rand::random();
    let tags = [
        ("user-id", "unknown".to_owned()),
        ("created-at", wamp_proto::time::utcnow()),
    ];
    let (pub_file, priv_file) = KeyFile::pair(&secret, "user", &tags);
    write_new(&private, &priv_file.to_string(), 0o600)?;
    write_new(&public, &pub_file.to_string(), 0o644)?;
    write_config(&dir)?;
    println!("new profile written to {}", dir.display());
    println!(
        "public-key-ed25519: {}",
        hex::encode(pub_file.public_key()?)
    );
    Ok(())
}

/// Writes `config.ini` unless one exists.
fn write_config(dir: &std::path::Path) -> anyhow::Result<()> {
    let path = dir.join("config.ini");
    if path.exists() {
        return Ok(());
    }
    let text =
        format!("[default]\n\nurl={DEFAULT_URL}\nprivkey=default.priv\npubkey=default.pub\n");
    write_new(&path, &text, 0o600)
}

/// Asks on a terminal; without one there is nobody to ask, so it proceeds.
fn confirm(dir: &std::path::Path) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    print!("create a new profile in {}? [y/N] ", dir.display());
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
