//! The public API's wire types and shared rules, declared once and used by the server, the
//! phone core, the command line and the OpenAPI document, so that they cannot drift apart.
//!
//! Pure: no I/O, no clock. Every body derives serde (the wire format) and
//! [`utoipa::ToSchema`] (its schema in the server's `/openapi.json`).
//!
//! # Layout
//!
//! - [`code`]: the 12-digit authority code: normalising what people type, the Verhoeff
//!   check digit that catches typos offline.
//! - [`authority`]: issuing a code and its status (`/v1/authority/codes`), trading a code
//!   for an upload token (`/v1/codes/verify`).
//! - [`keys`]: the DP-3T GAEN v2 key uploads (`/v2/gaen/exposed`,
//!   `/v1/gaen/exposednextday`) and the key push answer (`/v1/push/keys`).
//! - [`check_ins`]: protected check-in reports as JSON: the check-in and venue-warning
//!   uploads, the JSON warning package.
//! - [`app_config`]: the authority's configuration for the apps (`/v1/config`): private
//!   analytics' aggregators and tasks, and the authority's settings.
//! - [`app_settings`]: what the authority tunes without shipping an app (risk parameters,
//!   venue rules, texts in French and English) and the one validator of them.
//! - [`response_signature`]: checking the `Signature` header of an answer.
//! - [`Purpose`]: what an upload token is spent on; each purpose once per token.
//! - [`retention`]: the one 14-day window (today and the 14 days before) shared by upload,
//!   download, export and purge.

pub mod app_config;
pub mod app_settings;
pub mod authority;
pub mod check_ins;
pub mod code;
pub mod keys;
pub mod response_signature;
pub mod retention;

mod purpose;
pub use purpose::Purpose;
