//! The retention window (ARCHITECTURE.md, privacy rules): servers and phones keep keys,
//! visits, sightings, codes and logs of use 14 days at most. Upload, download, export and
//! purge all use these constants, so a key accepted is a key published, and nothing is
//! kept a day longer than promised.

use exposure::interval::RETENTION_DAYS;

/// Days anything is kept.
pub const DAYS: u32 = RETENTION_DAYS;

/// Seconds anything is kept.
pub const SECONDS: i64 = DAYS as i64 * 86_400;
