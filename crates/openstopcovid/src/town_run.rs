//! Drives a simulated town (from the `simulator` crate) through the real system: phone
//! cores that broadcast, record, check in, report and sync over real HTTP against a real
//! server on loopback, whose clock follows the simulation.
//!
//! Each simulated day goes like this:
//! 1. the town lives its day (encounters, venue visits) and the epidemic spreads;
//! 2. every app user's phone broadcasts for the day; phones within range record each other's
//!    advertisements once per scan (every 5 minutes, as the Exposure Notification framework
//!    scans), with an RSSI drawn from the distance ([`simulator::radio`]);
//! 3. visitors check in and out at venues by the venue's QR code;
//! 4. people diagnosed that day get a code from a physician (the authority API) and most of
//!    those with the app report with it;
//! 5. the next morning every phone syncs: downloads keys and venue warnings, matches, scores.
//!
//! 6. every phone (all opted in to private analytics) measures the day just over, and the
//!    day's batch of each metric is aggregated in-process through Prio3's two-party
//!    preparation with the aggregators' differential-privacy noise ([`AnalyticsOutcome`]).
//!
//! At the end, the phones' warnings are compared with the simulator's ground truth, every
//! miss and false warning is given its cause, and the phones' scores trace each channel's
//! precision/recall curve as the warning threshold varies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use exposure::matching::Sighting;
use phone::Phone;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;
use simulator::curves::Curve;
use simulator::epidemic::{DIAGNOSIS_HOUR, Epidemic};
use simulator::life::{Day, simulate_day};
use simulator::radio::sample_rssi;
use simulator::timeline::{DayStats, Timeline};
use simulator::town::{Town, TownConfig};
use simulator::truth::{ChannelReport, ChannelScore, GroundTruth, Observations, Thresholds};
use simulator::{DAY_SECONDS, PersonId};

/// The Exposure Notification framework scans about every five minutes.
const SCAN_PERIOD_SECONDS: u64 = 300;

/// When in the morning phones sync (the day after).
const SYNC_HOUR: u64 = 7;

/// What a run reports, for people (printed) and machines (`--json`).
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub people: usize,
    pub app_users: usize,
    pub venues: usize,
    pub days: u32,
    pub infected: usize,
    pub diagnosed: usize,
    pub reporters: usize,
    pub encounters: usize,
    pub sightings_recorded: usize,
    pub venue_visits: usize,
    pub check_ins: usize,
    pub syncs: usize,
    pub proximity: ChannelScore,
    pub presence: ChannelScore,
    /// Every miss and false warning by cause, per channel.
    pub breakdown: Breakdown,
    /// Precision and recall as each channel's threshold varies.
    pub curves: Vec<Curve>,
    pub timeline: Timeline,
    /// Private analytics: what the phones measured, and what the aggregators released.
    pub analytics: AnalyticsOutcome,
    pub elapsed_seconds: f64,
    /// Simulated phone-days per second of wall time.
    pub phone_days_per_second: f64,
    pub server_url: String,
}

/// Both channels' reports.
#[derive(Debug, Serialize)]
pub struct Breakdown {
    pub proximity: ChannelReport,
    pub presence: ChannelReport,
}

/// The private analytics of a run: every day, every app user's phone (opted in) measured
/// the day just over; each metric's daily batch went through both aggregators in-process
/// ([`analytics::aggregate_in_process`]) with ε-DP noise, as Janus would aggregate it.
#[derive(Debug, Serialize)]
pub struct AnalyticsOutcome {
    /// ε of each metric's daily batch.
    pub epsilon_per_batch: f64,
    /// Batches smaller than this give nothing.
    pub min_batch_size: u64,
    /// Daily batches per metric.
    pub batches: usize,
    /// Batches released (at least the minimum size).
    pub batches_released: usize,
    /// Each bucket of one daily batch is within ± this of its truth with probability
    /// 1 - 10⁻⁹.
    pub noise_bound_per_batch: u64,
    /// Per metric (`snake_case` name): its buckets, the true counts summed over the days,
    /// and the collected (noisy) counts summed over the released days.
    pub metrics: BTreeMap<String, MetricOutcome>,
}

/// One metric over the run.
#[derive(Debug, Serialize)]
pub struct MetricOutcome {
    pub description: &'static str,
    pub buckets: &'static [&'static str],
    /// What the phones measured: true counts per bucket, summed over the daily batches.
    pub truth: Vec<u64>,
    /// What the collector got: noisy counts per bucket, summed over the released batches.
    pub collected: Vec<i64>,
}

/// Collects the day's batches of every metric, through the two-party VDAF.
struct AnalyticsRun {
    rng: StdRng,
    noise: analytics::Noise,
    min_batch_size: u64,
    batches: usize,
    batches_released: usize,
    truth: BTreeMap<analytics::Metric, Vec<u64>>,
    collected: BTreeMap<analytics::Metric, Vec<i64>>,
}

impl AnalyticsRun {
    fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed ^ 0xA1A1_7105),
            noise: analytics::Noise::DEFAULT,
            min_batch_size: analytics::privacy::DEFAULT_MIN_BATCH_SIZE,
            batches: 0,
            batches_released: 0,
            truth: analytics::Metric::ALL
                .into_iter()
                .map(|metric| (metric, vec![0; metric.length()]))
                .collect(),
            collected: analytics::Metric::ALL
                .into_iter()
                .map(|metric| (metric, vec![0; metric.length()]))
                .collect(),
        }
    }

    /// Measures `day` on every opted-in phone and aggregates each metric. (The phones'
    /// own syncs fetched the server's configuration, which names no aggregators here, so
    /// they sent nothing: the demo plays both aggregators itself.)
    fn collect_day(&mut self, phones: &BTreeMap<PersonId, SimulatedPhone>, day: u32) -> Result<()> {
        let mut days = Vec::new();
        for (person, simulated) in phones {
            if !simulated.phone.analytics_opted_in()? {
                continue;
            }
            days.push(
                simulated
                    .phone
                    .daily_measurements(day)
                    .with_context(|| format!("phone {person} cannot measure its day"))?,
            );
        }
        if days.is_empty() {
            return Ok(());
        }
        self.batches += 1;
        let mut released = true;
        for metric in analytics::Metric::ALL {
            let measurements: Vec<usize> = days.iter().map(|day| day.bucket(metric)).collect();
            for (total, count) in self
                .truth
                .entry(metric)
                .or_default()
                .iter_mut()
                .zip(analytics::true_counts(metric, &measurements))
            {
                *total += count;
            }
            let collected = analytics::aggregate_in_process(
                metric,
                &measurements,
                self.noise,
                self.min_batch_size,
                &mut self.rng,
            )
            .map_err(|error| anyhow!("aggregating {metric}: {error}"))?;
            match collected {
                Some(collected) => {
                    for (total, count) in self
                        .collected
                        .entry(metric)
                        .or_default()
                        .iter_mut()
                        .zip(collected.counts)
                    {
                        *total += count;
                    }
                }
                None => released = false,
            }
        }
        self.batches_released += usize::from(released);
        Ok(())
    }

    fn outcome(self) -> AnalyticsOutcome {
        let epsilon = self.noise.epsilon().unwrap_or(f64::INFINITY);
        AnalyticsOutcome {
            epsilon_per_batch: epsilon,
            min_batch_size: self.min_batch_size,
            batches: self.batches,
            batches_released: self.batches_released,
            noise_bound_per_batch: analytics::privacy::collected_noise_bound(epsilon, 1e-9),
            metrics: analytics::Metric::ALL
                .into_iter()
                .map(|metric| {
                    (
                        metric.name().to_owned(),
                        MetricOutcome {
                            description: metric.description(),
                            buckets: metric.buckets(),
                            truth: self.truth.get(&metric).cloned().unwrap_or_default(),
                            collected: self.collected.get(&metric).cloned().unwrap_or_default(),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// What the caller learns while the run goes on.
pub enum Progress {
    Started { app_users: usize },
    Day { stats: DayStats },
}

/// Runs `config`'s town for its days against a server started in-process on a temporary
/// data directory (`data_dir`), calling `progress` as days complete.
pub fn run(
    config: TownConfig,
    data_dir: &Path,
    mut progress: impl FnMut(Progress),
) -> Result<Outcome> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let town = Town::generate(config.clone(), &mut rng);
    let mut epidemic = Epidemic::seed(&town, &mut rng);
    let mut truth = GroundTruth::new(town.day_start(0));
    // Who checks in and out draws from its own generator, so that the town's life and its
    // epidemic stay the same whatever the visitors' diligence.
    let mut diligence = StdRng::seed_from_u64(config.seed ^ 0xC4EC_4105);
    let mut observations = Observations {
        app_users: town
            .people
            .iter()
            .filter(|p| p.has_app)
            .map(|p| p.id)
            .collect(),
        check_in_transmission_risk_level: phone::report::CHECK_IN_TRANSMISSION_RISK_LEVEL,
        last_day: config.days.saturating_sub(1),
        ..Observations::default()
    };
    let venue_weight = presence::matching::transmission_risk_weight(
        phone::report::CHECK_IN_TRANSMISSION_RISK_LEVEL,
    );
    let risk_configuration = exposure::risk::RiskConfiguration::default();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    let clock = Arc::new(server::MockClock::new(clock_seconds(town.day_start(0))));
    let server_config = server::Config {
        data_dir: data_dir.join("server"),
        listen: ([127, 0, 0, 1], 0).into(),
        release_bucket_seconds: 0,
        // The whole town shares one loopback address: lift the per-client limits, and the
        // timing padding that only matters against observers of real traffic.
        min_response_millis: 0,
        verify_per_client_per_minute: u32::MAX,
        region: "XX".to_owned(),
        ..server::Config::default()
    };
    let handle = runtime
        .block_on(server::spawn(server_config, clock.clone()))
        .context("cannot start the server")?;
    let server_url = handle.base_url();
    let authority_key = runtime
        .block_on(server::codes::create_api_key(
            &handle.state.store,
            "demo physicians",
            clock_seconds(town.day_start(0)),
        ))
        .context("cannot create the physicians' API key")?;

    // One phone core per app user, each with its own state directory and random numbers.
    let mut phones: BTreeMap<PersonId, SimulatedPhone> = BTreeMap::new();
    for person in town.people.iter().filter(|p| p.has_app) {
        let directory = data_dir.join(format!("phone-{:04}", person.id));
        let mut phone =
            Phone::open(&directory).with_context(|| format!("cannot open phone {}", person.id))?;
        phone
            .init(&server_url, town.day_start(0))
            .with_context(|| format!("phone {} cannot reach the server", person.id))?;
        // Every app user of the town volunteers for private analytics.
        phone.set_analytics_opt_in(true, town.day_start(0))?;
        phones.insert(
            person.id,
            SimulatedPhone {
                phone,
                rng: StdRng::seed_from_u64(
                    config.seed ^ (person.id as u64).wrapping_mul(0x9E37_79B9),
                ),
                advertisements: Vec::new(),
                heard: Vec::new(),
                proximity_score: 0.0,
                venue_score: 0.0,
            },
        );
    }
    progress(Progress::Started {
        app_users: phones.len(),
    });

    let venue_codes: Vec<String> = town
        .venues
        .iter()
        .map(|venue| {
            presence::Venue::new(
                &venue.name,
                &venue.address,
                venue_type(venue.kind.cwa_type()),
            )
            .with_default_check_in_length_minutes(venue.kind.typical_stay_minutes())
            .create_qr_code(presence::DEFAULT_QR_CODE_PREFIX, &mut rng)
            .map(|code| code.url)
            .map_err(|error| anyhow!("cannot create the QR code of {}: {error}", venue.name))
        })
        .collect::<Result<_>>()?;

    let mut outcome_counts = Counts::default();
    let mut reporters = BTreeSet::new();
    let mut reported_at = BTreeMap::new();
    let mut timeline = Timeline::default();
    let http = ureq::Agent::new_with_defaults();
    let mut analytics_run = AnalyticsRun::new(config.seed);

    for day_number in 0..config.days {
        let day_start = town.day_start(day_number);
        let day = simulate_day(&town, day_number, &mut rng);
        truth.record(&day);
        let new_infections = epidemic.spread(&day, &mut rng);
        outcome_counts.encounters += day.encounters.len();
        outcome_counts.venue_visits += day.visits.len();

        // Every phone broadcasts for the whole day; we keep one advertisement a minute.
        phones
            .par_iter_mut()
            .try_for_each(|(_, simulated)| -> Result<()> {
                simulated.advertisements =
                    simulated
                        .phone
                        .broadcast(day_start, DAY_SECONDS / 60, &mut simulated.rng)?;
                Ok(())
            })?;
        hear_each_other(&day, &mut phones, &mut rng);
        outcome_counts.sightings_recorded += phones
            .par_iter_mut()
            .map(|(_, simulated)| -> Result<usize> {
                let heard = std::mem::take(&mut simulated.heard);
                Ok(simulated
                    .phone
                    .observe(day_start + DAY_SECONDS - 1, &heard)?)
            })
            .sum::<Result<usize>>()?;

        outcome_counts.check_ins += visit_venues(
            &day,
            &mut phones,
            &venue_codes,
            (config.check_in_share, config.check_out_share),
            &mut diligence,
            &mut observations.recorded_stays,
        )?;

        // Physicians see the people diagnosed today; most app users report with their code.
        let diagnosis_time = day_start + DIAGNOSIS_HOUR * 3600;
        clock.set(clock_seconds(diagnosis_time));
        let diagnosed = epidemic.diagnosed_on(i64::from(day_number));
        let mut reports_today = 0;
        for &(person, onset_day) in &diagnosed {
            let Some(simulated) = phones.get_mut(&person) else {
                continue;
            };
            if !rng.random_bool(config.report_share) {
                continue;
            }
            let onset = town.day_start(0) as i64 + onset_day * DAY_SECONDS as i64;
            let code = issue_code(&http, &server_url, &authority_key, onset)?;
            simulated
                .phone
                .report(&code, diagnosis_time, &mut simulated.rng)
                .with_context(|| format!("phone {person} could not report"))?;
            reporters.insert(person);
            reported_at.insert(person, diagnosis_time);
            reports_today += 1;
        }

        // The next morning, every phone syncs.
        let sync_time = day_start + DAY_SECONDS + SYNC_HOUR * 3600;
        clock.set(clock_seconds(sync_time));
        runtime
            .block_on(handle.run_jobs_now())
            .map_err(|error| anyhow!("the server's export job failed: {error}"))?;
        phones
            .par_iter_mut()
            .try_for_each(|(person, simulated)| -> Result<()> {
                let status = simulated
                    .phone
                    .sync(sync_time, &mut simulated.rng)
                    .with_context(|| format!("phone {person} could not sync"))?;
                // Scores rather than verdicts, so that other thresholds can be tried afterwards.
                if status.exposure.risk != "none" || simulated.proximity_score > 0.0 {
                    let assessment = simulated.phone.assess_exposure()?;
                    let score = assessment
                        .daily_summaries
                        .iter()
                        .map(|summary| summary.score_sum)
                        .fold(0.0, f64::max);
                    simulated.proximity_score = simulated.proximity_score.max(score);
                }
                let venue_score = status
                    .venue_warnings
                    .iter()
                    .map(|warning| venue_weight * warning.overlap_minutes as f64)
                    .fold(0.0, f64::max);
                simulated.venue_score = simulated.venue_score.max(venue_score);
                Ok(())
            })?;
        outcome_counts.syncs += phones.len();
        analytics_run.collect_day(&phones, phone::analytics::day_of(day_start))?;

        let stats = DayStats {
            day: day_number,
            new_infections,
            diagnosed: diagnosed.len(),
            reports: reports_today,
            proximity_warned: phones
                .values()
                .filter(|p| p.proximity_score >= risk_configuration.high_risk_daily_score_seconds)
                .count(),
            venue_warned: phones
                .values()
                .filter(|p| p.venue_score >= simulator::truth::VENUE_HIGH_RISK_THRESHOLD)
                .count(),
            ..DayStats::default()
        };
        timeline.days.push(stats);
        progress(Progress::Day { stats });
    }

    observations.reported_at = reported_at;
    let judged = |score: fn(&SimulatedPhone) -> f64| -> BTreeMap<PersonId, f64> {
        phones
            .iter()
            .filter(|&(person, _)| !reporters.contains(person))
            .map(|(&person, simulated)| (person, score(simulated)))
            .collect()
    };
    observations.proximity_scores = judged(|p| p.proximity_score);
    observations.venue_scores = judged(|p| p.venue_score);
    let thresholds = Thresholds {
        proximity: risk_configuration.high_risk_daily_score_seconds,
        presence: simulator::truth::VENUE_HIGH_RISK_THRESHOLD,
    };
    let evaluation = truth.evaluate(&epidemic, &observations, thresholds);
    for stats in &mut timeline.days {
        let day = stats.day;
        let by = |exposed: &BTreeMap<PersonId, u32>| {
            exposed.values().filter(|&&from| from <= day).count()
        };
        stats.proximity_should_be_warned = by(&evaluation.proximity.exposed);
        stats.venue_should_be_warned = by(&evaluation.presence.exposed);
    }
    let curves = vec![
        Curve::trace(
            "proximity",
            "GAEN weighted seconds a day",
            &evaluation.proximity.exposed.keys().copied().collect(),
            &observations.proximity_scores,
            thresholds.proximity,
        ),
        Curve::trace(
            "venue",
            "overlap minutes x weight",
            &evaluation.presence.exposed.keys().copied().collect(),
            &observations.venue_scores,
            thresholds.presence,
        ),
    ];
    let proximity = evaluation.proximity.report.score;
    let presence = evaluation.presence.report.score;

    let app_users = phones.len();
    drop(phones);
    runtime
        .block_on(handle.shutdown())
        .context("the server did not stop cleanly")?;
    let elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(Outcome {
        people: town.people.len(),
        app_users,
        venues: town.venues.len(),
        days: config.days,
        infected: epidemic.infected_count(),
        diagnosed: timeline.days.iter().map(|d| d.diagnosed).sum(),
        reporters: reporters.len(),
        encounters: outcome_counts.encounters,
        sightings_recorded: outcome_counts.sightings_recorded,
        venue_visits: outcome_counts.venue_visits,
        check_ins: outcome_counts.check_ins,
        syncs: outcome_counts.syncs,
        proximity,
        presence,
        breakdown: Breakdown {
            proximity: evaluation.proximity.report,
            presence: evaluation.presence.report,
        },
        curves,
        timeline,
        analytics: analytics_run.outcome(),
        elapsed_seconds,
        phone_days_per_second: (app_users as f64 * f64::from(config.days)) / elapsed_seconds,
        server_url,
    })
}

/// A phone of the town and what it did today.
struct SimulatedPhone {
    phone: Phone,
    rng: StdRng,
    /// Today's advertisements, one per minute from midnight.
    advertisements: Vec<phone::Advertisement>,
    /// What it heard today, recorded at the end of the day in one transaction.
    heard: Vec<Sighting>,
    /// The highest daily proximity score so far (GAEN weighted seconds).
    proximity_score: f64,
    /// The highest venue risk score so far.
    venue_score: f64,
}

#[derive(Default)]
struct Counts {
    encounters: usize,
    sightings_recorded: usize,
    venue_visits: usize,
    check_ins: usize,
    syncs: usize,
}

/// Phones within range hear each other once per scan for as long as they are together.
fn hear_each_other(day: &Day, phones: &mut BTreeMap<PersonId, SimulatedPhone>, rng: &mut StdRng) {
    for encounter in &day.encounters {
        // Scans happen on each phone's own cycle: the first one falls anywhere in a period.
        let first_scan = encounter.start_unix_seconds + rng.random_range(0..SCAN_PERIOD_SECONDS);
        let end = encounter.start_unix_seconds + u64::from(encounter.minutes) * 60;
        for (speaker, listener) in [(encounter.a, encounter.b), (encounter.b, encounter.a)] {
            let Some(day_start) = day_start_of(phones, speaker) else {
                continue;
            };
            if !phones.contains_key(&listener) {
                continue;
            }
            let mut scan = first_scan;
            while scan < end {
                let minute = ((scan.saturating_sub(day_start)) / 60) as usize;
                let advertisement = phones[&speaker].advertisements.get(minute).copied();
                if let (Some(advertisement), Some(listening)) =
                    (advertisement, phones.get_mut(&listener))
                {
                    listening.heard.push(Sighting {
                        unix_seconds: scan,
                        rpi: advertisement.rpi,
                        aem: advertisement.aem,
                        rssi: sample_rssi(encounter.distance_m, phone::schedule::TX_POWER_DBM, rng),
                    });
                }
                scan += SCAN_PERIOD_SECONDS;
            }
        }
    }
}

/// The midnight the phone's advertisements of today start from.
fn day_start_of(phones: &BTreeMap<PersonId, SimulatedPhone>, person: PersonId) -> Option<u64> {
    let first = phones.get(&person)?.advertisements.first()?;
    Some(first.unix_seconds - first.unix_seconds % DAY_SECONDS)
}

/// App users scan the venue's code when they arrive (`shares.0` of the visits) and check
/// out when they leave (`shares.1` of those); a visitor whose phone has checked them out by
/// itself at the venue's default stay corrects the end, as the app lets them. What each
/// phone kept of each visit goes into `recorded`.
fn visit_venues(
    day: &Day,
    phones: &mut BTreeMap<PersonId, SimulatedPhone>,
    venue_codes: &[String],
    (check_in_share, check_out_share): (f64, f64),
    diligence: &mut StdRng,
    recorded: &mut BTreeMap<(PersonId, u64), Option<presence::TimeWindow>>,
) -> Result<usize> {
    let mut visits: Vec<_> = day
        .visits
        .iter()
        .filter(|visit| phones.contains_key(&visit.person))
        .collect();
    visits.sort_by_key(|visit| visit.check_in_unix_seconds);
    let mut check_ins = 0;
    for visit in &visits {
        let Some(simulated) = phones.get_mut(&visit.person) else {
            continue;
        };
        let key = (visit.person, visit.check_in_unix_seconds);
        if !diligence.random_bool(check_in_share.clamp(0.0, 1.0)) {
            recorded.insert(key, None);
            continue;
        }
        let scanned = simulated
            .phone
            .checkin(&venue_codes[visit.venue], visit.check_in_unix_seconds)
            .with_context(|| format!("phone {} could not check in", visit.person))?;
        let phone::check_ins::ScanOutcome::CheckedIn(check_in) = scanned else {
            return Err(anyhow!("phone {} checked out instead of in", visit.person));
        };
        check_ins += 1;
        let leaving = visit.check_out_unix_seconds;
        let kept = if diligence.random_bool(check_out_share.clamp(0.0, 1.0)) {
            match simulated
                .phone
                .checkout(leaving)
                .with_context(|| format!("phone {} could not check out", visit.person))?
            {
                Some(ended) => ended,
                None => simulated
                    .phone
                    .edit_check_in(check_in.id, check_in.start, leaving, leaving)
                    .with_context(|| {
                        format!("phone {} could not correct its check-out", visit.person)
                    })?,
            }
        } else {
            check_in
        };
        recorded.insert(key, Some(presence::TimeWindow::new(kept.start, kept.end())));
    }
    Ok(check_ins)
}

/// A physician issues a code through the authority API, with the symptom-onset date.
fn issue_code(
    http: &ureq::Agent,
    server_url: &str,
    api_key: &str,
    onset_unix_seconds: i64,
) -> Result<String> {
    let onset = time::OffsetDateTime::from_unix_timestamp(onset_unix_seconds)
        .map_err(|error| anyhow!("onset date out of range: {error}"))?
        .date();
    let mut response = http
        .post(&format!("{server_url}/v1/authority/codes"))
        .header("Authorization", &format!("Bearer {api_key}"))
        .send_json(messages::authority::IssueCodeRequest {
            onset_date: Some(onset.to_string()),
            ..Default::default()
        })
        .context("the physicians' API did not answer")?;
    let issued: messages::authority::IssuedCode = response
        .body_mut()
        .read_json()
        .context("the physicians' API gave no code")?;
    Ok(issued.code)
}

fn venue_type(cwa_type: u32) -> presence::VenueType {
    presence::VenueType::from_wire(i64::from(cwa_type))
        .unwrap_or(presence::VenueType::PermanentOther)
}

fn clock_seconds(unix_seconds: u64) -> i64 {
    i64::try_from(unix_seconds).unwrap_or(i64::MAX)
}

/// A fresh directory for the run's server and phones, removed afterwards.
pub fn temporary_directory() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("openstopcovid-demo-")
        .tempdir()
        .context("cannot create a temporary directory")
}

/// Where the precision/recall curves go: next to `chart`, with `-curves` added to its name.
pub fn curves_path_next_to(chart: &Path) -> PathBuf {
    let stem = chart.file_stem().map_or_else(
        || "openstopcovid-demo".into(),
        |stem| stem.to_string_lossy(),
    );
    chart.with_file_name(format!("{stem}-curves.svg"))
}

/// Where the demo's chart goes unless told otherwise.
pub fn default_chart_path() -> PathBuf {
    PathBuf::from("openstopcovid-demo.svg")
}
