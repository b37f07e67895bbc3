//! `CROSSBAR_WATCH_TO_PAIR`: scans a directory for node keys (`*/key.pub`, recursively) and
//! pairs every key it has never seen into management realm `default`, writing `key.activate`
//! next to the key as Crossbar does. A key's `node-authid` obeys the rule of `pair_node`
//! ([`crate::wire::node::check_authid`], applied where every pairing is stored): a key whose
//! authid breaks it is not paired (logged at each scan until the file is fixed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use store::nodes::Pairing;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use uuid::Uuid;
use wamp_proto::keyfile::KeyFile;

use crate::error::{MasterError, Result};
use crate::util::utcnow;
use crate::Master;

/// Scans now and then every `watch_interval` seconds.
pub(crate) fn spawn(master: Arc<Master>, dir: PathBuf) -> JoinHandle<()> {
    let period = master.config.watch_interval;
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        loop {
            interval.tick().await;
            if let Err(e) = scan(&master, &dir).await {
                warn!(dir = %dir.display(), error = %e, "watch-to-pair scan failed");
            }
        }
    })
}

/// Pairs every new key under `dir`.
pub(crate) async fn scan(master: &Master, dir: &Path) -> Result<usize> {
    let mut paired = 0;
    for key_pub in find_keys(dir, 4) {
        match pair_key(master, &key_pub).await {
            Ok(true) => paired += 1,
            Ok(false) => {}
            Err(e) => warn!(key = %key_pub.display(), error = %e, "cannot auto-pair key"),
        }
    }
    Ok(paired)
}

/// `key.pub` files in the subdirectories of `dir`, up to `depth` levels down.
fn find_keys(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut subdirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        let key = sub.join("key.pub");
        if key.is_file() {
            out.push(key);
        }
        if depth > 1 {
            out.extend(find_keys(&sub, depth - 1));
        }
    }
    out
}

/// Pairs one key if it was never seen; returns whether it paired.
async fn pair_key(master: &Master, key_pub: &Path) -> Result<bool> {
    let text =
        std::fs::read_to_string(key_pub).map_err(|e| MasterError::Internal(e.to_string()))?;
    let kf = KeyFile::parse(&text).map_err(|e| MasterError::InvalidArgument(e.to_string()))?;
    let pubkey = hex::encode(
        kf.public_key()
            .map_err(|e| MasterError::InvalidArgument(e.to_string()))?,
    );
    if master.store.node_by_pubkey(&pubkey)?.is_some() {
        return Ok(false); // known (paired or deliberately unpaired): left alone, as in Crossbar
    }
    let mrealm = master.store.get_mrealm_by_name("default")?;
    let mrealm = mrealm.ok_or_else(|| {
        MasterError::NoSuchRealm("management realm \"default\" is missing".into())
    })?;
    let oid = Uuid::new_v4();
    let authid = kf
        .get("node-authid")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("node-{}", &oid.to_string()[..8]));
    let cluster_ip = kf.get("node-cluster-ip").map(str::to_owned);
    let authextra = json!({"node_oid": oid.to_string(), "cluster_ip": cluster_ip, "mrealm_oid": mrealm.oid.to_string()});
    let pairing = Pairing {
        oid: Some(oid),
        pubkey: pubkey.clone(),
        mrealm_oid: mrealm.oid,
        authid: authid.clone(),
        authextra: Some(authextra),
        owner_oid: Some(master.superuser_oid),
        cluster_ip,
    };
    crate::domain::pair_record(master, &pairing).await?;
    let node = master
        .store
        .node_by_pubkey(&pubkey)?
        .ok_or_else(|| MasterError::Internal("paired node vanished".into()))?;
    write_activation(master, key_pub, &mrealm, &node, &authid)?;
    info!(key = %key_pub.display(), %authid, node = %node.oid, "auto-paired node into management realm default");
    Ok(true)
}

/// Writes `key.activate` beside `key.pub`, never replacing an existing file.
fn write_activation(
    master: &Master,
    key_pub: &Path,
    mrealm: &store::MrealmRecord,
    node: &store::NodeRecord,
    authid: &str,
) -> Result<()> {
    let Some(dir) = key_pub.parent() else {
        return Ok(());
    };
    let path = dir.join("key.activate");
    let code: String = (0..3)
        .map(|_| activation_group())
        .collect::<Vec<_>>()
        .join("-");
    let text = format!(
        "Crossbar.io node activation\n\ncreated-at: {}\nmanagement-url: {}\nmanagement-realm: {}\n\
         management-realm-oid: {}\nnode-oid: {}\nnode-cluster-ip: {}\nnode-authid: {authid}\n\
         activation-code: {code}\npublic-key-ed25519: {}\n",
        utcnow(),
        master.config.management_url(),
        mrealm.name,
        mrealm.oid,
        node.oid,
        node.cluster_ip.as_deref().unwrap_or("unknown"),
        node.pubkey,
    );
    use std::io::Write;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => f
            .write_all(text.as_bytes())
            .map_err(|e| MasterError::Internal(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            warn!(path = %path.display(), "key.activate exists already: left alone");
            Ok(())
        }
        Err(e) => Err(MasterError::Internal(format!(
            "cannot write {}: {e}",
            path.display()
        ))),
    }
}

fn activation_group() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..4)
        .map(|_| CHARS[(Uuid::new_v4().as_u128() % CHARS.len() as u128) as usize] as char)
        .collect()
}
