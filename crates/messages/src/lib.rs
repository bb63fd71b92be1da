//! The public API's wire types and shared rules, declared once and used by the server, the
//! phone core, the command line and the OpenAPI document, so that they cannot drift apart.
//!
//! Pure: no I/O, no clock.
//!
//! # Layout
//!
//! - [`code`]: the 12-digit authority code: normalising what people type, the Verhoeff
//!   check digit that catches typos offline.
//! - [`Purpose`]: what an upload token is spent on; each purpose once per token.
//! - [`retention`]: the one 14-day window (today and the 14 days before) shared by upload,
//!   download, export and purge.

pub mod code;
pub mod retention;

mod purpose;
pub use purpose::Purpose;
