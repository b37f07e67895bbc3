//! Ids of subscriptions or registrations by URI and match policy, indexed so that finding what
//! matches a topic or procedure costs about the same whatever the number of patterns (issue 19:
//! 20,000 wildcard subscriptions scanned on every publish stalled a whole master for minutes).
//!
//! * exact URIs: a hash map;
//! * prefixes: a hash map per URI, plus the set of prefix lengths in use — a lookup tries the
//!   topic's prefixes of those lengths only;
//! * wildcards: a trie of components (a concrete component is a map edge, an empty one the
//!   node's `any` edge), so a lookup walks only the branches that still match.
//!
//! Every operation is iterative: a URI's length is bounded by the router's `max_uri_length`,
//! but nothing here relies on it for stack depth.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use wamp_proto::{Id, MatchPolicy};

/// Ids by (URI, match policy), with matching lookups. The keys share the URI allocation of the
/// registration or subscription they index.
#[derive(Debug, Default)]
pub struct PatternIndex {
    exact: HashMap<Arc<str>, Id>,
    prefix: HashMap<Arc<str>, Id>,
    /// Length of a prefix pattern → how many prefix patterns have it.
    prefix_lens: BTreeMap<usize, usize>,
    wildcard: HashMap<Arc<str>, Id>,
    trie: Node,
}

/// A node of the wildcard trie: the patterns whose components so far lead here.
#[derive(Debug, Default)]
struct Node {
    /// Edges for concrete components.
    children: HashMap<Box<str>, Node>,
    /// The edge for an empty (any) component.
    any: Option<Box<Node>>,
    /// The pattern ending here.
    id: Option<Id>,
}

impl Node {
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.id.is_none() && self.any.is_none() && self.children.is_empty()
    }

    fn child(&self, component: &str) -> Option<&Node> {
        if component.is_empty() {
            self.any.as_deref()
        } else {
            self.children.get(component)
        }
    }

    fn child_mut(&mut self, component: &str) -> Option<&mut Node> {
        if component.is_empty() {
            self.any.as_deref_mut()
        } else {
            self.children.get_mut(component)
        }
    }

    fn child_or_insert(&mut self, component: &str) -> &mut Node {
        if component.is_empty() {
            self.any.get_or_insert_with(Default::default)
        } else {
            self.children.entry(component.into()).or_default()
        }
    }

    /// Removes the edge to `component`.
    fn cut(&mut self, component: &str) {
        if component.is_empty() {
            self.any = None;
        } else {
            self.children.remove(component);
        }
    }
}

impl Drop for Node {
    /// Drops the subtree iteratively: a deep trie must not overflow the stack.
    fn drop(&mut self) {
        let mut stack: Vec<Node> = self.children.drain().map(|(_, n)| n).collect();
        stack.extend(self.any.take().map(|n| *n));
        while let Some(mut n) = stack.pop() {
            stack.extend(n.children.drain().map(|(_, c)| c));
            stack.extend(n.any.take().map(|c| *c));
        }
    }
}

impl PatternIndex {
    fn map(&self, policy: MatchPolicy) -> &HashMap<Arc<str>, Id> {
        match policy {
            MatchPolicy::Exact => &self.exact,
            MatchPolicy::Prefix => &self.prefix,
            MatchPolicy::Wildcard => &self.wildcard,
        }
    }

    /// The id stored for exactly (uri, policy).
    pub fn get(&self, uri: &str, policy: MatchPolicy) -> Option<Id> {
        self.map(policy).get(uri).copied()
    }

    /// Stores `id` for (uri, policy), replacing what was there.
    pub fn insert(&mut self, uri: Arc<str>, policy: MatchPolicy, id: Id) {
        match policy {
            MatchPolicy::Exact => {
                self.exact.insert(uri, id);
            }
            MatchPolicy::Prefix => {
                if self.prefix.insert(uri.clone(), id).is_none() {
                    *self.prefix_lens.entry(uri.len()).or_default() += 1;
                }
            }
            MatchPolicy::Wildcard => {
                let mut node = &mut self.trie;
                for c in uri.split('.') {
                    node = node.child_or_insert(c);
                }
                node.id = Some(id);
                self.wildcard.insert(uri, id);
            }
        }
    }

    /// Forgets (uri, policy).
    pub fn remove(&mut self, uri: &str, policy: MatchPolicy) {
        match policy {
            MatchPolicy::Exact => {
                self.exact.remove(uri);
            }
            MatchPolicy::Prefix => {
                if self.prefix.remove(uri).is_some() {
                    if let Some(n) = self.prefix_lens.get_mut(&uri.len()) {
                        *n -= 1;
                        if *n == 0 {
                            self.prefix_lens.remove(&uri.len());
                        }
                    }
                }
            }
            MatchPolicy::Wildcard => {
                if self.wildcard.remove(uri).is_some() {
                    self.trie_remove(uri);
                }
            }
        }
    }

    /// Removes a wildcard pattern from the trie, pruning the branch that only it used.
    fn trie_remove(&mut self, uri: &str) {
        let parts: Vec<&str> = uri.split('.').collect();
        // The deepest node on the path that must stay (the root, or one that holds something
        // besides the edge towards this pattern): the edge below it is cut.
        let mut keep = 0;
        let mut node = &self.trie;
        for (depth, c) in parts.iter().enumerate() {
            let edges = node.children.len() + usize::from(node.any.is_some());
            if depth > 0 && (node.id.is_some() || edges > 1) {
                keep = depth;
            }
            match node.child(c) {
                Some(next) => node = next,
                None => return,
            }
        }
        let leaf_has_more = !node.children.is_empty() || node.any.is_some();
        let mut node = &mut self.trie;
        for (depth, c) in parts.iter().enumerate() {
            if depth == keep && !leaf_has_more {
                node.cut(c);
                return;
            }
            match node.child_mut(c) {
                Some(next) => node = next,
                None => return,
            }
        }
        node.id = None;
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.wildcard.is_empty()
    }

    /// The prefix patterns that `uri` starts with, longest first.
    pub fn prefixes<'a>(&'a self, uri: &'a str) -> impl Iterator<Item = Id> + 'a {
        self.prefix_lens
            .range(..=uri.len())
            .rev()
            .filter(|(len, _)| uri.is_char_boundary(**len))
            .filter_map(|(len, _)| self.prefix.get(&uri[..*len]).copied())
    }

    /// The wildcard patterns that match `uri`.
    pub fn wildcards(&self, uri: &str) -> Vec<Id> {
        if self.wildcard.is_empty() {
            return Vec::new();
        }
        let parts: Vec<&str> = uri.split('.').collect();
        let mut found = Vec::new();
        let mut stack = vec![(&self.trie, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            let Some(c) = parts.get(depth) else {
                found.extend(node.id);
                continue;
            };
            if let Some(n) = node.children.get(*c) {
                stack.push((n, depth + 1));
            }
            if let Some(n) = &node.any {
                stack.push((n, depth + 1));
            }
        }
        found
    }

    /// Every id whose pattern matches `uri`: the exact one, then the prefixes (longest first),
    /// then the wildcards.
    pub fn matching(&self, uri: &str) -> Vec<Id> {
        let mut out: Vec<Id> = self.get(uri, MatchPolicy::Exact).into_iter().collect();
        out.extend(self.prefixes(uri));
        out.extend(self.wildcards(uri));
        out
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use wamp_proto::uri;

    use super::*;

    fn random_uri(rng: &mut StdRng, empty: bool) -> String {
        let n = rng.gen_range(1..5);
        let parts: Vec<&str> = (0..n)
            .map(|_| {
                let c = ["a", "b", "c", "ab"][rng.gen_range(0..4)];
                if empty && rng.gen_bool(0.4) {
                    ""
                } else {
                    c
                }
            })
            .collect();
        parts.join(".")
    }

    /// The index finds exactly what a scan with `uri::matches` finds, while patterns come and go.
    #[test]
    fn index_agrees_with_a_scan() {
        let mut rng = StdRng::seed_from_u64(19);
        let mut index = PatternIndex::default();
        let mut all: Vec<(String, MatchPolicy, Id)> = Vec::new();
        for id in 1..3_000u64 {
            if rng.gen_bool(0.3) && !all.is_empty() {
                let (u, p, _) = all.swap_remove(rng.gen_range(0..all.len()));
                index.remove(&u, p);
            } else {
                let policy = [
                    MatchPolicy::Exact,
                    MatchPolicy::Prefix,
                    MatchPolicy::Wildcard,
                ][rng.gen_range(0..3)];
                let mut u = random_uri(&mut rng, policy == MatchPolicy::Wildcard);
                if policy == MatchPolicy::Prefix && rng.gen_bool(0.5) {
                    u.push('.');
                }
                if index.get(&u, policy).is_none() {
                    index.insert(u.as_str().into(), policy, id);
                    all.push((u, policy, id));
                }
            }
            let topic = random_uri(&mut rng, false);
            let mut want: Vec<Id> = all
                .iter()
                .filter(|(u, p, _)| uri::matches(u, *p, &topic))
                .map(|(_, _, id)| *id)
                .collect();
            let mut got = index.matching(&topic);
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "topic {topic}");
        }
        for (u, p, _) in all.drain(..) {
            index.remove(&u, p);
        }
        assert!(index.is_empty());
        assert!(index.trie.is_empty(), "{:?}", index.trie);
        assert!(index.prefix_lens.is_empty());
    }

    #[test]
    fn prefixes_come_longest_first() {
        let mut index = PatternIndex::default();
        for (i, p) in ["", "com.", "com.example", "com.example.x"]
            .iter()
            .enumerate()
        {
            index.insert((*p).into(), MatchPolicy::Prefix, i as Id);
        }
        let got: Vec<Id> = index.prefixes("com.example.xyz").collect();
        assert_eq!(got, vec![3, 2, 1, 0]);
    }

    #[test]
    fn a_deep_pattern_is_no_stack_hazard() {
        let mut index = PatternIndex::default();
        let deep = ".".repeat(200_000);
        index.insert(deep.as_str().into(), MatchPolicy::Wildcard, 1);
        assert_eq!(
            index.wildcards(&format!("a{}", ".a".repeat(200_000))),
            vec![1]
        );
        index.remove(&deep, MatchPolicy::Wildcard);
        index.insert(deep.as_str().into(), MatchPolicy::Wildcard, 2);
        drop(index);
    }
}
