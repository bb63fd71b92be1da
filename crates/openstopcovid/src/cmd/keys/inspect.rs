//! `openstopcovid keys inspect FILE [--public-key PEM-FILE]`: print an export file as JSON
//! and check its signature.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use exposure::export::{self, ExportError, SignatureInfo, SignedExport};
use exposure::keys::{DiagnosisKey, ReportType};
use serde::Serialize;

/// Print a key-export file (a signed zip or a bare export.bin) as JSON and check its signature.
///
/// The JSON (one line on stdout) holds the header fields, the signature infos, every key
/// and `"signature"`: "valid", "invalid" or "unchecked" (no --public-key given, or a bare
/// export.bin that carries no signature).
///
/// Exit status: 0 when the file reads (and verifies, if a key was given); 1 when the
/// signature does not verify; 2 when the file or the key is malformed.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  \
    curl -s https://example.org/v1/export-public-key > export-key.pem\n  \
    openstopcovid keys inspect keys.zip --public-key export-key.pem | jq '.keys | length'")]
pub struct InspectArgs {
    /// The export file: a zip holding export.bin and export.sig, or a bare export.bin.
    file: PathBuf,
    /// PEM file (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY") of the key that signs the file.
    #[arg(long, value_name = "PEM-FILE")]
    public_key: Option<PathBuf>,
}

/// Exit status for a file whose signature does not verify.
const EXIT_INVALID_SIGNATURE: u8 = 1;
/// Exit status for a malformed file or key.
const EXIT_MALFORMED: u8 = 2;

/// Files larger than this cannot be valid exports (the zip of the largest `export.bin` a
/// reader accepts is smaller); refusing them early avoids reading a wrong file whole.
const MAX_INPUT_BYTES: u64 = 2 * export::MAX_EXPORT_BIN_BYTES;

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let public_key = match args.public_key.as_deref().map(read_public_key).transpose() {
        Ok(public_key) => public_key,
        Err(message) => return Ok(malformed(&message)),
    };
    let bytes = match read_input(&args.file) {
        Ok(bytes) => bytes,
        Err(message) => return Ok(malformed(&message)),
    };
    let file = match export::read_export_file(&bytes) {
        Ok(file) => file,
        Err(error) => {
            return Ok(malformed(&format!(
                "{} is not a valid export file: {error}",
                args.file.display()
            )));
        }
    };

    let signature = match public_key {
        None => SignatureStatus::Unchecked,
        Some(_) if file.signatures.is_empty() => {
            eprintln!("note: a bare export.bin carries no signature; nothing to verify");
            SignatureStatus::Unchecked
        }
        Some(key) => match file.verify(&key) {
            Ok(_) => SignatureStatus::Valid,
            Err(ExportError::SignatureInvalid | ExportError::NoSignature) => {
                SignatureStatus::Invalid
            }
            Err(error) => return Ok(malformed(&error.to_string())),
        },
    };

    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &InspectOutput::new(&file, signature))?;
    writeln!(stdout)?;
    stdout.flush()?;

    if signature == SignatureStatus::Invalid {
        eprintln!("error: the signature does not verify with the given public key");
        return Ok(ExitCode::from(EXIT_INVALID_SIGNATURE));
    }
    Ok(ExitCode::SUCCESS)
}

fn malformed(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_MALFORMED)
}

fn read_input(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "{} is larger than {MAX_INPUT_BYTES} bytes: not an export file",
            path.display()
        ));
    }
    Ok(bytes)
}

fn read_public_key(path: &std::path::Path) -> Result<p256::ecdsa::VerifyingKey, String> {
    let pem = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read public key {}: {error}", path.display()))?;
    export::public_key_from_pem(&pem).map_err(|error| format!("{}: {error}", path.display()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum SignatureStatus {
    Valid,
    Invalid,
    Unchecked,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InspectOutput<'a> {
    start_timestamp: u64,
    end_timestamp: u64,
    region: &'a str,
    batch_num: u32,
    batch_size: u32,
    signature_infos: Vec<SignatureInfoOutput<'a>>,
    keys: Vec<KeyOutput>,
    revised_keys: Vec<KeyOutput>,
    signature: SignatureStatus,
}

impl<'a> InspectOutput<'a> {
    fn new(file: &'a SignedExport, signature: SignatureStatus) -> Self {
        let batch = &file.batch;
        Self {
            start_timestamp: batch.start_timestamp,
            end_timestamp: batch.end_timestamp,
            region: &batch.region,
            batch_num: batch.batch_num,
            batch_size: batch.batch_size,
            signature_infos: batch
                .signature_infos
                .iter()
                .map(SignatureInfoOutput::from)
                .collect(),
            keys: batch.keys.iter().map(KeyOutput::from).collect(),
            revised_keys: batch.revised_keys.iter().map(KeyOutput::from).collect(),
            signature,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignatureInfoOutput<'a> {
    verification_key_version: &'a str,
    verification_key_id: &'a str,
    signature_algorithm: &'a str,
}

impl<'a> From<&'a SignatureInfo> for SignatureInfoOutput<'a> {
    fn from(info: &'a SignatureInfo) -> Self {
        Self {
            verification_key_version: &info.verification_key_version,
            verification_key_id: &info.verification_key_id,
            signature_algorithm: &info.signature_algorithm,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyOutput {
    key_data: String,
    rolling_start_interval_number: u32,
    rolling_period: u32,
    transmission_risk_level: i32,
    /// The protobuf enum name, as protobuf's JSON mapping writes it.
    report_type: &'static str,
    days_since_onset_of_symptoms: Option<i32>,
}

impl From<&DiagnosisKey> for KeyOutput {
    fn from(key: &DiagnosisKey) -> Self {
        Self {
            key_data: hex::encode(key.key.key_data),
            rolling_start_interval_number: key.key.rolling_start_interval_number.0,
            rolling_period: key.key.rolling_period,
            transmission_risk_level: key.transmission_risk_level,
            report_type: match key.report_type {
                ReportType::Unknown => "UNKNOWN",
                ReportType::ConfirmedTest => "CONFIRMED_TEST",
                ReportType::ConfirmedClinicalDiagnosis => "CONFIRMED_CLINICAL_DIAGNOSIS",
                ReportType::SelfReport => "SELF_REPORT",
                ReportType::Recursive => "RECURSIVE",
                ReportType::Revoked => "REVOKED",
            },
            days_since_onset_of_symptoms: key.days_since_onset_of_symptoms,
        }
    }
}
