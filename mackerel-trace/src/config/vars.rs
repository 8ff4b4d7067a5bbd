//! Where configuration variables are read from: the process environment or a given map.

use std::collections::HashMap;
use std::fmt;

use crate::Error;

/// Variables given with [`Config::with_env_vars`](crate::Config::with_env_vars) in place of the
/// process environment. Its `Debug` lists the names only: values may hold the API key.
#[derive(Clone)]
pub(crate) struct VarMap(HashMap<String, String>);

impl VarMap {
    pub(crate) fn new(vars: HashMap<String, String>) -> Self {
        VarMap(vars)
    }
}

impl fmt::Debug for VarMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_set().entries(names).finish()
    }
}

/// The variables configuration is read from: the process environment or a given map.
pub(crate) struct Vars<'a> {
    map: Option<&'a VarMap>,
}

impl<'a> Vars<'a> {
    pub(crate) fn new(map: Option<&'a VarMap>) -> Self {
        Vars { map }
    }

    /// The variable's value; empty values count as unset, as the OpenTelemetry spec asks.
    pub(crate) fn get(&self, name: &'static str) -> Option<(&'static str, String)> {
        let value = match self.map {
            Some(map) => map.0.get(name).cloned(),
            None => std::env::var(name).ok(),
        }?;
        (!value.trim().is_empty()).then_some((name, value))
    }

    /// The first of `names` that is set.
    pub(crate) fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names.iter().find_map(|name| self.get(name))
    }

    /// Parses the first of `names` that is set, naming it in the error.
    pub(crate) fn parse<T>(
        &self,
        names: &[&'static str],
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Error> {
        self.first(names)
            .map(|(name, value)| parse(&value).map_err(|problem| Error::new(name, problem)))
            .transpose()
    }
}
