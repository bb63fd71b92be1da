//! Venue presence over real HTTP: a positive visitor's phone uploads its check-ins, the
//! server publishes them after the hour, other visitors and the venue owner match them
//! (with the presence crate, as the phones and the owner's tools do), bad uploads are
//! refused with problem+json and change nothing, and everything is gone after 14 days.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use messages::check_ins::{ProtectedReportJson, WarningPackageJson};
use presence::{
    CheckIn, CheckInProtectedReport, DEFAULT_QR_CODE_PREFIX, GuestCheckIn, OwnedVenue, RiskLevel,
    TimeWindow, TraceWarningPackage, Venue, VenueCode, VenueType, match_guest_check_ins,
    match_owned_venues, prepare_upload, warn_on_behalf,
};
use prost::Message;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use server::presence::WARNINGS_UNTIL_HEADER;
use server::problem::ProblemKind;
use server::{Config, MockClock, ServerHandle};

/// 2026-11-20 00:00 UTC.
const DAY: i64 = 1_795_564_800;

fn at(hour: i64, minute: i64) -> i64 {
    DAY + hour * 3600 + minute * 60
}

struct Fixture {
    server: ServerHandle,
    clock: Arc<MockClock>,
    http: reqwest::Client,
    api_key: String,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start(now: i64, postgres: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(MockClock::new(now));
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().unwrap(),
            min_response_millis: 0,
            export_store_url: Some("memory:///".into()),
            ..Config::default()
        };
        let server = common::spawn(config, clock.clone(), postgres).await;
        let api_key = server::codes::create_api_key(&server.state.store, "test lab", now)
            .await
            .unwrap();
        Fixture {
            server,
            clock,
            http: reqwest::Client::new(),
            api_key,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// Patient's authority code → `/v1/codes/verify` → upload token, as a patient does.
    async fn token(&self) -> String {
        self.token_of(json!({})).await
    }

    /// Venue-warning code → `/v1/codes/verify` → token, as a venue owner does.
    async fn venue_warning_token(&self) -> String {
        self.token_of(json!({"kind": "venue-warning"})).await
    }

    async fn token_of(&self, request: Value) -> String {
        let issued: Value = self
            .http
            .post(self.url("/v1/authority/codes"))
            .bearer_auth(&self.api_key)
            .json(&request)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let verified: Value = self
            .http
            .post(self.url("/v1/codes/verify"))
            .json(&json!({"code": issued["code"], "fake": false}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        verified["accessToken"].as_str().unwrap().to_owned()
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, String, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, content_type, body)
    }

    /// The protobuf package, as phones download it; checks the signature header is there.
    async fn warnings(&self, since: i64) -> TraceWarningPackage {
        let response = self
            .http
            .get(self.url(&format!("/v1/warnings?since={since}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers().contains_key("signature"));
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/x-protobuf"
        );
        let until: u32 = response.headers()[WARNINGS_UNTIL_HEADER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let package = TraceWarningPackage::decode(response.bytes().await.unwrap()).unwrap();
        assert_eq!(package.interval_number, until);
        package
    }

    async fn warnings_json(&self, since: i64) -> WarningPackageJson {
        self.http
            .get(self.url(&format!("/v1/warnings?since={since}")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn cafe(rng: &mut StdRng) -> VenueCode {
    Venue::new(
        "Café des Arts",
        "1 place du Marché, Lyon",
        VenueType::FoodService,
    )
    .with_default_check_in_length_minutes(60)
    .create_qr_code(DEFAULT_QR_CODE_PREFIX, rng)
    .unwrap()
}

fn upload_body(reports: &[CheckInProtectedReport], fake: u8) -> Value {
    let reports: Vec<ProtectedReportJson> = reports.iter().map(ProtectedReportJson::from).collect();
    json!({"checkInProtectedReports": reports, "fake": fake})
}

fn guest(venue: &VenueCode, from: i64, to: i64) -> GuestCheckIn {
    GuestCheckIn {
        location_id: venue.location_id,
        description: venue.description.clone(),
        check_in: from as u64,
        check_out: to as u64,
    }
}

#[tokio::test]
async fn an_overlapping_visitor_and_the_owner_are_warned_and_a_later_visitor_is_not() {
    for backend in common::backends() {
        let mut rng = StdRng::seed_from_u64(1);
        let fixture = Fixture::start(at(18, 5), backend.as_deref()).await;
        let venue = cafe(&mut rng);

        // The positive visitor was there 12:00–13:00; their phone uploads with its key token.
        let reports = prepare_upload(
            &[CheckIn {
                location_id: venue.location_id,
                check_in: at(12, 0) as u64,
                check_out: at(13, 0) as u64,
                transmission_risk_level: 7,
            }],
            &mut rng,
        );
        let token = fixture.token().await;
        let (status, _, _) = fixture
            .post("/v1/checkins", &token, &upload_body(&reports, 0))
            .await;
        assert_eq!(status, 200);

        // Not published during the hour it arrived in.
        assert!(
            fixture
                .warnings(0)
                .await
                .check_in_protected_reports
                .is_empty()
        );
        fixture.clock.set(at(19, 0));
        let package = fixture.warnings(0).await;
        assert_eq!(i64::from(package.interval_number), at(18, 0) / 3600);
        assert_eq!(package.check_in_protected_reports.len(), reports.len());
        for report in &reports {
            assert!(package.check_in_protected_reports.contains(report));
        }
        // The next download from the returned cursor has nothing new.
        let next = fixture.warnings(i64::from(package.interval_number)).await;
        assert!(next.check_in_protected_reports.is_empty());

        let published = &package.check_in_protected_reports;
        let overlapped = match_guest_check_ins(&[guest(&venue, at(12, 30), at(14, 0))], published);
        assert_eq!(overlapped.len(), 1);
        assert_eq!(overlapped[0].description, "Café des Arts");
        // 12:30 to the end of the reported stay (13:00 plus 30 minutes of aerosol time).
        assert_eq!(overlapped[0].overlap_minutes, 60);
        assert_eq!(overlapped[0].risk_level, RiskLevel::High);
        let later = match_guest_check_ins(&[guest(&venue, at(14, 0), at(15, 0))], published);
        assert!(later.is_empty(), "{later:?}");

        // The owner matches the JSON form (what the venue page downloads) to the same result.
        let json = fixture.warnings_json(0).await;
        assert_eq!(json.interval_number, i64::from(package.interval_number));
        let from_json: Vec<CheckInProtectedReport> = json
            .check_in_protected_reports
            .iter()
            .map(|r| CheckInProtectedReport {
                location_id_hash: STANDARD.decode(&r.location_id_hash).unwrap(),
                iv: STANDARD.decode(&r.iv).unwrap(),
                encrypted_check_in_record: STANDARD.decode(&r.encrypted_check_in_record).unwrap(),
                mac: STANDARD.decode(&r.mac).unwrap(),
            })
            .collect();
        let owned = [OwnedVenue {
            location_id: venue.location_id,
            description: venue.description.clone(),
        }];
        let found = match_owned_venues(&owned, &from_json);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].window,
            TimeWindow::new(at(12, 0) as u64, at(13, 30) as u64)
        );
        assert_eq!(found[0].transmission_risk_level, 7);

        // The token allowed one check-in upload: a replay is refused.
        let (status, content_type, _) = fixture
            .post("/v1/checkins", &token, &upload_body(&reports, 0))
            .await;
        assert_eq!(status, 403);
        assert_eq!(content_type, "application/problem+json");

        // Fourteen days later everything is gone.
        fixture.clock.set(at(19, 0) + 14 * 86_400 + 3600);
        fixture.server.run_jobs_now().await.unwrap();
        assert!(
            fixture
                .warnings(0)
                .await
                .check_in_protected_reports
                .is_empty()
        );
        fixture.server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_clear_problem_and_store_nothing() {
    for backend in common::backends() {
        let mut rng = StdRng::seed_from_u64(2);
        let fixture = Fixture::start(at(18, 5), backend.as_deref()).await;
        let venue = cafe(&mut rng);
        let reports = prepare_upload(
            &[CheckIn {
                location_id: venue.location_id,
                check_in: at(12, 0) as u64,
                check_out: at(13, 0) as u64,
                transmission_risk_level: 5,
            }],
            &mut rng,
        );
        let good = upload_body(&reports, 0);
        let token = fixture.token().await;
        let with = |field: &str, value: &str| {
            let mut body = good.clone();
            body["checkInProtectedReports"][3][field] = json!(value);
            body
        };
        let too_many: Vec<CheckInProtectedReport> = (0..301).map(|_| reports[0].clone()).collect();
        let cases = [
            (
                "broken base64",
                with("iv", "***"),
                ProblemKind::InvalidReports,
            ),
            (
                "short hash",
                with("locationIdHash", &STANDARD.encode([0u8; 20])),
                ProblemKind::InvalidReports,
            ),
            (
                "oversized record",
                with("encryptedCheckInRecord", &STANDARD.encode([0u8; 128])),
                ProblemKind::InvalidReports,
            ),
            (
                "short mac",
                with("mac", &STANDARD.encode([0u8; 8])),
                ProblemKind::InvalidReports,
            ),
            (
                "no reports",
                json!({"checkInProtectedReports": [], "fake": 0}),
                ProblemKind::InvalidReports,
            ),
            (
                "more than 20 a day for 15 days",
                upload_body(&too_many, 0),
                ProblemKind::InvalidReports,
            ),
            (
                "fake not 0 or 1",
                upload_body(&reports, 7),
                ProblemKind::InvalidReports,
            ),
            (
                "not the expected shape",
                json!({"reports": []}),
                ProblemKind::MalformedBody,
            ),
        ];
        for (what, body, expected) in cases {
            let (status, content_type, problem) = fixture.post("/v1/checkins", &token, &body).await;
            assert_eq!(status, 400, "{what}");
            assert_eq!(content_type, "application/problem+json", "{what}");
            assert_eq!(problem["type"], expected.type_uri(), "{what}: {problem}");
        }
        let (status, _, _) = fixture.post("/v1/checkins", "not-a-token", &good).await;
        assert_eq!(status, 401);

        // A fake upload answers like a real one and stores nothing.
        let (status, _, _) = fixture
            .post("/v1/checkins", &token, &upload_body(&reports, 1))
            .await;
        assert_eq!(status, 200);
        fixture.clock.set(at(19, 0));
        assert!(
            fixture
                .warnings(0)
                .await
                .check_in_protected_reports
                .is_empty()
        );

        // Nothing above used the token up: the real upload still goes through (within its hour).
        let (status, _, _) = fixture.post("/v1/checkins", &token, &good).await;
        assert_eq!(status, 200);
        fixture.clock.set(at(20, 0));
        assert_eq!(
            fixture.warnings(0).await.check_in_protected_reports.len(),
            reports.len()
        );
        fixture.server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_venue_owner_warns_the_guests_of_a_time_window() {
    for backend in common::backends() {
        let mut rng = StdRng::seed_from_u64(3);
        let fixture = Fixture::start(at(22, 0), backend.as_deref()).await;
        let venue = cafe(&mut rng);
        let window = TimeWindow::new(at(19, 0) as u64, at(20, 0) as u64);
        let reports = warn_on_behalf(&venue.location_id, window, 8, &mut rng).unwrap();
        let token = fixture.venue_warning_token().await;
        let (status, _, _) = fixture
            .post("/v1/venues/warnings", &token, &upload_body(&reports, 0))
            .await;
        assert_eq!(status, 200);
        // The same token cannot warn twice.
        let (status, _, _) = fixture
            .post("/v1/venues/warnings", &token, &upload_body(&reports, 0))
            .await;
        assert_eq!(status, 403);

        fixture.clock.set(at(23, 0));
        let published = fixture.warnings(0).await.check_in_protected_reports;
        // A guest who arrived 20 minutes after the window ended is still warned (30 minutes).
        let stayed = match_guest_check_ins(&[guest(&venue, at(20, 20), at(21, 0))], &published);
        assert_eq!(stayed.len(), 1);
        assert_eq!(stayed[0].overlap_minutes, 10);
        let later = match_guest_check_ins(&[guest(&venue, at(20, 40), at(21, 30))], &published);
        assert!(later.is_empty());
        fixture.server.shutdown().await.unwrap();
    }
}

/// Issue 14, item 7: a patient's token uploads keys and check-ins, never a venue warning
/// (which would warn every guest of any venue whose QR code the patient once scanned,
/// the owner never involved); a venue-warning code's token warns once and uploads
/// nothing else.
#[tokio::test]
async fn a_patient_code_cannot_warn_on_behalf_of_a_venue_nor_a_venue_code_upload_a_patients_data() {
    for backend in common::backends() {
        let mut rng = StdRng::seed_from_u64(14);
        let fixture = Fixture::start(at(22, 0), backend.as_deref()).await;
        let venue = cafe(&mut rng);
        let window = TimeWindow::new(at(19, 0) as u64, at(20, 0) as u64);
        let reports = warn_on_behalf(&venue.location_id, window, 8, &mut rng).unwrap();
        let body = upload_body(&reports, 0);

        let patient = fixture.token().await;
        let (status, _, problem) = fixture.post("/v1/venues/warnings", &patient, &body).await;
        assert_eq!(status, 403, "{problem}");
        assert!(
            problem["type"].as_str().unwrap().ends_with("token-scope"),
            "{problem}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("venue-warning code"),
            "{problem}"
        );
        // The patient's token still uploads their check-ins.
        let (status, _, _) = fixture.post("/v1/checkins", &patient, &body).await;
        assert_eq!(status, 200);

        let owner = fixture.venue_warning_token().await;
        let (status, _, _) = fixture.post("/v1/checkins", &owner, &body).await;
        assert_eq!(status, 403, "a venue code uploads no check-ins");
        let keys = json!({"gaenKeys": [], "fake": 0, "delayedKeyDate": 0});
        let (status, _, _) = fixture.post("/v2/gaen/exposed", &owner, &keys).await;
        assert_eq!(status, 403, "nor keys");
        let (status, _, _) = fixture.post("/v1/venues/warnings", &owner, &body).await;
        assert_eq!(status, 200);
        fixture.server.shutdown().await.unwrap();
    }
}
