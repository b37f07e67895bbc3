//! Process resources for many connections: the open-file limit. Every socket is a file
//! descriptor, and the usual soft limit (1024) is far below what a master with thousands of
//! nodes, or a simulator opening thousands of node connections, holds. Here rather than in
//! `wamp-router`: the simulator (a client only) and the `mrealm` binary both depend on this
//! crate already. Unix only, like the rest of the workspace.

/// Raises the soft open-file limit (`RLIMIT_NOFILE`) to the hard limit; returns the new soft
/// limit (unchanged if it already was the hard one).
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // std has no API for resource limits; these two calls are the crate's only `unsafe`.
    #[allow(unsafe_code)]
    // SAFETY: getrlimit only writes the `rlimit` we pass, a valid exclusive reference.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    if got != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        #[allow(unsafe_code)]
        // SAFETY: setrlimit only reads the `rlimit` we pass, a valid shared reference.
        let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
        if set != 0 {
            return Err(std::io::Error::last_os_error());
        }
        lim = raised;
    }
    Ok(lim.rlim_cur)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let first = super::raise_nofile_limit().expect("getrlimit/setrlimit");
        assert!(first >= 64, "{first}");
        // idempotent: a second call finds the soft limit already raised
        assert_eq!(super::raise_nofile_limit().expect("again"), first);
    }
}
