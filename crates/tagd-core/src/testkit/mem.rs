//! `MemStore`: a BTreeMap reference model of [`crate::Store`] (placeholder, filled in by the
//! conformance work).
