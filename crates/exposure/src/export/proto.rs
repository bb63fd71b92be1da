//! The protobuf messages of key-export files, written by hand with `prost` derives.
//!
//! They mirror google/exposure-notifications-server `internal/pb/export/export.proto`
//! (proto2): every scalar is `optional`, so "absent" and "zero" stay distinct, which is
//! what lets [`super::encode_export_bin`] reproduce the reference server's bytes exactly.
//! `SignatureInfo` fields 1 and 2 (`app_bundle_id`, `android_package`) are reserved
//! upstream; they are deliberately not declared here, so prost skips them when reading.
//!
//! These are the raw wire messages; the rest of the crate works with the domain types in
//! [`super`] and [`crate::keys`].

/// `TemporaryExposureKeyExport`: the protobuf that follows the 16-byte header in `export.bin`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TemporaryExposureKeyExport {
    /// Start of the time window of the keys in this file (arrival at the server), unix seconds.
    #[prost(fixed64, optional, tag = "1")]
    pub start_timestamp: Option<u64>,
    /// End of that window, unix seconds.
    #[prost(fixed64, optional, tag = "2")]
    pub end_timestamp: Option<u64>,
    /// Region the keys come from, e.g. a country code.
    #[prost(string, optional, tag = "3")]
    pub region: Option<String>,
    /// 1-based position of this file in its batch.
    #[prost(int32, optional, tag = "4")]
    pub batch_num: Option<i32>,
    /// Number of files in the batch.
    #[prost(int32, optional, tag = "5")]
    pub batch_size: Option<i32>,
    /// Which keys sign this file (most recent first; phones look at the first ten).
    #[prost(message, repeated, tag = "6")]
    pub signature_infos: Vec<SignatureInfo>,
    /// Keys published for the first time.
    #[prost(message, repeated, tag = "7")]
    pub keys: Vec<TemporaryExposureKey>,
    /// Keys published before whose status changed (e.g. revoked).
    #[prost(message, repeated, tag = "8")]
    pub revised_keys: Vec<TemporaryExposureKey>,
}

/// `SignatureInfo`: identifies the key a phone must use to verify the file.
#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct SignatureInfo {
    /// Key version for rollovers, e.g. `v1`.
    #[prost(string, optional, tag = "3")]
    pub verification_key_version: Option<String>,
    /// Alias of the public key (Apple asks for the mobile country code).
    #[prost(string, optional, tag = "4")]
    pub verification_key_id: Option<String>,
    /// ASN.1 OID of the signature algorithm, `1.2.840.10045.4.3.2` for ECDSA P-256 SHA-256.
    #[prost(string, optional, tag = "5")]
    pub signature_algorithm: Option<String>,
}

/// `TemporaryExposureKey` as it appears in an export file.
#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct TemporaryExposureKey {
    /// The 16 key bytes.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub key_data: Option<Vec<u8>>,
    /// Deprecated upstream, but still written by the reference server and read by v1 phones.
    #[prost(int32, optional, tag = "2")]
    pub transmission_risk_level: Option<i32>,
    /// First interval of the key.
    #[prost(int32, optional, tag = "3")]
    pub rolling_start_interval_number: Option<i32>,
    /// Validity in intervals; absent means 144 (one day).
    #[prost(int32, optional, tag = "4", default = "144")]
    pub rolling_period: Option<i32>,
    /// Why the key was published (see [`ReportType`]).
    #[prost(enumeration = "ReportType", optional, tag = "5")]
    pub report_type: Option<i32>,
    /// Days from symptom onset to the key's day (zig-zag encoded on the wire).
    #[prost(sint32, optional, tag = "6")]
    pub days_since_onset_of_symptoms: Option<i32>,
    /// Variant of concern associated with the key (tag 7 is reserved upstream).
    #[prost(enumeration = "VariantOfConcern", optional, tag = "8")]
    pub variant_of_concern: Option<i32>,
}

/// `TemporaryExposureKey.ReportType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum ReportType {
    Unknown = 0,
    ConfirmedTest = 1,
    ConfirmedClinicalDiagnosis = 2,
    SelfReport = 3,
    Recursive = 4,
    Revoked = 5,
}

/// `TemporaryExposureKey.VariantOfConcern`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum VariantOfConcern {
    VariantTypeUnknown = 0,
    /// Vaccine is effective.
    VariantType1 = 1,
    /// Highly transmissive.
    VariantType2 = 2,
    /// High severity.
    VariantType3 = 3,
    /// Vaccine breakthrough.
    VariantType4 = 4,
}

/// `TEKSignatureList`: the whole content of `export.sig`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TekSignatureList {
    #[prost(message, repeated, tag = "1")]
    pub signatures: Vec<TekSignature>,
}

/// `TEKSignature`: one signature over `export.bin`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TekSignature {
    #[prost(message, optional, tag = "1")]
    pub signature_info: Option<SignatureInfo>,
    #[prost(int32, optional, tag = "2")]
    pub batch_num: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub batch_size: Option<i32>,
    /// ECDSA signature, DER (X9.62 `SEQUENCE { r INTEGER, s INTEGER }`).
    #[prost(bytes = "vec", optional, tag = "4")]
    pub signature: Option<Vec<u8>>,
}
