//! Baidu AI Cloud (BCE) Tag dialect of tagd: the wire contract of `shared/spec/bce.md`.
//!
//! This crate holds the protocol-level building blocks only, all pure functions and plain data:
//!
//! - [`sign`]: the `bce-auth-v1` signature (§4): parsing the `Authorization` header, the
//!   canonical request, server-side verification in constant time, the expiry window, and a
//!   client-side signer that reproduces what the Python, Go, Java and Node SDKs send;
//! - [`query`]: percent-decoding of query strings and paths (§1.3) and the router that turns
//!   method + path + query into one of the operations of §2;
//! - [`dto`]: the JSON request and response models of §2 and §5;
//! - [`error`]: the wire error catalogue (§3.2 seed table, §3.3 common table, §3.4 mapping) and
//!   the error body of §3.1.
//!
//! There is no HTTP server wiring and no tag logic here: both come later and build on these.
//! The crate depends on `http` for `HeaderMap` and `StatusCode`, never on a server framework.

pub mod api;
pub mod dto;
pub mod error;
pub mod query;
pub mod sign;
