//! DAP-09 messages of the analytics, without the network: a phone's report (its
//! measurement sharded by Prio3, each share sealed with HPKE to its aggregator) and the
//! collector's side (the collection request, and opening the two aggregate shares of a
//! collection into the metric's histogram). The phone core and the command line send and
//! receive the bytes.
//!
//! HPKE: the aggregators' and collector's keys must be X25519 (KEM 0x0020), HKDF-SHA256
//! (KDF 0x0001), AES-128-GCM (AEAD 0x0001), Janus's default. Every other suite is refused
//! by name rather than half-supported.

use hpke::aead::AesGcm128;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use janus_messages::query_type::TimeInterval;
use janus_messages::{
    AggregateShareAad, BatchSelector, Collection, CollectionReq, Duration, HpkeAeadId,
    HpkeCiphertext, HpkeConfig, HpkeKdfId, HpkeKemId, InputShareAad, Interval, PlaintextInputShare,
    Query, Report, ReportId, ReportMetadata, Role, TaskId, Time,
};
use prio::codec::{Decode, Encode, ParameterizedDecode};
use prio::vdaf::{AggregateShare, Client, Collector};
use rand_core::CryptoRng;

use crate::AnalyticsError;
use crate::aggregate::{Collected, signed_count};
use crate::metric::Metric;

/// The media type of a report (`PUT {leader}/tasks/{task}/reports`).
pub const REPORT_MEDIA_TYPE: &str = Report::MEDIA_TYPE;
/// The media type of a collection request.
pub const COLLECTION_REQUEST_MEDIA_TYPE: &str = CollectionReq::<TimeInterval>::MEDIA_TYPE;
/// The media type of a collection.
pub const COLLECTION_MEDIA_TYPE: &str = Collection::<TimeInterval>::MEDIA_TYPE;

/// DAP-09's HPKE application info: label, sender role, recipient role.
fn application_info(label: &[u8], sender: Role, recipient: Role) -> Vec<u8> {
    [label, &[sender as u8], &[recipient as u8]].concat()
}

const INPUT_SHARE_LABEL: &[u8] = b"dap-09 input share";
const AGGREGATE_SHARE_LABEL: &[u8] = b"dap-09 aggregate share";

/// One metric's DAP task as a phone uses it: its id and both aggregators' keys.
#[derive(Clone, Debug)]
pub struct ReportTask {
    pub metric: Metric,
    pub task_id: TaskId,
    pub leader: HpkeConfig,
    pub helper: HpkeConfig,
}

impl ReportTask {
    /// Reads a task from its configuration: the id and both HPKE configurations in
    /// base64url (no padding), as `GET /v1/config` carries them.
    pub fn from_base64(
        metric: Metric,
        task_id: &str,
        leader_hpke_config: &str,
        helper_hpke_config: &str,
    ) -> Result<Self, AnalyticsError> {
        let task_id = TaskId::try_from(decode_base64(task_id)?.as_slice())
            .map_err(|_| AnalyticsError::Config("a task id is not 32 bytes".to_owned()))?;
        let hpke = |text: &str| -> Result<HpkeConfig, AnalyticsError> {
            let config = HpkeConfig::get_decoded(&decode_base64(text)?)?;
            check_suite(&config)?;
            Ok(config)
        };
        Ok(Self {
            metric,
            task_id,
            leader: hpke(leader_hpke_config)?,
            helper: hpke(helper_hpke_config)?,
        })
    }

    /// The path of the task's reports on the leader (after its base URL).
    pub fn reports_path(&self) -> String {
        format!("tasks/{}/reports", self.task_id)
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>, AnalyticsError> {
    base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        text.trim(),
    )
    .map_err(|error| AnalyticsError::Config(format!("not base64url: {error}")))
}

fn check_suite(config: &HpkeConfig) -> Result<(), AnalyticsError> {
    if *config.kem_id() == HpkeKemId::X25519HkdfSha256
        && *config.kdf_id() == HpkeKdfId::HkdfSha256
        && *config.aead_id() == HpkeAeadId::Aes128Gcm
    {
        Ok(())
    } else {
        Err(AnalyticsError::Config(format!(
            "HPKE suite {:?}/{:?}/{:?} is not X25519HkdfSha256/HkdfSha256/Aes128Gcm",
            config.kem_id(),
            config.kdf_id(),
            config.aead_id()
        )))
    }
}

fn seal<R: CryptoRng + ?Sized>(
    config: &HpkeConfig,
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
    rng: &mut R,
) -> Result<HpkeCiphertext, AnalyticsError> {
    check_suite(config)?;
    let public_key = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(config.public_key().as_ref())
        .map_err(AnalyticsError::Hpke)?;
    let mut rng = RngAdapter(rng);
    let (encapsulated, ciphertext) = hpke::single_shot_seal_with_rng::<
        AesGcm128,
        HkdfSha256,
        X25519HkdfSha256,
    >(
        &OpModeS::Base, &public_key, info, plaintext, aad, &mut rng
    )
    .map_err(AnalyticsError::Hpke)?;
    Ok(HpkeCiphertext::new(
        *config.id(),
        encapsulated.to_bytes().to_vec(),
        ciphertext,
    ))
}

/// Lets an unsized caller's generator stand where `hpke` wants a sized one.
struct RngAdapter<'a, R: CryptoRng + ?Sized>(&'a mut R);

impl<R: CryptoRng + ?Sized> rand_core::TryRng for RngAdapter<'_, R> {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: CryptoRng + ?Sized> rand_core::TryCryptoRng for RngAdapter<'_, R> {}

/// A phone's report of `bucket` for `task`, at `now` (unix seconds) rounded down to
/// `time_precision_seconds`: the encoded DAP `Report`, to `PUT` to the leader.
pub fn seal_report<R: CryptoRng + ?Sized>(
    task: &ReportTask,
    bucket: usize,
    now: u64,
    time_precision_seconds: u64,
    rng: &mut R,
) -> Result<Vec<u8>, AnalyticsError> {
    let bucket = task.metric.check_bucket(bucket)?;
    let vdaf = task.metric.vdaf()?;
    let mut report_id = [0u8; ReportId::LEN];
    rng.fill_bytes(&mut report_id);
    let (public_share, input_shares) = vdaf.shard(&bucket, &report_id)?;
    let precision = time_precision_seconds.max(1);
    let metadata = ReportMetadata::new(
        ReportId::from(report_id),
        Time::from_seconds_since_epoch(now - now % precision),
    );
    let public_share = public_share.get_encoded()?;
    let aad =
        InputShareAad::new(task.task_id, metadata.clone(), public_share.clone()).get_encoded()?;
    let mut sealed = Vec::with_capacity(2);
    for ((config, role), input_share) in
        [(&task.leader, Role::Leader), (&task.helper, Role::Helper)]
            .into_iter()
            .zip(input_shares)
    {
        let plaintext =
            PlaintextInputShare::new(Vec::new(), input_share.get_encoded()?).get_encoded()?;
        sealed.push(seal(
            config,
            &application_info(INPUT_SHARE_LABEL, Role::Client, role),
            &plaintext,
            &aad,
            rng,
        )?);
    }
    let helper_share = sealed.pop().ok_or(AnalyticsError::UnexpectedRound)?;
    let leader_share = sealed.pop().ok_or(AnalyticsError::UnexpectedRound)?;
    Ok(Report::new(metadata, public_share, leader_share, helper_share).get_encoded()?)
}

/// The batch interval of days `first_day..=last_day` (days since 1970-01-01, UTC).
pub fn days_interval(first_day: u32, last_day: u32) -> Result<Interval, AnalyticsError> {
    let days = u64::from(last_day.saturating_sub(first_day)) + 1;
    Interval::new(
        Time::from_seconds_since_epoch(u64::from(first_day) * 86_400),
        Duration::from_seconds(days * 86_400),
    )
    .map_err(|error| AnalyticsError::Config(format!("batch interval: {error}")))
}

/// The body of a collection job's `PUT {leader}/tasks/{task}/collection_jobs/{job}`.
pub fn collection_request(interval: Interval) -> Result<Vec<u8>, AnalyticsError> {
    Ok(CollectionReq::new(Query::new_time_interval(interval), Vec::new()).get_encoded()?)
}

/// The collector's HPKE key: its configuration id and X25519 private key.
pub struct CollectorKey {
    pub config_id: u8,
    pub private_key: Vec<u8>,
}

/// Opens a collection of `metric` for `task_id` and `interval`: both aggregate shares
/// decrypted with the collector's key and unsharded into the histogram.
pub fn open_collection(
    metric: Metric,
    task_id: &TaskId,
    interval: Interval,
    collection: &[u8],
    key: &CollectorKey,
) -> Result<Collected, AnalyticsError> {
    let collection = Collection::<TimeInterval>::get_decoded(collection)?;
    let vdaf = metric.vdaf()?;
    let aad = AggregateShareAad::new(
        *task_id,
        Vec::new(),
        // The query's interval, not the (narrower) one the reports spanned: DAP-09 §4.5.
        BatchSelector::new_time_interval(interval),
    )
    .get_encoded()?;
    let private_key = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(&key.private_key)
        .map_err(AnalyticsError::Hpke)?;
    let mut shares = Vec::with_capacity(2);
    for (role, ciphertext) in [
        (Role::Leader, collection.leader_encrypted_aggregate_share()),
        (Role::Helper, collection.helper_encrypted_aggregate_share()),
    ] {
        if u8::from(*ciphertext.config_id()) != key.config_id {
            return Err(AnalyticsError::Config(format!(
                "the {} sealed its share to HPKE configuration {}, not the collector's {}",
                role.as_str(),
                ciphertext.config_id(),
                key.config_id
            )));
        }
        let encapsulated =
            <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(ciphertext.encapsulated_key())
                .map_err(AnalyticsError::Hpke)?;
        let plaintext = hpke::single_shot_open::<AesGcm128, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &private_key,
            &encapsulated,
            &application_info(AGGREGATE_SHARE_LABEL, role, Role::Collector),
            ciphertext.payload(),
            &aad,
        )
        .map_err(AnalyticsError::Hpke)?;
        shares.push(AggregateShare::get_decoded_with_param(
            &(&vdaf, &()),
            &plaintext,
        )?);
    }
    let report_count = collection.report_count();
    let result = vdaf.unshard(
        &(),
        shares,
        usize::try_from(report_count).unwrap_or(usize::MAX),
    )?;
    Ok(Collected {
        counts: result.into_iter().map(signed_count).collect(),
        report_count,
    })
}
