//! Where the router workers of a worker group go (clusters spec §4.5): each worker on the
//! member node with the fewest placements of this cluster, ties broken by the smaller node oid
//! (Crossbar puts them all on the smallest oid, ⚠D27). Used when a group is added and when a
//! node leaves the cluster (its placements move to the remaining members, ⚠D31).

use std::collections::BTreeMap;

use store::DocsTxn;
use uuid::Uuid;

use crate::clusters::db::{put, Keys, Read};
use crate::clusters::model::{Placement, RcMembership, Status, WorkerGroup};
use crate::error::Result;

/// The placements of a cluster per member node.
pub(super) struct Load {
    counts: BTreeMap<Uuid, usize>,
}

impl Load {
    /// The members of cluster `c` (except `without`) and how many of `c`'s placements each runs.
    pub(super) fn of(
        txn: &DocsTxn<'_>,
        keys: &Keys,
        c: Uuid,
        without: Option<Uuid>,
    ) -> Result<Load> {
        let members: Vec<RcMembership> = Read::scan(txn, &keys.rc_nodes(c))?;
        let mut counts: BTreeMap<Uuid, usize> = members
            .iter()
            .map(|m| (m.node_oid, 0))
            .filter(|(n, _)| Some(*n) != without)
            .collect();
        let placements: Vec<Placement> = Read::scan(txn, &keys.placements_of_cluster(c))?;
        for p in placements {
            if let Some(n) = counts.get_mut(&p.node_oid) {
                *n += 1;
            }
        }
        Ok(Load { counts })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The least-loaded member (minimal `(count, node oid)`), counted as loaded by one more.
    pub(super) fn pick(&mut self) -> Option<Uuid> {
        let (node, count) = self
            .counts
            .iter_mut()
            .min_by_key(|(node, count)| (**count, **node))?;
        *count += 1;
        Some(*node)
    }
}

/// Creates the `scale` placements of a new group `wg` (`<name>_<i>`, i from 1).
pub(super) fn place_group(
    txn: &mut DocsTxn<'_>,
    keys: &Keys,
    wg: &WorkerGroup,
    load: &mut Load,
    now: u64,
) -> Result<Vec<Placement>> {
    let mut out = Vec::new();
    for i in 1..=wg.scale {
        let Some(node_oid) = load.pick() else { break };
        let p = Placement {
            oid: Uuid::new_v4(),
            worker_group_oid: wg.oid,
            cluster_oid: wg.cluster_oid,
            node_oid,
            worker_name: format!("{}_{i}", wg.name),
            status: Status::Stopped,
            changed: now,
            tcp_listening_port: 0,
        };
        put(
            txn,
            &keys.placement(p.cluster_oid, p.worker_group_oid, p.oid),
            &p,
        )?;
        out.push(p);
    }
    Ok(out)
}

/// Moves the placements of cluster `c` on `node` to the least-loaded other members; how many
/// moved. The caller has checked that another member exists if there is anything to move.
pub(super) fn move_off(
    txn: &mut DocsTxn<'_>,
    keys: &Keys,
    c: Uuid,
    node: Uuid,
    now: u64,
) -> Result<usize> {
    let mut load = Load::of(txn, keys, c, Some(node))?;
    let placements: Vec<Placement> = Read::scan(txn, &keys.placements_of_cluster(c))?;
    let mut moved = 0;
    for mut p in placements.into_iter().filter(|p| p.node_oid == node) {
        let Some(to) = load.pick() else { break };
        p.node_oid = to;
        p.status = Status::Stopped;
        p.tcp_listening_port = 0;
        p.changed = now;
        put(txn, &keys.placement(c, p.worker_group_oid, p.oid), &p)?;
        moved += 1;
    }
    Ok(moved)
}

/// The placements of cluster `c` on `node`.
pub(super) fn on_node(txn: &DocsTxn<'_>, keys: &Keys, c: Uuid, node: Uuid) -> Result<usize> {
    let placements: Vec<Placement> = Read::scan(txn, &keys.placements_of_cluster(c))?;
    Ok(placements.iter().filter(|p| p.node_oid == node).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(counts: &[(u128, usize)]) -> Load {
        Load {
            counts: counts
                .iter()
                .map(|(n, c)| (Uuid::from_u128(*n), *c))
                .collect(),
        }
    }

    fn picks(l: &mut Load, n: usize) -> Vec<u128> {
        (0..n)
            .filter_map(|_| l.pick())
            .map(|u| u.as_u128())
            .collect()
    }

    #[test]
    fn least_loaded_first_ties_by_oid() {
        assert_eq!(picks(&mut load(&[(2, 0), (1, 0)]), 2), vec![1, 2]);
        assert_eq!(
            picks(&mut load(&[(1, 0), (2, 0), (3, 0)]), 4),
            vec![1, 2, 3, 1]
        );
        assert_eq!(
            picks(&mut load(&[(1, 2), (2, 0), (3, 1)]), 3),
            vec![2, 2, 3]
        );
        assert!(load(&[]).pick().is_none());
    }
}
