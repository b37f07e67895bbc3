//! A transient full disk (issue 19, item 12), on a small tmpfs: writes fail while it is full,
//! each failure is counted and the store reports itself unhealthy; once space returns, writes
//! succeed again without a restart (redb needs the file opened again after an I/O error: before,
//! every later commit failed until the master restarted). Needs root for the mount (CI runs as
//! root); elsewhere the test says it is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use store::{MrealmRecord, Store};
use uuid::Uuid;

/// A tmpfs of `size`, unmounted on drop (before its mount point's temporary directory goes).
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fs");
        std::fs::create_dir(&path).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot mount a tmpfs under CI"
            );
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs(path, dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mrealm(i: usize) -> MrealmRecord {
    MrealmRecord {
        oid: Uuid::new_v4(),
        name: format!("mr{i}"),
        label: None,
        // large records fill the disk in a few writes
        description: Some("x".repeat(64 * 1024)),
        tags: None,
        created: 0,
        owner: Uuid::new_v4(),
        cf_router_worker: None,
        cf_container_worker: None,
    }
}

/// Fills the file system with a file until it is full.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut f = std::fs::File::create(&filler).expect("filler");
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    filler
}

#[test]
fn writes_recover_once_a_full_disk_has_space_again() {
    let Some(fs) = Tmpfs::mount("8m") else { return };
    let store = Store::open_with_cache(&fs.0.join("mrealm.db"), 1 << 20).expect("open");
    store.create_mrealm(&mrealm(0)).expect("first write");
    let filler = fill(&fs.0);
    let mut failed = 0;
    for i in 1..200 {
        if store.create_mrealm(&mrealm(i)).is_err() {
            failed += 1;
            if failed >= 3 {
                break;
            }
        }
    }
    assert!(failed > 0, "the disk never filled up");
    let h = store.health();
    assert!(!h.healthy && h.failed_writes >= 1, "{h:?}");
    assert!(h.last_error.is_some());
    // space returns: the next writes succeed, without reopening by hand
    std::fs::remove_file(filler).expect("free space");
    store
        .create_mrealm(&mrealm(1000))
        .expect("write after space returned");
    store.create_mrealm(&mrealm(1001)).expect("and the next");
    let h = store.health();
    assert!(h.healthy, "{h:?}");
    println!("{h:?}");
    let names: Vec<String> = store
        .list_mrealms()
        .expect("read")
        .into_iter()
        .map(|m| m.name)
        .collect();
    for want in ["mr0", "mr1000", "mr1001"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
}
