//! The diagnostics toolkit: errors collected so all show at once, "did you mean", duplicate options.

use syn::Ident;

/// Errors collected so far; `finish` combines them into one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// `", did you mean `x`?"` when a candidate is close to `given`, else `""`.
pub(crate) fn did_you_mean(given: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (distance(given, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < given.len().max(1))
        .min()
        .map_or_else(String::new, |(_, c)| format!(", did you mean `{c}`?"))
}

/// The edit distance between `a` and `b` (insertions, deletions and substitutions of chars).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Fills the slot of option `key`; an option written twice is an error on its second `key`.
pub(crate) fn set<T>(slot: &mut Option<T>, value: T, key: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate option `{key}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Names in backticks, joined by commas: "`a`, `b`, `c`".
pub(crate) fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::{did_you_mean, list};

    #[test]
    fn suggests_close_names_only() {
        let options = ["name", "kind", "record", "ret", "root"];
        assert_eq!(did_you_mean("nmae", &options), ", did you mean `name`?");
        assert_eq!(did_you_mean("recrod", &options), ", did you mean `record`?");
        assert_eq!(did_you_mean("rooot", &options), ", did you mean `root`?");
        assert_eq!(did_you_mean("level", &options), "");
        assert_eq!(did_you_mean("x", &options), "");
    }

    #[test]
    fn lists_names_in_backticks() {
        assert_eq!(list(&["a", "b"]), "`a`, `b`");
        assert_eq!(list(&[]), "");
    }
}
