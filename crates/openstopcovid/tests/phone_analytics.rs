#![allow(clippy::unwrap_used)]
//! A phone that opted in sends its day to the DAP leader the authority configured: the
//! server serves the aggregators and tasks in its signed `GET /v1/config` (with an ETag),
//! the phone's sync seals one report per metric and PUTs them to the leader, here a
//! stand-in that opens both shares with the aggregators' keys and runs Prio3's preparation.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use analytics::Metric;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::aead::AesGcm128;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, Serializable};
use janus_messages::{
    HpkeAeadId, HpkeConfig, HpkeConfigId, HpkeKdfId, HpkeKemId, HpkePublicKey, InputShareAad,
    PlaintextInputShare, Report, Role, TaskId,
};
use phone::Phone;
use prio::codec::{Decode, Encode, ParameterizedDecode};
use prio::vdaf::prio3::Prio3Histogram;
use prio::vdaf::{Aggregator, Collector, PrepareTransition, Vdaf};
use rand::RngExt;
use server::config::{AnalyticsSetting, AnalyticsTaskSetting};
use server::{Config, MockClock};

/// 2026-11-20 00:00 UTC.
const DAY_START: u64 = 1_795_564_800;

type PrivateKey = <X25519HkdfSha256 as Kem>::PrivateKey;

fn keypair(id: u8) -> (HpkeConfig, PrivateKey) {
    let (private, public) = X25519HkdfSha256::gen_keypair_with_rng(&mut rand::rng());
    let config = HpkeConfig::new(
        HpkeConfigId::from(id),
        HpkeKemId::X25519HkdfSha256,
        HpkeKdfId::HkdfSha256,
        HpkeAeadId::Aes128Gcm,
        HpkePublicKey::from(public.to_bytes().to_vec()),
    );
    (config, private)
}

/// Requests a stand-in leader received: request line, content type, body.
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A stand-in DAP leader: records every request's path and body, answers 201.
fn stand_in_leader() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0;
            let mut content_type = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push((request_line, content_type, body));
            stream
                .write_all(
                    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .unwrap();
        }
    });
    (url, received)
}

/// The bucket a report carries, as the two aggregators together find it.
fn open_report(metric: Metric, task_id: TaskId, body: &[u8], keys: [&PrivateKey; 2]) -> usize {
    let vdaf = metric.vdaf().unwrap();
    let report = Report::get_decoded(body).unwrap();
    let aad = InputShareAad::new(
        task_id,
        report.metadata().clone(),
        report.public_share().to_vec(),
    )
    .get_encoded()
    .unwrap();
    let public_share =
        <Prio3Histogram as Vdaf>::PublicShare::get_decoded_with_param(&vdaf, report.public_share())
            .unwrap();
    let nonce: [u8; 16] = *report.metadata().id().as_ref();
    let verify_key: [u8; 16] = rand::rng().random();
    let mut states = Vec::new();
    let mut shares = Vec::new();
    for (aggregator, (role, ciphertext)) in [
        (Role::Leader, report.leader_encrypted_input_share()),
        (Role::Helper, report.helper_encrypted_input_share()),
    ]
    .into_iter()
    .enumerate()
    {
        let info = [
            b"dap-09 input share".as_slice(),
            &[Role::Client as u8, role as u8],
        ]
        .concat();
        let encapsulated =
            <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(ciphertext.encapsulated_key())
                .unwrap();
        let plaintext = hpke::single_shot_open::<AesGcm128, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            keys[aggregator],
            &encapsulated,
            &info,
            ciphertext.payload(),
            &aad,
        )
        .unwrap();
        let plaintext = PlaintextInputShare::get_decoded(&plaintext).unwrap();
        let input_share = <Prio3Histogram as Vdaf>::InputShare::get_decoded_with_param(
            &(&vdaf, aggregator),
            plaintext.payload(),
        )
        .unwrap();
        let (state, share) = vdaf
            .prepare_init(
                &verify_key,
                aggregator,
                &(),
                &nonce,
                &public_share,
                &input_share,
            )
            .unwrap();
        states.push(state);
        shares.push(share);
    }
    let message = vdaf.prepare_shares_to_prepare_message(&(), shares).unwrap();
    let mut aggregates = Vec::new();
    for state in states {
        let PrepareTransition::Finish(output) = vdaf.prepare_next(state, message.clone()).unwrap()
        else {
            panic!("Prio3 has one round");
        };
        aggregates.push(vdaf.aggregate(&(), [output]).unwrap());
    }
    let histogram = vdaf.unshard(&(), aggregates, 1).unwrap();
    assert_eq!(histogram.iter().sum::<u128>(), 1, "{metric}: {histogram:?}");
    histogram.iter().position(|&count| count == 1).unwrap()
}

#[test]
fn an_opted_in_phone_sends_every_metric_of_its_day_to_the_configured_leader() {
    let (leader_url, received) = stand_in_leader();
    let (leader_config, leader_key) = keypair(1);
    let (helper_config, helper_key) = keypair(2);
    let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let mut task_ids = std::collections::BTreeMap::new();
    let tasks = Metric::ALL
        .into_iter()
        .map(|metric| {
            let id: [u8; 32] = rand::rng().random();
            task_ids.insert(TaskId::from(id).to_string(), metric);
            (
                metric.name().to_owned(),
                AnalyticsTaskSetting {
                    task_id: encode(&id),
                    leader_hpke_config: encode(&leader_config.get_encoded().unwrap()),
                    helper_hpke_config: encode(&helper_config.get_encoded().unwrap()),
                },
            )
        })
        .collect();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(MockClock::new(DAY_START as i64));
    let config = Config {
        data_dir: dir.path().join("server"),
        listen: "127.0.0.1:0".parse().unwrap(),
        min_response_millis: 0,
        export_store_url: Some("memory:///".into()),
        analytics: Some(AnalyticsSetting {
            leader: leader_url,
            helper: "http://localhost:9".to_owned(),
            time_precision_seconds: 86_400,
            min_batch_size: 100,
            epsilon: 1.0,
            tasks,
        }),
        ..Config::default()
    };
    let server = runtime
        .block_on(server::spawn(config, clock.clone()))
        .unwrap();
    let url = server.base_url();

    // The document is signed and revalidates for nothing.
    let answer = ureq::get(&format!("{url}/v1/config")).call().unwrap();
    assert!(answer.headers().contains_key("signature"));
    let etag = answer.headers()["etag"].to_str().unwrap().to_owned();
    let document: serde_json::Value = answer.into_body().read_json().unwrap();
    assert_eq!(document["analytics"]["tasks"].as_array().unwrap().len(), 9);
    assert_eq!(document["analytics"]["minBatchSize"], 100);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let again = agent
        .get(&format!("{url}/v1/config"))
        .header("If-None-Match", &etag)
        .call()
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);

    let mut rng = rand::rng();
    let mut phone = Phone::open(&dir.path().join("phone")).unwrap();
    phone.init(&url, DAY_START).unwrap();
    phone.broadcast(DAY_START + 3600, 60, &mut rng).unwrap();
    // Without the opt-in, the sync sends nothing.
    let next_morning = DAY_START + 86_400 + 7 * 3600;
    clock.set(next_morning as i64);
    phone.sync(next_morning, &mut rng).unwrap();
    assert!(received.lock().unwrap().is_empty());

    // Opted in on the first day, the sync after it sends that day: every metric once.
    phone.set_analytics_opt_in(true, DAY_START).unwrap();
    phone.sync(next_morning, &mut rng).unwrap();
    assert_eq!(phone.analytics_day_due(next_morning).unwrap(), None);
    let reports = received.lock().unwrap().clone();
    assert_eq!(reports.len(), 9);
    let mut seen = std::collections::BTreeMap::new();
    for (request_line, content_type, body) in &reports {
        assert_eq!(content_type, "application/dap-report");
        let path = request_line.split(' ').nth(1).unwrap();
        assert!(request_line.starts_with("PUT "), "{request_line}");
        let task = path
            .strip_prefix("/tasks/")
            .and_then(|rest| rest.strip_suffix("/reports"))
            .unwrap();
        let metric = task_ids[task];
        let task_id: TaskId = task.parse().unwrap();
        seen.insert(
            metric,
            open_report(metric, task_id, body, [&leader_key, &helper_key]),
        );
    }
    assert_eq!(seen.len(), 9);
    for (metric, bucket) in seen {
        let expected = usize::from(metric == Metric::ActivePhones);
        assert_eq!(bucket, expected, "{metric}");
    }
    // Nothing more the same day.
    phone.sync(next_morning + 3600, &mut rng).unwrap();
    assert_eq!(received.lock().unwrap().len(), 9);
    runtime.block_on(server.shutdown()).unwrap();
}
