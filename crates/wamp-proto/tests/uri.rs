//! URI rules: strict and loose validation for exact, prefix and wildcard patterns, the match
//! tables of each policy, match-policy parsing and wildcard precedence.

use wamp_proto::uri::{matches, validate, wildcard_rank};
use wamp_proto::MatchPolicy::{self, Exact, Prefix, Wildcard};

/// (uri, policy, valid when strict, valid when loose)
const VALIDATION: &[(&str, MatchPolicy, bool, bool)] = &[
    ("com.example.add2", Exact, true, true),
    ("com.example_x.a_1", Exact, true, true),
    ("a", Exact, true, true),
    ("com.Example.add", Exact, false, true),
    ("com.ex-ample.add", Exact, false, true),
    ("com.exämple", Exact, false, true),
    ("wamp.error.no_such_procedure", Exact, true, true),
    ("", Exact, false, false),
    (".", Exact, false, false),
    ("com..add", Exact, false, false),
    ("com.add.", Exact, false, false),
    (".com.add", Exact, false, false),
    ("com.ex ample", Exact, false, false),
    ("com.ex\tample", Exact, false, false),
    ("com.ex\nample", Exact, false, false),
    ("com.ex#ample", Exact, false, false),
    ("com.#", Exact, false, false),
    ("com.example.", Prefix, true, true),
    ("com.example", Prefix, true, true),
    ("com", Prefix, true, true),
    ("", Prefix, true, true),
    ("com..x", Prefix, false, false),
    ("com..", Prefix, false, false),
    (".x", Prefix, false, false),
    ("Com.", Prefix, false, true),
    ("com. x", Prefix, false, false),
    ("com..add", Wildcard, true, true),
    ("..", Wildcard, true, true),
    ("", Wildcard, true, true),
    (".a.", Wildcard, true, true),
    ("com.Ex..add", Wildcard, false, true),
    ("com. ..add", Wildcard, false, false),
    ("com.#..add", Wildcard, false, false),
];

#[test]
fn validation_table() {
    for &(uri, policy, strict, loose) in VALIDATION {
        assert_eq!(
            validate(uri, policy, true),
            strict,
            "strict {policy:?} {uri:?}"
        );
        assert_eq!(
            validate(uri, policy, false),
            loose,
            "loose {policy:?} {uri:?}"
        );
    }
}

#[test]
fn strict_valid_implies_loose_valid() {
    for &(uri, policy, _, _) in VALIDATION {
        if validate(uri, policy, true) {
            assert!(validate(uri, policy, false), "{policy:?} {uri:?}");
        }
    }
}

/// (pattern, policy, uri, matches)
const MATCHING: &[(&str, MatchPolicy, &str, bool)] = &[
    ("a.b", Exact, "a.b", true),
    ("a.b", Exact, "a.b.c", false),
    ("a.b", Exact, "a", false),
    ("a.b", Exact, "A.b", false),
    ("a.b", Prefix, "a.b", true),
    ("a.b", Prefix, "a.b.c", true),
    ("a.b", Prefix, "a.bc", true),
    ("a.b.", Prefix, "a.bc", false),
    ("a.b.", Prefix, "a.b.c", true),
    ("a.b", Prefix, "a", false),
    ("a.b", Prefix, "x.a.b", false),
    ("", Prefix, "anything.at.all", true),
    ("a..c", Wildcard, "a.x.c", true),
    ("a..c", Wildcard, "a.c.c", true),
    ("a..c", Wildcard, "a.x.y.c", false),
    ("a..c", Wildcard, "a.x", false),
    ("a..c", Wildcard, "b.x.c", false),
    ("a..c", Wildcard, "a.x.cc", false),
    ("..", Wildcard, "a.b.c", true),
    ("..", Wildcard, "a.b", false),
    ("a.", Wildcard, "a.b", true),
    ("a.", Wildcard, "a.b.c", false),
    (".b", Wildcard, "a.b", true),
    ("a.b", Wildcard, "a.b", true),
    ("a.b", Wildcard, "a.c", false),
    (
        "crossbarfabriccenter.node..on_ready",
        Wildcard,
        "crossbarfabriccenter.node.n1.on_ready",
        true,
    ),
    (
        "crossbarfabriccenter.node..on_ready",
        Wildcard,
        "crossbarfabriccenter.node.n1.on_exit",
        false,
    ),
];

#[test]
fn matching_table() {
    for &(pattern, policy, uri, want) in MATCHING {
        assert_eq!(
            matches(pattern, policy, uri),
            want,
            "{policy:?} {pattern:?} vs {uri:?}"
        );
    }
}

#[test]
fn every_policy_matches_a_uri_against_itself() {
    for uri in ["a", "a.b", "com.example.add2", "x.y.z.w"] {
        for policy in [Exact, Prefix, Wildcard] {
            assert!(matches(uri, policy, uri), "{policy:?} {uri}");
        }
    }
}

#[test]
fn match_policy_parse() {
    assert_eq!(MatchPolicy::parse(None), Ok(Exact));
    for policy in [Exact, Prefix, Wildcard] {
        assert_eq!(MatchPolicy::parse(Some(policy.as_str())), Ok(policy));
    }
    for bad in ["", "Exact", "regex", "prefix "] {
        assert!(MatchPolicy::parse(Some(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn wildcard_rank_orders_leftmost_concrete_first() {
    // Crossbar's rule: the first position where one is concrete and the other empty decides
    assert!(wildcard_rank("a.b..d") > wildcard_rank("a...d"));
    assert!(wildcard_rank("a.b.c.") > wildcard_rank("a.b.."));
    assert!(wildcard_rank("a.b..") > wildcard_rank("a..c.d"));
    assert!(wildcard_rank("a..c.d") > wildcard_rank(".b.c.d"));
    assert!(wildcard_rank("p2.a..c") > wildcard_rank("p2..b.c"));
    let mut patterns = vec![".b.c.d", "a...d", "a.b..d", "a..c.d"];
    patterns.sort_by_key(|p| std::cmp::Reverse(wildcard_rank(p)));
    assert_eq!(patterns, ["a.b..d", "a..c.d", "a...d", ".b.c.d"]);
}

/// A small deterministic generator (xorshift64) for the invariant sweep below.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn random_uri(state: &mut u64) -> String {
    const ALPHABET: &[char] = &['a', 'b', '.', '.', '_', '1', 'A', ' ', '#', 'é'];
    let len = (xorshift(state) % 8) as usize;
    (0..len)
        .map(|_| ALPHABET[(xorshift(state) % ALPHABET.len() as u64) as usize])
        .collect()
}

#[test]
fn invariants_over_random_uris() {
    let mut state = 0x0123_4567_89ab_cdef;
    let (mut wild_hits, mut valid) = (0, 0);
    for _ in 0..50_000 {
        let (pattern, uri) = (random_uri(&mut state), random_uri(&mut state));
        let _ = wildcard_rank(&pattern);
        assert_eq!(matches(&pattern, Exact, &uri), pattern == uri);
        assert_eq!(matches(&pattern, Prefix, &uri), uri.starts_with(&pattern));
        if matches(&pattern, Wildcard, &uri) {
            wild_hits += 1;
            assert_eq!(
                pattern.split('.').count(),
                uri.split('.').count(),
                "{pattern:?} {uri:?}"
            );
        }
        for strict in [true, false] {
            if validate(&pattern, Exact, strict) {
                valid += 1;
                assert!(validate(&pattern, Prefix, strict) && validate(&pattern, Wildcard, strict));
                assert!(matches(&pattern, Wildcard, &pattern));
            }
        }
    }
    assert!(
        wild_hits > 100 && valid > 100,
        "sweep too thin: {wild_hits} {valid}"
    );
}
