//! The management realm controller's node procedures: `get_nodes`, `get_node`,
//! `get_node_by_authid` (shapes and errors of WIRE.md §4 and §8).

use std::sync::Arc;

use store::NodeRecord;
use wamp_proto::Value;

use super::ctx::Ctx;
use crate::args::{parse_uuid, Args};
use crate::error::{MasterError, Result};

/// Registers the node procedures.
pub(crate) async fn register_all(ctx: &Arc<Ctx>) -> Result<()> {
    let api = Arc::new(NodeApi(ctx.clone()));
    let s = &ctx.session;
    super::register(s, "get_nodes", &api, NodeApi::get_nodes).await?;
    super::register(s, "get_node", &api, NodeApi::get_node).await?;
    super::register(s, "get_node_by_authid", &api, NodeApi::get_node_by_authid).await
}

/// The node procedures, over the controller's context.
struct NodeApi(Arc<Ctx>);

impl NodeApi {
    /// `get_nodes(status=None, return_names=None)`: the paired nodes ordered by authid; `online`
    /// ones are connected, `offline` ones are all the others (including nodes that left).
    fn get_nodes(&self, a: &Args<'_>) -> Result<Value> {
        let status = match a.get(0, "status") {
            None => None,
            Some(Value::Str(s)) if s == "online" || s == "offline" => Some(s.as_str() == "online"),
            Some(Value::Str(s)) => {
                return Err(MasterError::InvalidArgument(format!(
                    "invalid status filter \"{s}\": use \"online\", \"offline\" or null"
                )))
            }
            Some(v) => {
                return Err(MasterError::InvalidArgument(format!(
                    "'status' expected types=['str', 'NoneType'] got={}",
                    v.type_name()
                )))
            }
        };
        let names = a.opt_bool(1, "return_names")?.unwrap_or(false);
        let nodes = self.0.store.list_nodes_by_mrealm(self.0.mrealm.oid)?;
        let view = self.0.nodes.view();
        let selected = nodes.iter().filter(|n| {
            let online = view.is_online(&n.oid);
            status.is_none_or(|want| want == online)
        });
        Ok(Value::List(
            selected
                .map(|n| {
                    if names {
                        n.authid.clone().into()
                    } else {
                        n.oid.to_string().into()
                    }
                })
                .collect(),
        ))
    }

    /// `get_node(node_oid)`.
    fn get_node(&self, a: &Args<'_>) -> Result<Value> {
        let oid = match a.get(0, "node_oid") {
            Some(Value::Str(s)) => parse_uuid(s, "node_oid")?,
            Some(v) => {
                return Err(MasterError::InvalidArgument(format!(
                    "'node_oid' expected type=str got={}",
                    v.type_name()
                )))
            }
            None => {
                return Err(MasterError::InvalidArgument(
                    "missing required argument 'node_oid'".into(),
                ))
            }
        };
        let node = self
            .0
            .store
            .get_node(oid)?
            .filter(|n| n.mrealm_oid == Some(self.0.mrealm.oid));
        let node = node.ok_or_else(|| {
            MasterError::NoSuchObject(format!("no node with object ID {oid} in management realm"))
        })?;
        Ok(self.node_value(&node))
    }

    /// `get_node_by_authid(node_authid)`.
    fn get_node_by_authid(&self, a: &Args<'_>) -> Result<Value> {
        let authid = a.str(0, "node_authid")?;
        let node = self.0.store.node_by_authid(self.0.mrealm.oid, authid)?;
        let node = node.ok_or_else(|| {
            MasterError::NoSuchObject(format!("no node with authid {authid} in management realm"))
        })?;
        Ok(self.node_value(&node))
    }

    /// The stored node object plus `heartbeat` (last seq), `timestamp` (its ns) and `status`.
    fn node_value(&self, n: &NodeRecord) -> Value {
        let mut v = crate::domain::node_value(n, None);
        let view = self.0.nodes.view();
        let state = view.get(&n.oid);
        if let Value::Dict(d) = &mut v {
            d.insert("heartbeat".into(), state.and_then(|s| s.counter).into());
            d.insert("timestamp".into(), state.and_then(|s| s.time).into());
            let online = state.is_some_and(|s| s.online);
            d.insert(
                "status".into(),
                (if online { "online" } else { "offline" }).into(),
            );
        }
        v
    }
}
