//! The physicians' web UI at `/authority`: sign in (with an optional second factor),
//! issue codes (one at a time or as a printable sheet), follow one's own codes, statistics,
//! one's account, and for administrators the accounts, the authority API keys, the audit
//! log and the app configuration. Server-rendered HTML in French and English that works
//! without JavaScript; a small script adds the copy and print buttons, puts times in the
//! browser's zone and runs the expiry countdowns.
//!
//! # Layout
//!
//! - `pages`: the routes and their handlers (this file's [`routes`] lists them).
//! - `views`: the maud templates of every page, in the site layout of [`crate::web`].
//! - `signed_in`: the session of each request, looked up once; the `SignedIn` and
//!   `Admin` extractors; the token forms are checked against; `require_totp`.
//! - `accounts`: argon2id passwords and their strength rule, sign-in (bounded checks,
//!   backoff per email and per client, never a lock), second-factor checks, password
//!   changes, the admins' one-time reset links, account admin.
//! - `sessions`: session cookies and anti-forgery tokens.
//! - `shown_code`: values sealed for one account: what a page shows again after a
//!   redirect (POST → redirect → GET), a TOTP secret at rest, a pending second step.
//! - `totp`: the optional second factor (RFC 6238 codes, enrolment address).
//! - `statistics`: counts per day, per issuer and of waits (from the datastore), small
//!   bar charts and CSV.
//! - `config_page`: the app configuration phones fetch (`/authority/config`, admins):
//!   the form, the preview of what a phone shows, versions and roll back.
//! - `deep_link`: the `openstopcovid://report?code=…` link and its QR code.
//!
//! Every table it reads or writes (accounts, sessions, codes, API keys, reset links, the
//! audit log) is reached through `crate::datastore`.
//!
//! Language, layout, stylesheets, protective headers and the anti-forgery check of forms
//! come from [`crate::web`]; the messages are in `locales/{en,fr}/authority.ftl`.
//!
//! # Safety
//!
//! Every answer carries the web layer's strict Content-Security-Policy (no inline script
//! or style, no framing, forms post only here), `X-Frame-Options: DENY`, `nosniff`,
//! `no-store` and `Referrer-Policy: no-referrer`. Every form is a `CsrfForm`: its token
//! must be the session's. maud escapes all interpolated text. Codes appear only in
//! the one answer that shows them; they are never logged (no handler logs a request body,
//! and errors are logged without request data).

pub mod accounts;
mod config_page;
pub mod deep_link;
mod pages;
pub mod sessions;
mod shown_code;
mod signed_in;
mod statistics;
pub mod totp;
pub mod views;

pub use crate::datastore::Role;
pub use accounts::{AccountError, add_user};

pub(crate) use pages::routes;
