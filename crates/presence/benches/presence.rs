//! How long a phone takes for the presence work it does on every sync, and a scan.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use presence::{
    CheckIn, GuestCheckIn, LocationId, decode_qr_url, fake_report, match_guest_check_ins,
    prepare_upload,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const KINOABEND: &str = "https://e.coronawarn.app?v=1#CAESJAgBEglLaW5vYWJlbmQaCUltIEtlbGxlciiQ2MCEBjDArMGEBhp2CAESYIMCzMxNed7UMADn9jGaFF1381k3ZUqX0vfYmX35nJsThvZ40iuEU4phThcA4erdE8sPF0dNboA2I7bisI47iuPTofNxVnLel6Xnz4vUpI8b78-d4vYGjJlBHPeqW7aGgBoQ_85sw48Priq3uzwjcOzBdiIHCAEQCRi0AQ";
/// 2021-03-04 12:00 UTC.
const NOON: u64 = 1_614_859_200;

fn benches(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);

    c.bench_function("decode a CWA QR code", |b| {
        b.iter(|| decode_qr_url(black_box(KINOABEND)))
    });

    // 14 days of a busy guest: 100 check-ins, 10 of them at venues with positive visitors.
    let guest: Vec<GuestCheckIn> = (0..100u8)
        .map(|i| GuestCheckIn {
            location_id: LocationId([i; 32]),
            description: format!("Venue {i}"),
            check_in: NOON + u64::from(i) * 3600,
            check_out: NOON + u64::from(i) * 3600 + 1800,
        })
        .collect();
    let positive: Vec<CheckIn> = (0..10u8)
        .map(|i| CheckIn {
            location_id: LocationId([i * 10; 32]),
            check_in: NOON + u64::from(i) * 36_000,
            check_out: NOON + u64::from(i) * 36_000 + 3600,
            transmission_risk_level: 7,
        })
        .collect();
    let mut reports = prepare_upload(&positive, &mut rng);
    // A country's two weeks of published reports: 100,000.
    reports.extend((reports.len()..100_000).map(|_| fake_report(&mut rng)));
    c.bench_function("match 100 check-ins against 100,000 reports", |b| {
        b.iter(|| match_guest_check_ins(black_box(&guest), black_box(&reports)))
    });

    c.bench_function("prepare an upload of 10 check-ins", |b| {
        b.iter(|| prepare_upload(black_box(&positive), &mut rng))
    });
}

criterion_group!(presence_benches, benches);
criterion_main!(presence_benches);
