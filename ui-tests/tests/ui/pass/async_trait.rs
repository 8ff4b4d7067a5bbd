#![deny(warnings)]

use async_trait::async_trait;
use mackerel_trace::traced;

#[async_trait]
trait Store {
    async fn get(&self, id: u64) -> Result<String, std::io::Error>;
    async fn put(&mut self, id: u64, value: String);

    #[traced]
    async fn provided(&self) -> u8 {
        1
    }
}

struct A;

#[async_trait]
impl Store for A {
    #[traced(record(id))]
    async fn get(&self, id: u64) -> Result<String, std::io::Error> {
        Ok(id.to_string())
    }

    #[traced]
    async fn put(&mut self, id: u64, value: String) {
        let _ = (id, value);
    }
}

struct B;

#[traced(kind = client)]
#[async_trait]
impl Store for B {
    #[traced(record(id))]
    async fn get(&self, id: u64) -> Result<String, std::io::Error> {
        Ok(id.to_string())
    }

    #[traced(skip)]
    async fn put(&mut self, id: u64, value: String) {
        let _ = (id, value);
    }
}

struct C;

#[async_trait]
#[traced]
impl Store for C {
    async fn get(&self, id: u64) -> Result<String, std::io::Error> {
        Ok(id.to_string())
    }

    async fn put(&mut self, id: u64, value: String) {
        let _ = (id, value);
    }
}

fn main() {
    let _ = A.get(1);
    let _ = B.get(1);
    let _ = C.get(1);
    let _ = C.provided();
}
