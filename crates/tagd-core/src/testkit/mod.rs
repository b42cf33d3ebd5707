//! Test support shared by every engine: a reference in-memory store and the conformance suite.
pub mod conformance;
pub mod mem;
pub use mem::MemStore;

#[cfg(test)]
mod mem_conformance {
    async fn make() -> (super::MemStore, ()) {
        (super::MemStore::new(), ())
    }
    crate::store_conformance!(make);
}
