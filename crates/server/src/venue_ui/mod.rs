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
//! French and English (`locales/{en,fr}/venues.ftl`), in the site's layout, stylesheet
//! and protective headers from [`crate::web`]: scripts and styles only from this server,
//! no inline script.
//!
//! The venue file is `presence::VenueFile`, the posters come from the `poster` crate; the
//! command line's `venue create|poster` use the same two without the server.
//!
//! # Layout
//!
//! - `pages`: the routes and the HTML of the pages.

mod pages;

pub(crate) use pages::routes;
