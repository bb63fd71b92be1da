//! The venue owners' web pages at `/venues` (no account): create a venue with its rooms
//! or an event, download the venue file and each room's poster (PDF and SVG); open a
//! venue file to learn whether a visitor who tested positive was there.
//!
//! Opening a venue file happens **in the browser**: `static/venues.js` reads the file,
//! downloads `GET /v1/warnings?format=json` and matches the reports with WebCrypto
//! (SHA-256, HMAC-SHA256, AES-CBC), the same computation as `presence::match_owned_venues`.
//! The file is never uploaded. Creating a venue does go through the server (it draws the
//! QR codes and posters); nothing of it is stored or logged.
//!
//! French and English, with the physicians' UI's Fluent messages
//! (`locales/{en,fr}/venues.ftl`); `?lang=fr|en` overrides `Accept-Language`. Strict
//! Content-Security-Policy: scripts and styles only from this server, no inline script.
//!
//! # Layout
//!
//! - [`venue_file`]: the venue file (JSON): creating a venue's QR codes, reading a file back.
//! - [`poster`]: A4 posters as SVG and PDF.
//! - `pages`: the routes, the HTML and the static script and stylesheet.

mod pages;
pub mod poster;
pub mod venue_file;

pub(crate) use pages::routes;
