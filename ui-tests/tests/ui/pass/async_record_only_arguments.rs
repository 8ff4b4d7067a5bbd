//! An argument used only by `record(...)` is used: no `unused variable` in any async shape.
#![deny(warnings)]

use async_trait::async_trait;
use mackerel_trace::traced;

#[traced(kind = client, record(db.query.text = sql))]
async fn query(sql: &str) -> u32 {
    1
}

#[traced(record(id, len = name.len(), %tag, ?opts))]
async fn several(id: u64, name: String, tag: &str, opts: Option<u8>) {}

#[traced(record(count = items.len(), first))]
async fn with_mut_and_patterns(mut items: Vec<u8>, (first, second): (u8, u8)) {
    items.push(second);
}

struct Repo;

impl Repo {
    #[traced(record(user.id = id))]
    async fn load(&self, id: u64) -> u8 {
        0
    }
}

#[traced]
impl Repo {
    #[traced(record(id))]
    async fn store(&self, id: u64) {}
}

trait Native {
    async fn find(&self, key: &str) -> u8;
}

impl Native for Repo {
    #[traced(record(key))]
    async fn find(&self, key: &str) -> u8 {
        0
    }
}

#[async_trait]
trait Boxed {
    async fn put(&self, key: String);
}

#[async_trait]
impl Boxed for Repo {
    #[traced(record(key))]
    async fn put(&self, key: String) {}
}

#[traced(record(key))]
fn later(key: u8) -> impl std::future::Future<Output = ()> {
    async {}
}

fn main() {
    let _ = query("select 1");
    let _ = several(1, String::new(), "t", None);
    let _ = with_mut_and_patterns(Vec::new(), (1, 2));
    let _ = Repo.load(1);
    let _ = Repo.store(1);
    let _ = Repo.find("k");
    let _ = Repo.put(String::new());
    let _ = later(1);
}
