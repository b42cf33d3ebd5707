//! Test support shared by every engine: a reference in-memory store and the conformance suite.
pub mod mem;
pub use mem::MemStore;
