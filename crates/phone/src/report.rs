//! Reporting a positive test: code → token → keys (and visits) uploaded; the next-day
//! upload of today's key; fake uploads that make real ones unremarkable.
//!
//! The upload body is the DP-3T GAEN v2 one: exactly [`UPLOAD_KEY_COUNT`] keys, padded
//! with random `fake: 1` keys, so that its size says nothing about how many days the
//! phone had keys for. Today's key is still being broadcast when the user reports; the
//! server would embargo it anyway, so the phone stops using it at once (rolling to a fresh
//! key), and uploads it with the returned next-day token on the first sync after it
//! expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use exposure::interval::EnIntervalNumber;
use exposure::keys::TemporaryExposureKey;
use presence::upload::{CheckIn as UploadedCheckIn, fake_upload, prepare_upload};
use rand_core::CryptoRng;
use rusqlite::params;

use crate::check_ins::CheckIn;
use crate::schedule::UploadState;
use crate::server_api::ServerApi;
use crate::store::{self, NEXT_FAKE_UPLOAD};
use crate::{Phone, PhoneError};
use messages::check_ins::{CheckInUploadRequest, ProtectedReportJson};
use messages::code::{self as verification_code, CODE_DIGITS, check_digit};
use messages::keys::{GaenKey, GaenNextDayRequest, GaenUploadRequest};

/// Keys in every upload, real and fake together (DP-3T).
pub const UPLOAD_KEY_COUNT: usize = 30;

/// Transmission risk level given to uploaded visits: the level CWA gives a day of standard
/// infectiousness (weight 1.2: ten minutes together make a high risk).
pub const CHECK_IN_TRANSMISSION_RISK_LEVEL: u32 = 6;

/// Days before symptom onset from which visits are shared. The server keeps keys from the
/// same day on (PROTOCOLS.md §4: people are infectious about two days before symptoms);
/// it cannot filter visits, which are encrypted, so the phone does.
pub const INFECTIOUS_DAYS_BEFORE_ONSET: u64 = 2;

/// Mean time between fake uploads. Exponentially distributed gaps (a Poisson process)
/// have no rhythm an observer could tell apart from people falling ill.
pub const FAKE_UPLOAD_MEAN_SECONDS: u64 = 5 * 86_400;

/// What a report uploaded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportOutcome {
    /// Real keys uploaded now (today's comes the next day).
    pub keys_uploaded: usize,
    /// Visits uploaded (before padding and splitting).
    pub check_ins_uploaded: usize,
}

fn fake_keys<R: CryptoRng + ?Sized>(count: usize, now: u64, rng: &mut R) -> Vec<GaenKey> {
    let today = EnIntervalNumber::from_unix_seconds(now).day_start();
    (0..count)
        .map(|index| {
            let day = today.offset(-144 * (1 + index as i64 % 14));
            GaenKey::new(&TemporaryExposureKey::generate(rng, day), true)
        })
        .collect()
}

/// The first moment (unix seconds) of the infectious period the upload token's onset date
/// implies: midnight UTC [`INFECTIOUS_DAYS_BEFORE_ONSET`] days before the onset. `None`
/// when the token carries no readable onset (then every visit is shared). The token is
/// not verified here: the server that issued it does that, and a wrong date could only
/// change what this phone itself shares.
fn infectious_since(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let onset = time::Date::parse(
        claims.get("onset")?.as_str()?,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let onset_seconds = u64::try_from(onset.midnight().assume_utc().unix_timestamp()).ok()?;
    Some(onset_seconds.saturating_sub(INFECTIOUS_DAYS_BEFORE_ONSET * 86_400))
}

/// Whole hours from the code's issue to `now`, from the upload token's `codeIssuedHour`
/// claim (unix seconds of the hour the code was issued; servers before it say nothing).
fn hours_since_code_issued(token: &str, now: u64) -> Option<u32> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let issued = claims.get("codeIssuedHour")?.as_u64()?;
    u32::try_from(now.checked_sub(issued)? / 3600).ok()
}

/// The visits to share: those that reach into the infectious period (cut to start no
/// earlier than it), ending no later than `now`. Earlier visits would warn people the
/// reporter could not have infected.
fn infectious_visits(
    check_ins: &[CheckIn],
    infectious_since: Option<u64>,
    now: u64,
) -> Vec<UploadedCheckIn> {
    let since = infectious_since.unwrap_or(0);
    check_ins
        .iter()
        .filter_map(|visit| {
            let check_in = visit.start.max(since);
            let check_out = visit.end().min(now);
            (check_out > check_in).then_some(UploadedCheckIn {
                location_id: visit.location_id,
                check_in,
                check_out,
                transmission_risk_level: CHECK_IN_TRANSMISSION_RISK_LEVEL,
            })
        })
        .collect()
}

/// An exponentially distributed delay with the given mean.
fn exponential_delay<R: CryptoRng + ?Sized>(mean_seconds: u64, rng: &mut R) -> u64 {
    // 53 random bits as a uniform value in (0, 1].
    let uniform = ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
    (-uniform.ln() * mean_seconds as f64) as u64
}

impl Phone {
    /// Reports a positive test with the code the physician gave.
    pub fn report<R: CryptoRng + ?Sized>(
        &mut self,
        code: &str,
        now: u64,
        rng: &mut R,
    ) -> Result<ReportOutcome, PhoneError> {
        self.purge(now)?;
        self.ensure_active()?;
        let code = verification_code::normalize(code);
        if !verification_code::is_well_formed(&code) {
            return Err(PhoneError::InvalidCode(code));
        }
        let api = ServerApi::new(&self.server_url()?);
        let token = api.verify_code(&code, false)?;
        self.record_analytics_event(
            crate::analytics::CODE_VERIFIED,
            now,
            hours_since_code_issued(&token, now),
        )?;

        let today_key = self.current_key(now, rng)?;
        let to_upload: Vec<TemporaryExposureKey> = self
            .own_keys()?
            .into_iter()
            .filter(|own| own.upload_state == UploadState::NotReported && own.key != today_key)
            .map(|own| own.key)
            .rev()
            .take(UPLOAD_KEY_COUNT)
            .collect();
        let mut gaen_keys: Vec<GaenKey> = to_upload
            .iter()
            .map(|key| GaenKey::new(key, false))
            .collect();
        gaen_keys.extend(fake_keys(UPLOAD_KEY_COUNT - gaen_keys.len(), now, rng));
        let upload = GaenUploadRequest {
            gaen_keys,
            delayed_key_date: Some(today_key.rolling_start_interval_number.0),
            with_federation_gateway: None,
        };
        let next_day_token = api.upload_keys(&token, &upload)?;
        self.record_analytics_event(crate::analytics::KEYS_UPLOADED, now, None)?;

        let visits = infectious_visits(&self.check_ins()?, infectious_since(&token), now);
        let reports = prepare_upload(&visits, rng);
        api.upload_check_ins(
            &token,
            &CheckInUploadRequest {
                check_in_protected_reports: reports.iter().map(ProtectedReportJson::from).collect(),
                fake: 0,
            },
        )?;

        for key in &to_upload {
            self.db.execute(
                "UPDATE own_keys SET upload_state = ?2 WHERE key_data = ?1",
                params![key.key_data.as_slice(), UploadState::Uploaded.to_db()],
            )?;
        }
        self.retire_key(&today_key, now, UploadState::AwaitingNextDayUpload)?;
        if let Some(token) = next_day_token {
            self.db.execute(
                "INSERT OR REPLACE INTO next_day_uploads (key_data, token) VALUES (?1, ?2)",
                params![today_key.key_data.as_slice(), token],
            )?;
        }
        Ok(ReportOutcome {
            keys_uploaded: to_upload.len(),
            check_ins_uploaded: visits.len(),
        })
    }

    /// The keys waiting for their next-day upload whose day is over, with their tokens.
    pub(crate) fn due_next_day_uploads(&self, now: u64) -> Result<Vec<NextDayUpload>, PhoneError> {
        let interval = EnIntervalNumber::from_unix_seconds(now);
        let keys = self.own_keys()?;
        let mut statement = self
            .db
            .prepare("SELECT key_data, token FROM next_day_uploads")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut due = Vec::new();
        for row in rows {
            let (key_data, token) = row?;
            if let Some(own) = keys
                .iter()
                .find(|own| own.key.key_data.as_slice() == key_data)
            {
                // Today's key as a whole day: the server publishes it once the day is over.
                let day_end = own
                    .key
                    .rolling_start_interval_number
                    .day_start()
                    .offset(144);
                if interval >= day_end {
                    due.push(NextDayUpload {
                        key: own.key,
                        token,
                    });
                }
            }
        }
        Ok(due)
    }

    /// Forgets a next-day upload that is done: sent, or refused by the server (a refused
    /// token will not get better).
    pub(crate) fn finish_next_day_upload(
        &mut self,
        key: &TemporaryExposureKey,
    ) -> Result<(), PhoneError> {
        self.db.execute(
            "DELETE FROM next_day_uploads WHERE key_data = ?1",
            params![key.key_data.as_slice()],
        )?;
        self.db.execute(
            "UPDATE own_keys SET upload_state = ?2 WHERE key_data = ?1",
            params![key.key_data.as_slice(), UploadState::Uploaded.to_db()],
        )?;
        Ok(())
    }

    /// Whether a fake report is due (a Poisson schedule, mean [`FAKE_UPLOAD_MEAN_SECONDS`]);
    /// the first call only draws the first date.
    pub(crate) fn fake_report_due<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<bool, PhoneError> {
        let due: Option<u64> =
            store::setting(&self.db, NEXT_FAKE_UPLOAD)?.and_then(|text| text.parse().ok());
        match due {
            Some(due) => Ok(now >= due),
            None => {
                self.schedule_next_fake_report(now, rng)?;
                Ok(false)
            }
        }
    }

    /// Draws the date of the next fake report.
    pub(crate) fn schedule_next_fake_report<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<(), PhoneError> {
        let next = now + exponential_delay(FAKE_UPLOAD_MEAN_SECONDS, rng);
        Ok(store::set_setting(
            &self.db,
            NEXT_FAKE_UPLOAD,
            &next.to_string(),
        )?)
    }
}

/// A key whose day is over, to upload with the next-day token its report got.
pub(crate) struct NextDayUpload {
    pub(crate) key: TemporaryExposureKey,
    pub(crate) token: String,
}

impl NextDayUpload {
    /// Sends the key; `Ok(false)` when the server refused it (the token is spent or
    /// expired), an error when the network failed (the upload waits for the next sync).
    pub(crate) fn send(&self, api: &ServerApi) -> Result<bool, PhoneError> {
        let body = GaenNextDayRequest {
            delayed_key: GaenKey::new(&self.key, false),
        };
        match api.upload_next_day_key(&self.token, &body) {
            Ok(()) => Ok(true),
            Err(PhoneError::Server { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// A fake report, the same requests and sizes as a real one: a fake code check, then an
/// upload of 30 fake keys and a padded set of fake visits. Network only: the phone's
/// state is not involved, so it runs without holding the phone.
pub(crate) fn send_fake_report<R: CryptoRng + ?Sized>(
    api: &ServerApi,
    now: u64,
    rng: &mut R,
) -> Result<(), PhoneError> {
    let mut digits: Vec<u8> = (0..CODE_DIGITS - 1)
        .map(|_| (rng.next_u32() % 10) as u8)
        .collect();
    digits.push(check_digit(&digits));
    let code: String = digits
        .iter()
        .map(|digit| char::from(b'0' + digit))
        .collect();
    let token = api.verify_code(&code, true)?;
    let upload = GaenUploadRequest {
        gaen_keys: fake_keys(UPLOAD_KEY_COUNT, now, rng),
        delayed_key_date: Some(EnIntervalNumber::from_unix_seconds(now).day_start().0),
        with_federation_gateway: None,
    };
    api.upload_keys(&token, &upload)?;
    api.upload_check_ins(
        &token,
        &CheckInUploadRequest {
            check_in_protected_reports: fake_upload(rng)
                .iter()
                .map(ProtectedReportJson::from)
                .collect(),
            fake: 1,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_mistyped_code_is_refused_before_any_request() {
        let mut phone = Phone::open_in_memory().unwrap();
        // No server configured: a request would fail with NotInitialised instead.
        let error = phone.report(
            "1234 5678 9012",
            1_700_000_000,
            &mut StdRng::seed_from_u64(1),
        );
        assert!(matches!(error, Err(PhoneError::InvalidCode(_))));
    }

    #[test]
    fn fake_upload_delays_average_out_near_the_mean() {
        let mut rng = StdRng::seed_from_u64(9);
        let total: u64 = (0..2000).map(|_| exponential_delay(1000, &mut rng)).sum();
        let mean = total / 2000;
        assert!((900..1100).contains(&mean), "mean {mean}");
    }

    fn stay(start: u64, end: u64) -> CheckIn {
        CheckIn {
            id: 1,
            url: String::new(),
            description: "Café".into(),
            address: String::new(),
            location_id: presence::location_id::LocationId([7; 32]),
            start,
            checked_out: Some(end),
            automatic_end: end,
        }
    }

    /// An unsigned token with the server's claims; only the payload matters here.
    fn token_with(claims: serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn visits_before_the_infectious_period_are_not_shared() {
        // Onset 2023-11-20 (day 19681): infectious from 2023-11-18 00:00 UTC.
        let token = token_with(serde_json::json!({"scope": "exposed", "onset": "2023-11-20"}));
        let since = infectious_since(&token).unwrap();
        assert_eq!(since, 19_679 * 86_400);
        let now = since + 5 * 86_400;
        let visits = [
            // A week before onset: could not have infected anyone there.
            stay(since - 5 * 86_400, since - 5 * 86_400 + 3600),
            // Across the start of the period: only the infectious part is shared.
            stay(since - 1800, since + 3600),
            stay(since + 86_400, since + 86_400 + 5400),
            // Not over yet: shared up to now.
            stay(now - 600, now + 3000),
        ];
        let shared: Vec<(u64, u64)> = infectious_visits(&visits, Some(since), now)
            .iter()
            .map(|visit| (visit.check_in, visit.check_out))
            .collect();
        assert_eq!(
            shared,
            vec![
                (since, since + 3600),
                (since + 86_400, since + 86_400 + 5400),
                (now - 600, now),
            ]
        );
        // Without an onset, every visit that has begun is shared.
        assert_eq!(infectious_visits(&visits, None, now).len(), 4);
    }

    #[test]
    fn a_token_without_a_readable_onset_limits_nothing() {
        assert_eq!(infectious_since("not a token"), None);
        assert_eq!(infectious_since("a.%%%.c"), None);
        assert_eq!(
            infectious_since(&token_with(serde_json::json!({"scope": "exposed"}))),
            None
        );
        assert_eq!(
            infectious_since(&token_with(serde_json::json!({"onset": "20 November"}))),
            None
        );
    }

    #[test]
    fn fake_keys_look_like_real_past_keys() {
        let keys = fake_keys(30, 1_700_000_000, &mut StdRng::seed_from_u64(2));
        assert_eq!(keys.len(), 30);
        assert!(
            keys.iter()
                .all(|key| key.fake == 1 && key.rolling_period == 144)
        );
        assert!(keys.iter().all(|key| key.key_data.len() == 24));
    }
}
