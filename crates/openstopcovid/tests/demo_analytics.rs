#![allow(clippy::unwrap_used)]
//! `openstopcovid demo --json` carries the private analytics: per metric, what the phones
//! measured and what the two aggregators released, close to each other.

use std::process::Command;

#[test]
fn the_demo_json_puts_collected_analytics_next_to_the_truth() {
    let directory = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .args(["demo", "--json", "--chart"])
        .arg(directory.path().join("demo.svg"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let analytics = &outcome["analytics"];
    let app_users = outcome["app_users"].as_u64().unwrap();
    let days = outcome["days"].as_u64().unwrap();
    assert_eq!(analytics["batches"].as_u64().unwrap(), days);
    assert_eq!(analytics["batches_released"], analytics["batches"]);
    let bound = analytics["noise_bound_per_batch"].as_i64().unwrap();
    let metrics = analytics["metrics"].as_object().unwrap();
    assert_eq!(metrics.len(), 9);
    for (name, metric) in metrics {
        let truth: Vec<i64> = serde_json::from_value(metric["truth"].clone()).unwrap();
        let collected: Vec<i64> = serde_json::from_value(metric["collected"].clone()).unwrap();
        let buckets = metric["buckets"].as_array().unwrap().len();
        assert_eq!(truth.len(), buckets, "{name}");
        assert_eq!(collected.len(), buckets, "{name}");
        // Every opted-in phone sends every metric every day.
        assert_eq!(truth.iter().sum::<i64>() as u64, app_users * days, "{name}");
        for (truth, collected) in truth.iter().zip(&collected) {
            // Sums of `days` daily batches, each bucket within ±bound a day.
            assert!(
                (truth - collected).abs() <= bound * days as i64,
                "{name}: {collected} collected for {truth}"
            );
        }
    }
    // The town's phones broadcast every day, and some of them were warned.
    let active = &metrics["active_phones"]["truth"];
    assert_eq!(active[1].as_u64().unwrap(), app_users * days);
    let warned: u64 = metrics["warning_shown"]["truth"].as_array().unwrap()[1..]
        .iter()
        .map(|count| count.as_u64().unwrap())
        .sum();
    assert!(warned > 0);
}
