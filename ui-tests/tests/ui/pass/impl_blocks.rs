#![deny(warnings)]

use std::fmt;

use mackerel_trace::traced;

struct Repo<T> {
    items: Vec<T>,
}

#[traced(kind = client)]
impl<T: Clone + fmt::Debug> Repo<T>
where
    T: Send,
{
    #[must_use]
    pub fn new() -> Self {
        Repo { items: Vec::new() }
    }

    #[traced(record(index), name = "repo.get", kind = server)]
    pub fn get(&self, index: usize) -> Option<u8> {
        u8::try_from(index).ok()
    }

    #[traced(skip)]
    pub fn first(&self) -> Option<&T> {
        self.items.first()
    }

    pub const fn constant(&self) -> u8 {
        1
    }

    pub async fn count(&self) -> usize {
        self.items.len()
    }
}

struct Shown;

#[traced]
impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shown")
    }
}

fn main() {
    let repo = Repo::<u8>::new();
    let _ = repo.get(0);
    let _ = repo.first();
    let _ = repo.constant();
    let _ = repo.count();
    let _ = Shown.to_string();
}
