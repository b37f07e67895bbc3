//! URI rules of WAMP: loose and strict validation, match policies, and pattern matching.

use crate::error::ProtoError;

/// How a subscription or registration URI is matched against topics and procedures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchPolicy {
    Exact,
    Prefix,
    Wildcard,
}

impl MatchPolicy {
    /// Parses the `match` option (`None` is exact).
    pub fn parse(s: Option<&str>) -> Result<Self, ProtoError> {
        match s {
            None | Some("exact") => Ok(MatchPolicy::Exact),
            Some("prefix") => Ok(MatchPolicy::Prefix),
            Some("wildcard") => Ok(MatchPolicy::Wildcard),
            Some(other) => Err(ProtoError::shape(format!("invalid match policy '{other}'"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MatchPolicy::Exact => "exact",
            MatchPolicy::Prefix => "prefix",
            MatchPolicy::Wildcard => "wildcard",
        }
    }
}

fn loose_component(c: &str) -> bool {
    !c.is_empty() && !c.contains(|ch: char| ch.is_whitespace() || ch == '#')
}

fn strict_component(c: &str) -> bool {
    !c.is_empty()
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a URI. `strict` allows only `[0-9a-z_]` components; loose forbids whitespace and `#`.
/// Patterns may have empty components: prefix patterns the last one (or be empty), wildcard
/// patterns any of them.
pub fn validate(uri: &str, policy: MatchPolicy, strict: bool) -> bool {
    let ok = |c: &str| {
        if strict {
            strict_component(c)
        } else {
            loose_component(c)
        }
    };
    match policy {
        MatchPolicy::Exact => uri.split('.').all(ok),
        MatchPolicy::Prefix => {
            let (head, last) = match uri.rsplit_once('.') {
                Some((h, l)) => (Some(h), l),
                None => (None, uri),
            };
            head.is_none_or(|h| h.split('.').all(ok)) && (last.is_empty() || ok(last))
        }
        MatchPolicy::Wildcard => uri.split('.').all(|c| c.is_empty() || ok(c)),
    }
}

/// Whether `uri` matches `pattern` under `policy`.
pub fn matches(pattern: &str, policy: MatchPolicy, uri: &str) -> bool {
    match policy {
        MatchPolicy::Exact => pattern == uri,
        MatchPolicy::Prefix => uri.starts_with(pattern),
        MatchPolicy::Wildcard => wildcard_matches(pattern, uri),
    }
}

fn wildcard_matches(pattern: &str, uri: &str) -> bool {
    let mut p = pattern.split('.');
    let mut u = uri.split('.');
    loop {
        match (p.next(), u.next()) {
            (None, None) => return true,
            (Some(pc), Some(uc)) => {
                if !pc.is_empty() && pc != uc {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Orders wildcard patterns for RPC precedence, as Crossbar does: walking the components left
/// to right, the first position where one pattern is concrete and the other empty decides, and
/// the concrete one wins. Compare the returned keys: the larger one takes precedence.
pub fn wildcard_rank(pattern: &str) -> Vec<bool> {
    pattern.split('.').map(|c| !c.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(validate("com.example.add2", MatchPolicy::Exact, true));
        assert!(!validate("com.Example.add", MatchPolicy::Exact, true));
        assert!(validate("com.Example.add", MatchPolicy::Exact, false));
        assert!(!validate("com..add", MatchPolicy::Exact, false));
        assert!(!validate("com.ex ample", MatchPolicy::Exact, false));
        assert!(!validate("", MatchPolicy::Exact, false));
        assert!(validate("com.example.", MatchPolicy::Prefix, false));
        assert!(validate("", MatchPolicy::Prefix, false));
        assert!(!validate("com..x", MatchPolicy::Prefix, false));
        assert!(validate("com..add", MatchPolicy::Wildcard, false));
        assert!(validate("..", MatchPolicy::Wildcard, false));
    }

    #[test]
    fn matching() {
        assert!(matches("a.b", MatchPolicy::Exact, "a.b"));
        assert!(!matches("a.b", MatchPolicy::Exact, "a.b.c"));
        assert!(matches("a.b", MatchPolicy::Prefix, "a.b.c"));
        assert!(matches("a.b", MatchPolicy::Prefix, "a.bc"));
        assert!(matches("a..c", MatchPolicy::Wildcard, "a.x.c"));
        assert!(!matches("a..c", MatchPolicy::Wildcard, "a.x.y.c"));
        assert!(!matches("a..c", MatchPolicy::Wildcard, "a.x"));
        assert!(matches(
            "crossbarfabriccenter.node..on_ready",
            MatchPolicy::Wildcard,
            "crossbarfabriccenter.node.n1.on_ready"
        ));
    }

    #[test]
    fn wildcard_precedence() {
        assert!(wildcard_rank("a.b.") > wildcard_rank("a..c"));
        assert!(wildcard_rank("a.b..d") > wildcard_rank("a...d"));
        // the leftmost concrete component wins, even against more concrete components later
        assert!(wildcard_rank("a.b..") > wildcard_rank("a..c.d"));
    }
}
