//! What the integration suites share: the database backends to run on, and a server
//! started on an ephemeral port on one of them.

// Test helpers may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use server::datastore::Store;
use server::signing::KeyRing;
use server::{AppState, Config, ServerHandle, SharedClock};

/// SQLite always; PostgreSQL too when `OPENSTOPCOVID_TEST_DATABASE_URL` names one (CI
/// sets it), each run in a schema of its own so that runs never see each other's rows.
// Not every suite runs on both backends (the fake-traffic timings run on SQLite only).
#[allow(dead_code)]
pub fn backends() -> Vec<Option<String>> {
    match std::env::var("OPENSTOPCOVID_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => vec![None, Some(url)],
        _ => {
            eprintln!(
                "note: PostgreSQL runs skipped (set OPENSTOPCOVID_TEST_DATABASE_URL to run them)"
            );
            vec![None]
        }
    }
}

/// Starts a server with `config` (its `data_dir` holds the keys, and the SQLite database
/// when `postgres` is `None`).
pub async fn spawn(config: Config, clock: SharedClock, postgres: Option<&str>) -> ServerHandle {
    let store = match postgres {
        None => Store::connect(&config.effective_database_url())
            .await
            .unwrap(),
        Some(url) => {
            let schema = format!("t{}", uuid::Uuid::new_v4().simple());
            Store::connect_in_schema(url, Some(&schema)).await.unwrap()
        }
    };
    let keys = KeyRing::load_or_create(&config.data_dir, clock.now_unix_seconds(), &config.region)
        .unwrap();
    let listen = config.listen;
    let state = AppState::with_store(config, clock, store, keys).unwrap();
    let handle = server::spawn_with_state(state, listen).await.unwrap();
    // The background jobs run once at start, then minutes of real time later. A test
    // starts once that first run is over, so that it never runs after the test has moved
    // the clock (writing the files or purging the rows the test means its own run to).
    while job_runs(&handle) == 0 {
        tokio::task::yield_now().await;
    }
    handle
}

/// Runs of the background jobs so far, whatever their outcome.
fn job_runs(handle: &ServerHandle) -> u64 {
    let runs = &handle.state.metrics.job_runs;
    ["ok", "failed"]
        .iter()
        .map(|outcome| runs.get_or_create(&[("outcome", *outcome)]).get())
        .sum()
}
