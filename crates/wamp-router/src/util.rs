//! Small helpers: random ids and the routing tables' index types. Timestamps live in
//! [`wamp_proto::time`].

use wamp_proto::{id::global_id, Id};

/// Session ids in insertion order, kept inline while there is just one (the common case: a
/// registration has one callee), so most holders need no allocation of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Members {
    One(Id),
    Many(Vec<Id>),
}

impl Members {
    pub fn push(&mut self, id: Id) {
        match self {
            Members::One(first) => *self = Members::Many(vec![*first, id]),
            Members::Many(v) if v.is_empty() => *self = Members::One(id),
            Members::Many(v) => v.push(id),
        }
    }
    /// Removes every occurrence of `id`.
    pub fn remove(&mut self, id: Id) {
        match self {
            Members::One(x) if *x == id => *self = Members::Many(Vec::new()),
            Members::One(_) => {}
            Members::Many(v) => v.retain(|x| *x != id),
        }
    }
}

impl std::ops::Deref for Members {
    type Target = [Id];
    fn deref(&self) -> &[Id] {
        match self {
            Members::One(id) => std::slice::from_ref(id),
            Members::Many(v) => v,
        }
    }
}

/// Removes `item` from `owner`'s list in a session → ids index, dropping empty lists.
pub(crate) fn unlink(index: &mut std::collections::HashMap<Id, Vec<Id>>, owner: Id, item: Id) {
    if let Some(list) = index.get_mut(&owner) {
        list.retain(|x| *x != item);
        if list.is_empty() {
            index.remove(&owner);
        }
    }
}

/// A fresh random id in the global scope.
pub fn random_id() -> Id {
    global_id(rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::Members;

    #[test]
    fn members() {
        assert!(std::mem::size_of::<Members>() <= 24);
        let mut m = Members::One(1);
        m.push(2);
        m.push(3);
        assert_eq!(&*m, &[1, 2, 3]);
        m.remove(2);
        assert_eq!(&*m, &[1, 3]);
        m.remove(1);
        m.remove(3);
        assert!(m.is_empty());
        m.push(4);
        assert_eq!(m, Members::One(4));
        m.remove(4);
        assert!(m.is_empty());
    }
}
