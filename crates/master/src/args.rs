//! Reading procedure arguments the Python way: each parameter by position or by keyword, with
//! a type check that answers `wamp.error.invalid_argument` naming the parameter.

use uuid::Uuid;
use wamp_proto::{Dict, Value};

use crate::error::{MasterError, Result};

/// The arguments of one invocation.
pub struct Args<'a> {
    pub args: &'a [Value],
    pub kwargs: &'a Dict,
}

impl<'a> Args<'a> {
    pub fn new(args: &'a [Value], kwargs: &'a Dict) -> Self {
        Args { args, kwargs }
    }

    /// Parameter `i` (or keyword `name`); `None` when absent or null.
    pub fn get(&self, i: usize, name: &str) -> Option<&'a Value> {
        self.args
            .get(i)
            .or_else(|| self.kwargs.get(name))
            .filter(|v| !v.is_null())
    }

    pub fn str(&self, i: usize, name: &str) -> Result<&'a str> {
        match self.get(i, name) {
            Some(Value::Str(s)) => Ok(s),
            Some(v) => Err(bad_type(name, "str", v)),
            None => Err(MasterError::InvalidArgument(format!(
                "missing required argument '{name}'"
            ))),
        }
    }

    pub fn opt_bool(&self, i: usize, name: &str) -> Result<Option<bool>> {
        match self.get(i, name) {
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(bad_type(name, "bool or null", v)),
            None => Ok(None),
        }
    }

    pub fn opt_dict(&self, i: usize, name: &str) -> Result<Option<&'a Dict>> {
        match self.get(i, name) {
            Some(Value::Dict(d)) => Ok(Some(d)),
            Some(v) => Err(bad_type(name, "dict or null", v)),
            None => Ok(None),
        }
    }

    pub fn dict(&self, i: usize, name: &str) -> Result<&'a Dict> {
        self.opt_dict(i, name)?.ok_or_else(|| {
            MasterError::InvalidArgument(format!("missing required argument '{name}'"))
        })
    }

    /// A UUID given as its string form.
    pub fn uuid(&self, i: usize, name: &str) -> Result<Uuid> {
        parse_uuid(self.str(i, name)?, name)
    }
}

/// Parses an oid, answering `invalid_argument` like Crossbar's "badly formed hexadecimal UUID".
pub fn parse_uuid(s: &str, name: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| {
        MasterError::InvalidArgument(format!(
            "invalid {name}: badly formed hexadecimal UUID string"
        ))
    })
}

fn bad_type(name: &str, want: &str, got: &Value) -> MasterError {
    MasterError::InvalidArgument(format!(
        "'{name}' expected type={want} got={}",
        got.type_name()
    ))
}

/// A public key: 64 hex characters, normalized to lower case.
pub fn parse_pubkey(s: &str) -> Result<String> {
    let ok = s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(MasterError::InvalidArgument(format!(
            "invalid pubkey '{s}': must be 64 hex characters"
        )));
    }
    Ok(s.to_ascii_lowercase())
}
