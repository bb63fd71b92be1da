//! A simulated town of people, phones and venues, with the ground truth of who really met whom.
//!
//! The simulator is how OpenStopCovid shows that it works: it generates two weeks of a
//! town's life (households, workplaces, chance meetings, evenings out), lets an epidemic
//! run through it, and then asks the real system, phones talking HTTP to a real server,
//! whom it warned. Comparing the warnings with the ground truth gives recall (true contacts
//! warned) and precision (warnings that were right), per channel.
//!
//! # Layout
//!
//! - [`town`]: the population: households, workplaces, venues, and who has the app.
//! - [`radio`]: distance to Bluetooth attenuation and RSSI, with the noise real phones see.
//! - [`life`]: one day of the town: encounters (who, when, how long, how far) and venue visits.
//! - [`epidemic`]: who infects whom, symptom onset, testing and reporting.
//! - [`timeline`]: the day-by-day numbers and the SVG chart of them.
//! - [`truth`]: the ground truth per channel, recall and precision against the phones'
//!   warnings, and the cause of every miss and false warning.
//! - [`curves`]: precision and recall as the warning thresholds vary, and their chart.
//!
//! Everything here is deterministic for a given seed and has no I/O; the driver that feeds
//! these events to phones and a server lives with the binary that runs it.

pub mod curves;
pub mod epidemic;
pub mod life;
pub mod radio;
pub mod timeline;
pub mod town;
pub mod truth;

/// Identifies a person of the town (an index into [`town::Town::people`]).
pub type PersonId = usize;

/// Identifies a venue of the town (an index into [`town::Town::venues`]).
pub type VenueId = usize;

/// Seconds in one day.
pub const DAY_SECONDS: u64 = 86_400;
