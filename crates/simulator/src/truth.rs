//! The ground truth: who really had a risky contact with someone infectious, which of those
//! contacts the system could have warned, and why each warning was missed or false.
//!
//! The definitions:
//! - **proximity**: the public-health one that GAEN approximates: at least 15 minutes in one
//!   day within 2 metres of a person during that person's infectious period (2 days before
//!   symptom onset to 7 days after) and before they were diagnosed (then they isolate, and
//!   their phone has uploaded what it had);
//! - **presence**: the protocol's own rule (PROTOCOLS.md §5) applied to the real stays: the
//!   infectious visitor's stay, within the infectious period and before the diagnosis,
//!   extended by the aerosol time and aligned to 10-minute intervals as CWA derives it, must
//!   overlap the guest's stay for a risk score (overlap minutes × the weight of the level
//!   phones upload) of at least [`HIGH_RISK_THRESHOLD`] on one venue and day. Someone who
//!   arrives within half an hour of an infectious visitor's departure shares their air: the
//!   protocol warns them on purpose, so the truth counts them.
//!
//! A contact can be warned when both people run the app and the infectious one reported;
//! recall and precision are measured on those. The others are counted apart, by cause
//! ([`Cause`]), as are the misses and the false warnings.

use std::collections::{BTreeMap, BTreeSet};

use presence::matching::{HIGH_RISK_THRESHOLD, transmission_risk_weight};
use presence::time_derivation::{TimeWindow, derive_time};
use serde::Serialize;

use crate::epidemic::{
    DIAGNOSIS_HOUR, Epidemic, INFECTIOUS_DAYS_AFTER_ONSET, INFECTIOUS_DAYS_BEFORE_ONSET,
};
use crate::life::{Day, Visit};
use crate::{DAY_SECONDS, PersonId, VenueId};

/// Close means within this distance, metres.
pub const CLOSE_CONTACT_DISTANCE_M: f64 = 2.0;

/// Minutes of close contact in one day that make a contact risky.
pub const CLOSE_CONTACT_MINUTES: u32 = 15;

/// What the town really did, kept as the days go by.
#[derive(Clone, Debug)]
pub struct GroundTruth {
    /// Unix seconds of the midnight that starts day 0.
    first_midnight: u64,
    days: Vec<Day>,
}

/// What the run saw besides the town's life: who reported when, what phones kept, how they
/// scored.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    pub app_users: BTreeSet<PersonId>,
    /// Unix seconds at which each reporter reported.
    pub reported_at: BTreeMap<PersonId, u64>,
    /// The stay each visitor's phone kept of each visit, by person and real check-in time;
    /// `None` when the visitor did not check in.
    pub recorded_stays: BTreeMap<(PersonId, u64), Option<TimeWindow>>,
    /// Each app user's highest daily proximity score (GAEN weighted seconds).
    pub proximity_scores: BTreeMap<PersonId, f64>,
    /// Each app user's highest venue risk score (one venue, one day).
    pub venue_scores: BTreeMap<PersonId, f64>,
    /// The transmission risk level phones give the visits they upload.
    pub check_in_transmission_risk_level: u32,
    /// The last simulated day.
    pub last_day: u32,
}

/// The scores from which a phone warns, per channel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// Daily proximity score, GAEN weighted seconds.
    pub proximity: f64,
    /// Venue risk score.
    pub presence: f64,
}

/// Why someone exposed was out of reach, missed, or warned without cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Out of reach: the exposed person runs no app.
    TargetHasNoApp,
    /// Out of reach: the infectious person runs no app.
    SourceHasNoApp,
    /// Out of reach: the infectious person was never diagnosed (no symptoms).
    SourceNotDiagnosed,
    /// Out of reach: the infectious person was diagnosed but made no report.
    SourceDidNotReport,
    /// Missed: the guest or the infectious visitor did not check in.
    NotCheckedIn,
    /// Missed or false: the stays the phones kept differ from the real ones (an automatic
    /// check-out before leaving, a forgotten check-out).
    CheckOutTimes,
    /// Missed: the phone matched the keys, but its score stayed under the threshold
    /// (Bluetooth attenuation read as farther, or too few scans).
    ScoredBelowThreshold,
    /// Missed: the keys of the contact's day were published after the run ended.
    ReleasedTooLate,
    /// Missed: nothing matched although the rule says it should have.
    NotMatched,
    /// False: the contact was long enough but not within 2 m (attenuation read as closer).
    FartherThanTwoMetres,
    /// False: the contact was within 2 m but shorter than 15 minutes in the day.
    ShorterThanFifteenMinutes,
    /// False: the contact happened outside the reporter's infectious period.
    OutsideInfectiousPeriod,
    /// False: the overlap was under the protocol's rule.
    BelowOverlapRule,
    /// False: nothing the truth knows explains it.
    Unexplained,
}

impl Cause {
    /// A few words for people.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::TargetHasNoApp => "no app",
            Cause::SourceHasNoApp => "infectious person had no app",
            Cause::SourceNotDiagnosed => "infectious person never diagnosed",
            Cause::SourceDidNotReport => "report not made",
            Cause::NotCheckedIn => "did not check in",
            Cause::CheckOutTimes => "check-out times (automatic or forgotten)",
            Cause::ScoredBelowThreshold => "scored below threshold (attenuation misread)",
            Cause::ReleasedTooLate => "keys released too late",
            Cause::NotMatched => "not matched",
            Cause::FartherThanTwoMetres => "farther than 2 m (attenuation misread)",
            Cause::ShorterThanFifteenMinutes => "shorter than 15 min",
            Cause::OutsideInfectiousPeriod => "outside the infectious period",
            Cause::BelowOverlapRule => "below the overlap rule",
            Cause::Unexplained => "unexplained",
        }
    }
}

/// How one channel did, with every miss and false warning explained.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelReport {
    pub score: ChannelScore,
    /// People exposed whom the system could not warn, by cause (not counted in recall).
    pub unreachable: BTreeMap<Cause, usize>,
    /// People who could have been warned and were not, by cause.
    pub missed: BTreeMap<Cause, usize>,
    /// People warned without a contact that could have warned them, by cause.
    pub false_warnings: BTreeMap<Cause, usize>,
}

/// One channel's truth and how the phones matched it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelEvaluation {
    /// The people who should have been warned, each with the first day on which they could
    /// have been (the later of the contact and the report).
    pub exposed: BTreeMap<PersonId, u32>,
    pub report: ChannelReport,
}

/// Both channels.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub proximity: ChannelEvaluation,
    pub presence: ChannelEvaluation,
}

/// Minutes two people spent together in one day.
#[derive(Clone, Copy, Debug, Default)]
struct Together {
    close_minutes: u32,
    minutes: u32,
}

/// Venue overlap minutes per (target, source, venue, day).
type VenueMinutes = BTreeMap<(PersonId, PersonId, VenueId, u32), u64>;

impl GroundTruth {
    /// An empty truth for a town whose day 0 starts at `first_midnight` (unix seconds).
    pub fn new(first_midnight: u64) -> Self {
        Self {
            first_midnight,
            days: Vec::new(),
        }
    }

    /// Records one day's encounters and visits.
    pub fn record(&mut self, day: &Day) {
        self.days.push(day.clone());
    }

    /// Compares the phones' scores with the truth, per channel.
    pub fn evaluate(
        &self,
        epidemic: &Epidemic,
        observations: &Observations,
        thresholds: Thresholds,
    ) -> Evaluation {
        let context = Context {
            truth: self,
            epidemic,
            observations,
        };
        Evaluation {
            proximity: context.proximity(thresholds.proximity),
            presence: context.presence(thresholds.presence),
        }
    }
}

struct Context<'a> {
    truth: &'a GroundTruth,
    epidemic: &'a Epidemic,
    observations: &'a Observations,
}

impl Context<'_> {
    fn day_start(&self, day: i64) -> u64 {
        (self.truth.first_midnight as i64 + day * DAY_SECONDS as i64).max(0) as u64
    }

    fn day_of(&self, unix_seconds: u64) -> u32 {
        (unix_seconds.saturating_sub(self.truth.first_midnight) / DAY_SECONDS) as u32
    }

    /// When the person was diagnosed or reported (and stopped meeting people and
    /// uploading); `u64::MAX` for people never diagnosed.
    fn cut_off(&self, person: PersonId) -> u64 {
        if let Some(&at) = self.observations.reported_at.get(&person) {
            return at;
        }
        self.epidemic
            .infections
            .get(person)
            .copied()
            .flatten()
            .and_then(|infection| infection.diagnosed_day)
            .map_or(u64::MAX, |day| self.day_start(day) + DIAGNOSIS_HOUR * 3600)
    }

    /// The span in which `person` could infect others, up to their diagnosis.
    fn infectious_span(&self, person: PersonId) -> Option<TimeWindow> {
        let infection = self.epidemic.infections.get(person).copied().flatten()?;
        let start = self.day_start(infection.onset_day - INFECTIOUS_DAYS_BEFORE_ONSET);
        let end = self.day_start(infection.onset_day + INFECTIOUS_DAYS_AFTER_ONSET + 1);
        Some(TimeWindow::new(start, end.min(self.cut_off(person))))
    }

    fn has_app(&self, person: PersonId) -> bool {
        self.observations.app_users.contains(&person)
    }

    fn reported(&self, person: PersonId) -> bool {
        self.observations.reported_at.contains_key(&person)
    }

    fn report_day(&self, person: PersonId) -> u32 {
        self.observations
            .reported_at
            .get(&person)
            .map_or(u32::MAX, |&at| self.day_of(at))
    }

    /// People the channel can be judged on: app users who did not report themselves.
    fn judged(&self, person: PersonId) -> bool {
        self.has_app(person) && !self.reported(person)
    }

    fn warned(&self, scores: &BTreeMap<PersonId, f64>, threshold: f64) -> BTreeSet<PersonId> {
        scores
            .iter()
            .filter(|&(&person, &score)| score >= threshold && self.judged(person))
            .map(|(&person, _)| person)
            .collect()
    }

    /// Why `target`, exposed by `sources`, could not be warned; `None` if they could.
    fn unreachable_cause(
        &self,
        target: PersonId,
        sources: impl IntoIterator<Item = PersonId>,
    ) -> Option<Cause> {
        if !self.has_app(target) {
            return Some(Cause::TargetHasNoApp);
        }
        let mut best: Option<Cause> = None;
        for source in sources {
            let cause = if self.reported(source) {
                return None;
            } else if self.has_app(source) && self.cut_off(source) != u64::MAX {
                Cause::SourceDidNotReport
            } else if !self.has_app(source) && self.cut_off(source) != u64::MAX {
                Cause::SourceHasNoApp
            } else {
                Cause::SourceNotDiagnosed
            };
            // The cause closest to a warning wins: a report not made before a missing app.
            best = Some(best.map_or(cause, |other| other.max(cause)));
        }
        best
    }

    fn proximity(&self, threshold: f64) -> ChannelEvaluation {
        // Time together per (target, source, day), infectious and before diagnosis, and the
        // pairs that met only outside that span.
        let mut together: BTreeMap<(PersonId, PersonId, u32), Together> = BTreeMap::new();
        let mut met_outside: BTreeSet<(PersonId, PersonId)> = BTreeSet::new();
        for day in &self.truth.days {
            for encounter in &day.encounters {
                for (target, source) in [(encounter.a, encounter.b), (encounter.b, encounter.a)] {
                    let Some(span) = self.infectious_span(source) else {
                        continue;
                    };
                    let start = encounter.start_unix_seconds;
                    if start < span.start || start >= span.end {
                        met_outside.insert((target, source));
                        continue;
                    }
                    let entry = together.entry((target, source, day.day)).or_default();
                    entry.minutes += encounter.minutes;
                    if encounter.distance_m <= CLOSE_CONTACT_DISTANCE_M {
                        entry.close_minutes += encounter.minutes;
                    }
                }
            }
        }
        let mut risky: BTreeMap<PersonId, Vec<(PersonId, u32)>> = BTreeMap::new();
        for (&(target, source, day), time) in &together {
            if time.close_minutes >= CLOSE_CONTACT_MINUTES && !self.reported(target) {
                risky.entry(target).or_default().push((source, day));
            }
        }
        let mut exposed = BTreeMap::new();
        let mut unreachable: BTreeMap<Cause, usize> = BTreeMap::new();
        for (&target, contacts) in &risky {
            match self.unreachable_cause(target, contacts.iter().map(|&(source, _)| source)) {
                Some(cause) => *unreachable.entry(cause).or_default() += 1,
                None => {
                    let from = contacts
                        .iter()
                        .filter(|&&(source, _)| self.reported(source))
                        .map(|&(source, day)| day.max(self.report_day(source)))
                        .min()
                        .unwrap_or(0);
                    exposed.insert(target, from);
                }
            }
        }
        let scores = &self.observations.proximity_scores;
        let warned = self.warned(scores, threshold);
        let mut missed: BTreeMap<Cause, usize> = BTreeMap::new();
        for (&target, _) in exposed.iter().filter(|(p, _)| !warned.contains(p)) {
            let cause = if scores.get(&target).is_some_and(|&score| score > 0.0) {
                Cause::ScoredBelowThreshold
            } else {
                let last_day = self.observations.last_day;
                // A contact's key is published the day after the report at the earliest,
                // and matched at the next morning's sync.
                let too_late = risky[&target]
                    .iter()
                    .filter(|&&(source, _)| self.reported(source))
                    .all(|&(source, day)| day.max(self.report_day(source)) + 2 > last_day);
                if too_late {
                    Cause::ReleasedTooLate
                } else {
                    Cause::NotMatched
                }
            };
            *missed.entry(cause).or_default() += 1;
        }
        let mut false_warnings: BTreeMap<Cause, usize> = BTreeMap::new();
        for &target in warned.iter().filter(|p| !exposed.contains_key(p)) {
            let with_reporters = together
                .range((target, 0, 0)..(target + 1, 0, 0))
                .filter(|&(&(_, source, _), _)| self.reported(source))
                .map(|(_, time)| *time);
            let mut cause = Cause::Unexplained;
            for time in with_reporters {
                if time.minutes >= CLOSE_CONTACT_MINUTES {
                    cause = Cause::FartherThanTwoMetres;
                    break;
                }
                cause = Cause::ShorterThanFifteenMinutes;
            }
            if cause == Cause::Unexplained
                && met_outside
                    .range((target, 0)..(target + 1, 0))
                    .any(|&(_, source)| self.reported(source))
            {
                cause = Cause::OutsideInfectiousPeriod;
            }
            *false_warnings.entry(cause).or_default() += 1;
        }
        let truly_exposed = exposed.keys().copied().collect();
        ChannelEvaluation {
            report: ChannelReport {
                score: ChannelScore::compare(&truly_exposed, &warned),
                unreachable,
                missed,
                false_warnings,
            },
            exposed,
        }
    }

    /// Overlap minutes of every target's stay with every source's uploaded window, as the
    /// protocol derives it, for the stays and windows the closures give.
    fn venue_minutes(
        &self,
        target_stay: impl Fn(&Visit) -> Option<TimeWindow>,
        source_window: impl Fn(&Visit) -> Option<TimeWindow>,
    ) -> VenueMinutes {
        let mut minutes = VenueMinutes::new();
        for day in &self.truth.days {
            let uploaded: Vec<(&Visit, TimeWindow)> = day
                .visits
                .iter()
                .filter_map(|visit| {
                    let window = source_window(visit)?;
                    let derived = derive_time(window.start, window.end)?;
                    Some((visit, derived))
                })
                .collect();
            for guest in &day.visits {
                let Some(stay) = target_stay(guest) else {
                    continue;
                };
                for &(source, window) in &uploaded {
                    if source.venue != guest.venue || source.person == guest.person {
                        continue;
                    }
                    // Rounded to the nearest minute, as the phone's matching does.
                    let overlap = (stay.overlap_seconds(&window) + 30) / 60;
                    if overlap > 0 {
                        *minutes
                            .entry((guest.person, source.person, guest.venue, day.day))
                            .or_default() += overlap;
                    }
                }
            }
        }
        minutes
    }

    /// Each target's highest score on one venue and day, counting the sources `counts` keeps.
    fn venue_scores(
        &self,
        minutes: &VenueMinutes,
        counts: impl Fn(PersonId) -> bool,
    ) -> BTreeMap<PersonId, f64> {
        let weight = transmission_risk_weight(self.observations.check_in_transmission_risk_level);
        let mut per_place: BTreeMap<(PersonId, VenueId, u32), f64> = BTreeMap::new();
        for (&(target, source, venue, day), &overlap) in minutes {
            if counts(source) {
                *per_place.entry((target, venue, day)).or_default() += weight * overlap as f64;
            }
        }
        let mut best: BTreeMap<PersonId, f64> = BTreeMap::new();
        for ((target, _, _), score) in per_place {
            let entry = best.entry(target).or_default();
            *entry = entry.max(score);
        }
        best
    }

    fn presence(&self, threshold: f64) -> ChannelEvaluation {
        let real = |visit: &Visit| {
            Some(TimeWindow::new(
                visit.check_in_unix_seconds,
                visit.check_out_unix_seconds,
            ))
        };
        let recorded = |visit: &Visit| {
            self.observations
                .recorded_stays
                .get(&(visit.person, visit.check_in_unix_seconds))
                .copied()
                .flatten()
        };
        let within = |window: TimeWindow, span: TimeWindow| {
            let clipped = TimeWindow::new(window.start.max(span.start), window.end.min(span.end));
            (clipped.end > clipped.start).then_some(clipped)
        };
        let infectious_part = |stay: Option<TimeWindow>, person: PersonId| {
            within(stay?, self.infectious_span(person)?)
        };
        // The truth: real stays, every infectious person's uploadable window.
        let truth = self.venue_minutes(real, |visit| infectious_part(real(visit), visit.person));
        // What the phones had: kept stays, reporters' windows.
        let kept = self.venue_minutes(recorded, |visit| {
            self.reported(visit.person)
                .then(|| infectious_part(recorded(visit), visit.person))
                .flatten()
        });
        // Real stays against reporters' whole stays before their report.
        let unbounded = self.venue_minutes(real, |visit| {
            let before_report = TimeWindow::new(0, self.cut_off(visit.person));
            self.reported(visit.person)
                .then(|| within(real(visit)?, before_report))
                .flatten()
        });

        let everyone = self.venue_scores(&truth, |_| true);
        let from_reporters = self.venue_scores(&truth, |source| self.reported(source));
        let kept_scores = self.venue_scores(&kept, |_| true);
        let unbounded_scores = self.venue_scores(&unbounded, |_| true);

        let mut exposed = BTreeMap::new();
        let mut unreachable: BTreeMap<Cause, usize> = BTreeMap::new();
        for (&target, &score) in &everyone {
            if score < threshold || self.reported(target) {
                continue;
            }
            let sources: BTreeSet<PersonId> = truth
                .range((target, 0, 0, 0)..(target + 1, 0, 0, 0))
                .map(|(&(_, source, _, _), _)| source)
                .collect();
            let reachable = from_reporters.get(&target).copied().unwrap_or(0.0) >= threshold;
            let cause = if !self.has_app(target) {
                Some(Cause::TargetHasNoApp)
            } else if reachable {
                None
            } else {
                self.unreachable_cause(
                    target,
                    sources.into_iter().filter(|&source| !self.reported(source)),
                )
                .or(Some(Cause::SourceNotDiagnosed))
            };
            match cause {
                Some(cause) => *unreachable.entry(cause).or_default() += 1,
                None => {
                    let from = truth
                        .range((target, 0, 0, 0)..(target + 1, 0, 0, 0))
                        .filter(|&(&(_, source, _, _), _)| self.reported(source))
                        .map(|(&(_, source, _, day), _)| day.max(self.report_day(source)))
                        .min()
                        .unwrap_or(0);
                    exposed.insert(target, from);
                }
            }
        }

        let warned = self.warned(&self.observations.venue_scores, threshold);
        let not_checked_in = |target: PersonId| {
            // A visit of the target's, or of a reporter they overlapped, that no phone kept.
            truth
                .range((target, 0, 0, 0)..(target + 1, 0, 0, 0))
                .filter(|&(&(_, source, _, _), _)| self.reported(source))
                .any(|(&(_, source, venue, day), _)| {
                    self.truth.days.iter().filter(|d| d.day == day).any(|d| {
                        d.visits.iter().any(|visit| {
                            visit.venue == venue
                                && (visit.person == target || visit.person == source)
                                && recorded(visit).is_none()
                        })
                    })
                })
        };
        let mut missed: BTreeMap<Cause, usize> = BTreeMap::new();
        for &target in exposed.keys().filter(|p| !warned.contains(p)) {
            let cause = if kept_scores.get(&target).copied().unwrap_or(0.0) >= threshold {
                Cause::NotMatched
            } else if not_checked_in(target) {
                Cause::NotCheckedIn
            } else {
                Cause::CheckOutTimes
            };
            *missed.entry(cause).or_default() += 1;
        }
        let mut false_warnings: BTreeMap<Cause, usize> = BTreeMap::new();
        for &target in warned.iter().filter(|p| !exposed.contains_key(p)) {
            let score_of =
                |scores: &BTreeMap<PersonId, f64>| scores.get(&target).copied().unwrap_or(0.0);
            let cause = if score_of(&unbounded_scores) >= threshold
                && score_of(&from_reporters) < threshold
                && score_of(&kept_scores) < threshold
            {
                Cause::OutsideInfectiousPeriod
            } else if score_of(&kept_scores) >= threshold {
                Cause::CheckOutTimes
            } else if score_of(&unbounded_scores) > 0.0 {
                Cause::BelowOverlapRule
            } else {
                Cause::Unexplained
            };
            *false_warnings.entry(cause).or_default() += 1;
        }
        let truly_exposed = exposed.keys().copied().collect();
        ChannelEvaluation {
            report: ChannelReport {
                score: ChannelScore::compare(&truly_exposed, &warned),
                unreachable,
                missed,
                false_warnings,
            },
            exposed,
        }
    }
}

/// The high-risk threshold of the venue channel (re-exported so that callers need not know
/// the protocol crate).
pub const VENUE_HIGH_RISK_THRESHOLD: f64 = HIGH_RISK_THRESHOLD;

/// How well one channel's warnings matched the truth.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ChannelScore {
    /// People who should have been warned.
    pub truly_exposed: usize,
    /// People who were warned.
    pub warned: usize,
    /// People who were warned and should have been.
    pub correctly_warned: usize,
    /// Share of the truly exposed who were warned (1 when nobody was exposed).
    pub recall: f64,
    /// Share of the warnings that were right (1 when nobody was warned).
    pub precision: f64,
}

impl ChannelScore {
    /// Compares the warned set with the truly exposed set.
    pub fn compare(truly_exposed: &BTreeSet<PersonId>, warned: &BTreeSet<PersonId>) -> Self {
        let correctly_warned = truly_exposed.intersection(warned).count();
        let ratio = |part: usize, whole: usize| {
            if whole == 0 {
                1.0
            } else {
                part as f64 / whole as f64
            }
        };
        Self {
            truly_exposed: truly_exposed.len(),
            warned: warned.len(),
            correctly_warned,
            recall: ratio(correctly_warned, truly_exposed.len()),
            precision: ratio(correctly_warned, warned.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epidemic::Infection;
    use crate::life::{Encounter, Setting};

    const FIRST_MIDNIGHT: u64 = 100 * DAY_SECONDS;

    fn at(day: u32, hour: u64, minute: u64) -> u64 {
        FIRST_MIDNIGHT + u64::from(day) * DAY_SECONDS + hour * 3600 + minute * 60
    }

    fn infection(onset_day: i64, diagnosed_day: Option<i64>) -> Option<Infection> {
        Some(Infection {
            infected_day: onset_day - 4,
            onset_day,
            diagnosed_day,
            infected_by: None,
        })
    }

    /// Person 0 (onset day 3, reported day 4 at 16:00) is infectious from day 1 to the
    /// report; 10 reports on day 9 (onset 8); 6 has no app, 12 did not report, 14 was never
    /// diagnosed.
    fn epidemic() -> Epidemic {
        let mut infections = vec![None; 16];
        infections[0] = infection(3, Some(4));
        infections[6] = infection(3, Some(4));
        infections[10] = infection(8, Some(9));
        infections[12] = infection(3, Some(4));
        infections[14] = infection(3, None);
        Epidemic { infections }
    }

    fn observations() -> Observations {
        Observations {
            app_users: (0..16)
                .filter(|&person| person != 6 && person != 7)
                .collect(),
            reported_at: BTreeMap::from([(0, at(4, 16, 0)), (10, at(9, 16, 0))]),
            check_in_transmission_risk_level: 6,
            last_day: 10,
            ..Observations::default()
        }
    }

    const THRESHOLDS: Thresholds = Thresholds {
        proximity: 900.0,
        presence: HIGH_RISK_THRESHOLD,
    };

    fn encounter(a: PersonId, b: PersonId, start: u64, minutes: u32, distance_m: f64) -> Encounter {
        Encounter {
            a,
            b,
            start_unix_seconds: start,
            minutes,
            distance_m,
            setting: Setting::Street,
        }
    }

    fn day(day: u32, encounters: Vec<Encounter>, visits: Vec<Visit>) -> Day {
        Day {
            day,
            encounters,
            visits,
        }
    }

    fn count(causes: &BTreeMap<Cause, usize>, cause: Cause) -> usize {
        causes.get(&cause).copied().unwrap_or(0)
    }

    #[test]
    fn every_proximity_miss_and_false_warning_has_its_cause() {
        let mut truth = GroundTruth::new(FIRST_MIDNIGHT);
        for number in 0..=10 {
            let encounters = match number {
                // Before 0 was infectious: 11 is warned by a key of a day that should not count.
                0 => vec![encounter(0, 11, at(0, 10, 0), 30, 1.0)],
                2 => vec![
                    encounter(0, 1, at(2, 10, 0), 30, 1.0),
                    encounter(0, 2, at(2, 10, 0), 30, 1.0),
                    encounter(0, 3, at(2, 10, 0), 30, 5.0),
                    encounter(0, 4, at(2, 10, 0), 10, 1.0),
                    encounter(6, 5, at(2, 10, 0), 30, 1.0),
                    encounter(0, 7, at(2, 10, 0), 30, 1.0),
                    encounter(0, 8, at(2, 10, 0), 30, 1.0),
                    encounter(12, 13, at(2, 10, 0), 30, 1.0),
                    encounter(14, 15, at(2, 10, 0), 30, 1.0),
                ],
                9 => vec![encounter(10, 9, at(9, 10, 0), 30, 1.0)],
                _ => vec![],
            };
            truth.record(&day(number, encounters, vec![]));
        }
        let mut observations = observations();
        observations.proximity_scores = BTreeMap::from([
            (1, 0.0),
            (2, 500.0),
            (3, 1000.0),
            (4, 1000.0),
            (8, 1000.0),
            (9, 0.0),
            (11, 1000.0),
        ]);
        let evaluation = truth.evaluate(&epidemic(), &observations, THRESHOLDS);
        let proximity = &evaluation.proximity;
        assert_eq!(
            proximity.exposed.keys().copied().collect::<Vec<_>>(),
            vec![1, 2, 8, 9]
        );
        // 1 could have been warned from the report on day 4; 9 from day 9.
        assert_eq!(proximity.exposed[&1], 4);
        assert_eq!(proximity.exposed[&9], 9);
        let report = &proximity.report;
        assert_eq!(count(&report.missed, Cause::NotMatched), 1);
        assert_eq!(count(&report.missed, Cause::ScoredBelowThreshold), 1);
        assert_eq!(count(&report.missed, Cause::ReleasedTooLate), 1);
        assert_eq!(
            count(&report.false_warnings, Cause::FartherThanTwoMetres),
            1
        );
        assert_eq!(
            count(&report.false_warnings, Cause::ShorterThanFifteenMinutes),
            1
        );
        assert_eq!(
            count(&report.false_warnings, Cause::OutsideInfectiousPeriod),
            1
        );
        assert_eq!(count(&report.unreachable, Cause::TargetHasNoApp), 1);
        assert_eq!(count(&report.unreachable, Cause::SourceHasNoApp), 1);
        assert_eq!(count(&report.unreachable, Cause::SourceDidNotReport), 1);
        assert_eq!(count(&report.unreachable, Cause::SourceNotDiagnosed), 1);
        assert_eq!(report.score.truly_exposed, 4);
        assert_eq!(report.score.warned, 4);
        assert_eq!(report.score.correctly_warned, 1);
    }

    fn visit(person: PersonId, from: u64, to: u64) -> Visit {
        Visit {
            person,
            venue: 0,
            check_in_unix_seconds: from,
            check_out_unix_seconds: to,
        }
    }

    #[test]
    fn every_venue_miss_and_false_warning_has_its_cause() {
        let mut truth = GroundTruth::new(FIRST_MIDNIGHT);
        // 0 is there from 18:00 to 19:00 on day 2: its upload covers 18:00 to 19:30.
        let day_two = vec![
            visit(0, at(2, 18, 0), at(2, 19, 0)),
            visit(1, at(2, 18, 30), at(2, 20, 0)),
            visit(2, at(2, 18, 30), at(2, 20, 0)),
            visit(3, at(2, 18, 30), at(2, 20, 0)),
            visit(4, at(2, 17, 0), at(2, 17, 50)),
            // Arrives after 0 left, within the aerosol time: 10 minutes count.
            visit(5, at(2, 19, 20), at(2, 20, 0)),
            visit(8, at(2, 19, 25), at(2, 20, 0)),
        ];
        let day_zero = vec![
            visit(0, at(0, 18, 0), at(0, 19, 0)),
            visit(9, at(0, 18, 0), at(0, 19, 0)),
        ];
        let mut observations = observations();
        for visit in day_two.iter().chain(&day_zero) {
            let kept = match visit.person {
                2 => None,
                // Checked out by the phone after 5 minutes.
                3 => Some(TimeWindow::new(at(2, 18, 30), at(2, 18, 35))),
                // Forgot to check out: the phone kept the venue's default two hours.
                4 => Some(TimeWindow::new(at(2, 17, 0), at(2, 19, 0))),
                _ => Some(TimeWindow::new(
                    visit.check_in_unix_seconds,
                    visit.check_out_unix_seconds,
                )),
            };
            observations
                .recorded_stays
                .insert((visit.person, visit.check_in_unix_seconds), kept);
        }
        for (number, visits) in [(0, day_zero), (1, vec![]), (2, day_two)] {
            truth.record(&day(number, vec![], visits));
        }
        observations.venue_scores = BTreeMap::from([
            (1, 0.0),
            (2, 0.0),
            (3, 6.0),
            (4, 72.0),
            (5, 12.0),
            (8, 12.0),
            (9, 72.0),
        ]);
        let evaluation = truth.evaluate(&epidemic(), &observations, THRESHOLDS);
        let presence = &evaluation.presence;
        assert_eq!(
            presence.exposed.keys().copied().collect::<Vec<_>>(),
            vec![1, 2, 3, 5]
        );
        let report = &presence.report;
        assert_eq!(count(&report.missed, Cause::NotMatched), 1);
        assert_eq!(count(&report.missed, Cause::NotCheckedIn), 1);
        assert_eq!(count(&report.missed, Cause::CheckOutTimes), 1);
        assert_eq!(count(&report.false_warnings, Cause::CheckOutTimes), 1);
        assert_eq!(count(&report.false_warnings, Cause::BelowOverlapRule), 1);
        assert_eq!(
            count(&report.false_warnings, Cause::OutsideInfectiousPeriod),
            1
        );
        assert_eq!(report.score.correctly_warned, 1);
        assert_eq!(report.score.warned, 4);
    }

    #[test]
    fn scores_are_ratios_of_the_sets() {
        let score =
            ChannelScore::compare(&BTreeSet::from([1, 2, 3, 4]), &BTreeSet::from([1, 2, 9]));
        assert_eq!(score.correctly_warned, 2);
        assert_eq!(score.recall, 0.5);
        assert!((score.precision - 2.0 / 3.0).abs() < 1e-12);
        let nothing = ChannelScore::compare(&BTreeSet::new(), &BTreeSet::new());
        assert_eq!((nothing.recall, nothing.precision), (1.0, 1.0));
    }
}
