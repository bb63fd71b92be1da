//! The physicians' web UI at `/authority`: sign in, issue codes (one at a time or as a
//! printable sheet), follow one's own codes, daily statistics, and for administrators the
//! accounts, the authority API keys and the audit log. Server-rendered HTML in French and
//! English that works without JavaScript; a small script only adds the copy and print
//! buttons.
//!
//! # Layout
//!
//! - `pages`: the routes and their handlers (this file's [`routes`] lists them).
//! - `views`: the maud templates of every page.
//! - `i18n`: Fluent messages (`locales/{en,fr}/authority.ftl`) and language negotiation.
//! - `accounts`: argon2id passwords, sign-in with delay and lockout, account admin.
//! - `sessions`: session cookies and anti-forgery tokens.
//! - `statistics`: daily counts (from the datastore), their SVG chart and CSV.
//!
//! Every table it reads or writes (accounts, sessions, codes, API keys, the audit log) is
//! reached through `crate::datastore`.
//! - `deep_link`: the `openstopcovid://report?code=…` link and its QR code.
//!
//! # Safety
//!
//! Every answer carries a strict Content-Security-Policy (no inline script or style, no
//! framing, forms post only here), `X-Frame-Options: DENY`, `nosniff`, `no-store` and
//! `Referrer-Policy: same-origin`. maud escapes all interpolated text. Codes appear only in
//! the one answer that shows them; they are never logged (no handler logs a request body,
//! and errors are logged without request data).

pub mod accounts;
pub mod deep_link;
mod i18n;
mod pages;
pub mod sessions;
mod statistics;
pub mod views;

pub use crate::datastore::Role;
pub use accounts::{AccountError, add_user};
pub use i18n::Language;

pub(crate) use pages::routes;
