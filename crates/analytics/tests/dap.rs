#![allow(clippy::unwrap_used)]
//! DAP-09 round trip without Janus: reports sealed as a phone seals them are opened with
//! the aggregators' private keys exactly as DAP-09 says (HPKE info and AAD), prepared by
//! both aggregators, and their aggregate shares, sealed to the collector, open into the
//! true histogram.

use analytics::Metric;
use analytics::dap::{CollectorKey, ReportTask, days_interval, open_collection, seal_report};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::aead::AesGcm128;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use janus_messages::query_type::TimeInterval;
use janus_messages::{
    AggregateShareAad, BatchSelector, Collection, HpkeAeadId, HpkeCiphertext, HpkeConfig,
    HpkeConfigId, HpkeKdfId, HpkeKemId, HpkePublicKey, InputShareAad, PartialBatchSelector,
    PlaintextInputShare, Report, Role, TaskId,
};
use prio::codec::{Decode, Encode, ParameterizedDecode};
use prio::vdaf::prio3::Prio3Histogram;
use prio::vdaf::{Aggregator, PrepareTransition, Vdaf};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

type PrivateKey = <X25519HkdfSha256 as Kem>::PrivateKey;

fn keypair(id: u8, rng: &mut StdRng) -> (HpkeConfig, PrivateKey) {
    let (private, public) = X25519HkdfSha256::gen_keypair_with_rng(rng);
    let config = HpkeConfig::new(
        HpkeConfigId::from(id),
        HpkeKemId::X25519HkdfSha256,
        HpkeKdfId::HkdfSha256,
        HpkeAeadId::Aes128Gcm,
        HpkePublicKey::from(public.to_bytes().to_vec()),
    );
    (config, private)
}

fn open(private: &PrivateKey, ciphertext: &HpkeCiphertext, info: &[u8], aad: &[u8]) -> Vec<u8> {
    let encapsulated =
        <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(ciphertext.encapsulated_key()).unwrap();
    hpke::single_shot_open::<AesGcm128, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        private,
        &encapsulated,
        info,
        ciphertext.payload(),
        aad,
    )
    .unwrap()
}

fn seal(
    public: &HpkeConfig,
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
    rng: &mut StdRng,
) -> HpkeCiphertext {
    let key =
        <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(public.public_key().as_ref()).unwrap();
    let (encapsulated, ciphertext) = hpke::single_shot_seal_with_rng::<
        AesGcm128,
        HkdfSha256,
        X25519HkdfSha256,
    >(&OpModeS::Base, &key, info, plaintext, aad, rng)
    .unwrap();
    HpkeCiphertext::new(*public.id(), encapsulated.to_bytes().to_vec(), ciphertext)
}

#[test]
fn sealed_reports_open_prepare_and_collect_into_the_true_histogram() {
    let mut rng = StdRng::seed_from_u64(7);
    let metric = Metric::CheckInsPerDay;
    let (leader, leader_key) = keypair(1, &mut rng);
    let (helper, helper_key) = keypair(2, &mut rng);
    let (collector, collector_key) = keypair(3, &mut rng);
    let task_id_bytes: [u8; 32] = rng.random();
    let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let task = ReportTask::from_base64(
        metric,
        &encode(&task_id_bytes),
        &encode(&leader.get_encoded().unwrap()),
        &encode(&helper.get_encoded().unwrap()),
    )
    .unwrap();
    let task_id = TaskId::from(task_id_bytes);
    assert_eq!(task.reports_path(), format!("tasks/{task_id}/reports"));

    let day = 20_400u32;
    let buckets = [0usize, 1, 1, 5, 2, 0, 3];
    let vdaf = metric.vdaf().unwrap();
    let verify_key: [u8; 16] = rng.random();
    let mut output_shares = [Vec::new(), Vec::new()];
    for &bucket in &buckets {
        // Noon: the report's time is rounded down to the day.
        let now = u64::from(day) * 86_400 + 43_200;
        let report =
            Report::get_decoded(&seal_report(&task, bucket, now, 86_400, &mut rng).unwrap())
                .unwrap();
        assert_eq!(
            report.metadata().time().as_seconds_since_epoch(),
            u64::from(day) * 86_400
        );
        let aad = InputShareAad::new(
            task_id,
            report.metadata().clone(),
            report.public_share().to_vec(),
        )
        .get_encoded()
        .unwrap();
        let nonce: [u8; 16] = *report.metadata().id().as_ref();
        let public_share = <Prio3Histogram as Vdaf>::PublicShare::get_decoded_with_param(
            &vdaf,
            report.public_share(),
        )
        .unwrap();
        let mut states = Vec::new();
        let mut prepare_shares = Vec::new();
        for (aggregator, (role, ciphertext, private)) in [
            (
                Role::Leader,
                report.leader_encrypted_input_share(),
                &leader_key,
            ),
            (
                Role::Helper,
                report.helper_encrypted_input_share(),
                &helper_key,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let info = [
                b"dap-09 input share".as_slice(),
                &[Role::Client as u8, role as u8],
            ]
            .concat();
            let plaintext =
                PlaintextInputShare::get_decoded(&open(private, ciphertext, &info, &aad)).unwrap();
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
            prepare_shares.push(share);
        }
        let message = vdaf
            .prepare_shares_to_prepare_message(&(), prepare_shares)
            .unwrap();
        for (aggregator, state) in states.into_iter().enumerate() {
            match vdaf.prepare_next(state, message.clone()).unwrap() {
                PrepareTransition::Finish(share) => output_shares[aggregator].push(share),
                PrepareTransition::Continue(..) => panic!("Prio3 has one round"),
            }
        }
    }

    let interval = days_interval(day, day).unwrap();
    let aad = AggregateShareAad::new(
        task_id,
        Vec::new(),
        BatchSelector::new_time_interval(interval),
    )
    .get_encoded()
    .unwrap();
    let [leader_shares, helper_shares] = output_shares;
    let mut sealed = Vec::new();
    for (role, shares) in [(Role::Leader, leader_shares), (Role::Helper, helper_shares)] {
        let aggregate = vdaf.aggregate(&(), shares).unwrap().get_encoded().unwrap();
        let info = [
            b"dap-09 aggregate share".as_slice(),
            &[role as u8, Role::Collector as u8],
        ]
        .concat();
        sealed.push(seal(&collector, &info, &aggregate, &aad, &mut rng));
    }
    let helper_share = sealed.pop().unwrap();
    let leader_share = sealed.pop().unwrap();
    let collection = Collection::<TimeInterval>::new(
        PartialBatchSelector::new_time_interval(),
        buckets.len() as u64,
        interval,
        leader_share,
        helper_share,
    )
    .get_encoded()
    .unwrap();
    let collected = open_collection(
        metric,
        &task_id,
        interval,
        &collection,
        &CollectorKey {
            config_id: 3,
            private_key: collector_key.to_bytes().to_vec(),
        },
    )
    .unwrap();
    assert_eq!(collected.report_count, buckets.len() as u64);
    assert_eq!(collected.counts, [2, 2, 1, 1, 0, 1]);
}

#[test]
fn a_task_with_another_hpke_suite_is_refused() {
    let mut rng = StdRng::seed_from_u64(8);
    let (leader, _) = keypair(1, &mut rng);
    let p256 = HpkeConfig::new(
        HpkeConfigId::from(2),
        HpkeKemId::P256HkdfSha256,
        HpkeKdfId::HkdfSha256,
        HpkeAeadId::Aes128Gcm,
        HpkePublicKey::from(vec![4; 65]),
    );
    let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let refused = ReportTask::from_base64(
        Metric::ActivePhones,
        &encode(&[0; 32]),
        &encode(&leader.get_encoded().unwrap()),
        &encode(&p256.get_encoded().unwrap()),
    );
    assert!(refused.is_err());
}
