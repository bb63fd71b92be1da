//! Three phone cores and a server over real HTTP: A spends 30 minutes close to B; C hears
//! A once, far away; A reports with a physician's code. B, told by the push route that new
//! keys are out, syncs and is warned (high risk); C syncs and is not.

use std::sync::Arc;

use exposure::matching::Sighting;
use phone::Phone;
use serde_json::Value;
use server::{Config, MockClock};

/// 2026-11-20 09:00 UTC.
const MEETING: u64 = 1_795_597_200;
const HOUR: u64 = 3600;

fn heard(ads: &[phone::Advertisement], rssi: i8) -> Vec<Sighting> {
    ads.iter()
        .map(|ad| Sighting {
            unix_seconds: ad.unix_seconds,
            rpi: ad.rpi,
            aem: ad.aem,
            rssi,
        })
        .collect()
}

#[test]
fn a_close_contact_is_warned_and_a_faraway_one_is_not() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(MockClock::new(MEETING as i64));
    let config = Config {
        data_dir: dir.path().join("server"),
        listen: "127.0.0.1:0".parse().unwrap(),
        min_response_millis: 0,
        export_store_url: Some("memory:///".into()),
        ..Config::default()
    };
    let server = runtime
        .block_on(server::spawn(config, clock.clone()))
        .unwrap();
    let api_key = runtime
        .block_on(server::codes::create_api_key(
            &server.state.store,
            "lab",
            MEETING as i64,
        ))
        .unwrap();
    let url = server.base_url();
    let open = |name: &str| {
        let mut phone = Phone::open(&dir.path().join(name)).unwrap();
        phone.init(&url, MEETING).unwrap();
        phone
    };
    let (mut a, mut b, mut c) = (open("a"), open("b"), open("c"));
    let mut rng = rand::rng();

    // A and B: 30 minutes at arm's length (-50 dBm, attenuation 35 dB).
    let advertised = a.broadcast(MEETING, 30, &mut rng).unwrap();
    assert_eq!(advertised.len(), 30);
    b.observe(MEETING + 30 * 60, &heard(&advertised, -50))
        .unwrap();
    // C: one advertisement, across the street (-95 dBm, attenuation 80 dB).
    c.observe(MEETING + 60, &heard(&advertised[..1], -95))
        .unwrap();

    // The next day A tests positive; the physician issues a code.
    let report_time = MEETING + 24 * HOUR;
    clock.set(report_time as i64);
    let code: Value = ureq::post(&format!("{url}/v1/authority/codes"))
        .header("Authorization", &format!("Bearer {api_key}"))
        .send_json(serde_json::json!({}))
        .unwrap()
        .into_body()
        .read_json()
        .unwrap();
    let outcome = a
        .report(code["code"].as_str().unwrap(), report_time, &mut rng)
        .unwrap();
    assert!(outcome.keys_uploaded >= 1, "{outcome:?}");

    // Before the keys' release nothing is new; after it (and the jobs' run) the push
    // route says so, and the sync brings the warning.
    assert!(!b.wait_for_new_keys(0).unwrap());
    let later = report_time + 2 * HOUR;
    clock.set(later as i64);
    runtime.block_on(server.run_jobs_now()).unwrap();
    assert!(b.wait_for_new_keys(0).unwrap());

    let b_status = b.sync(later, &mut rng).unwrap();
    assert_eq!(b_status.exposure.risk, "high", "{b_status:?}");
    assert_eq!(b_status.exposure.notifications.len(), 1, "{b_status:?}");
    assert!(b_status.exposure.exposure_minutes >= 25, "{b_status:?}");

    let c_status = c.sync(later, &mut rng).unwrap();
    assert_eq!(c_status.exposure.risk, "none", "{c_status:?}");
    assert!(c_status.exposure.notifications.is_empty(), "{c_status:?}");

    // Syncing again brings nothing new and notifies nobody twice.
    let again = b.sync(later + HOUR, &mut rng).unwrap();
    assert_eq!(again.exposure.notifications.len(), 1);
    runtime.block_on(server.shutdown()).unwrap();
}
