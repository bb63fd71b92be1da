//! A client that behaves as the DP-3T reference backend's own controller tests expect a
//! GAEN v2 server to, written from DP-3T/dp3t-sdk-backend at commit
//! 810346819ca81927fe1a105f12e00f01cff25ed4 (2021-09-06):
//! `dpppt-backend-sdk-ws/src/test/java/org/dpppt/backend/sdk/ws/controller/GaenV2ControllerTest.java`
//! (`testNoTokenFails`, `testMalciousTokenFails`,
//! `testUploadTodaysKeyWillBeReleasedTomorrowWithV2Upload`,
//! `testUploadWithShortenedRollingPeriodWithV2Upload`) and
//! `…/ws/controller/GaenV2Controller.java` with `…/ws/util/ValidationUtils.java`
//! (`isValidBatchReleaseTime`: a tag off a bucket boundary is a 400, a tag not before
//! now a 404).
//!
//! One difference is deliberate: the reference serves a key until 14 days after it was
//! *received*; here a key leaves downloads when its day leaves the 14-day window (today and
//! the 14 days before), so the key of day −14 is served on the day it was uploaded, and
//! not after midnight as the reference test's 01:00 download finds it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{BUCKET_SECONDS, DAY, DAY_START, Deployment, HOUR, day, key_bytes, sorted};

/// The test's `androidUserAgent`.
const ANDROID_USER_AGENT: &str = "ch.ubique.android.dp3t;1.0;iOS;13.3";

async fn post_exposed(
    deployment: &Deployment,
    authorization: Option<&str>,
    body: &Value,
) -> StatusCode {
    let mut request = deployment
        .http
        .post(format!("{}/v2/gaen/exposed", deployment.base_url()))
        .header("User-Agent", ANDROID_USER_AGENT)
        .json(body);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    request.send().await.unwrap().status()
}

async fn get_exposed(deployment: &Deployment, tag: Option<&str>) -> reqwest::Response {
    let url = match tag {
        Some(tag) => format!(
            "{}/v2/gaen/exposed?lastKeyBundleTag={tag}",
            deployment.base_url()
        ),
        None => format!("{}/v2/gaen/exposed", deployment.base_url()),
    };
    deployment
        .http
        .get(url)
        .header("User-Agent", ANDROID_USER_AGENT)
        .send()
        .await
        .unwrap()
}

fn tag_of(response: &reqwest::Response) -> String {
    response.headers()["x-key-bundle-tag"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// `testUploadTodaysKeyWillBeReleasedTomorrowWithV2Upload`: 30 real keys, today's and
/// the 29 days before, in a `GaenV2UploadKeysRequest` (no `withFederationGateway`, no
/// `delayedKeyDate`).
fn thirty_days_of_keys() -> Value {
    let keys: Vec<Value> = (0..30u8)
        .map(|days_ago| {
            json!({"keyData": STANDARD.encode(key_bytes(days_ago)),
                   "rollingStartNumber": day(-i64::from(days_ago)), "rollingPeriod": 144,
                   "transmissionRiskLevel": 0, "fake": 0})
        })
        .collect();
    json!({"gaenKeys": keys})
}

pub async fn v2_controller_expectations(deployment: &Deployment) {
    // testNoTokenFails, testMalciousTokenFails.
    let body = thirty_days_of_keys();
    assert_eq!(
        post_exposed(deployment, None, &body).await,
        StatusCode::UNAUTHORIZED
    );
    let token = deployment.token(12, false).await;
    let forged = format!("{}AAAA", &token[..token.len() - 4]);
    assert_eq!(
        post_exposed(deployment, Some(&format!("Bearer {forged}")), &body).await,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        post_exposed(deployment, Some(&format!("Bearer {token}")), &body).await,
        StatusCode::OK
    );
    let first = get_exposed(deployment, None).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let tag = tag_of(&first);

    // A tag this server never gave: off a bucket boundary (400), in the future (404).
    let tag_ms: i64 = tag.parse().unwrap();
    let off_boundary = (tag_ms + 1000).to_string();
    assert_eq!(
        get_exposed(deployment, Some(&off_boundary)).await.status(),
        StatusCode::BAD_REQUEST
    );
    let future = (tag_ms + 2 * i64::try_from(BUCKET_SECONDS).unwrap() * 1000).to_string();
    assert_eq!(
        get_exposed(deployment, Some(&future)).await.status(),
        StatusCode::NOT_FOUND
    );

    // The expired keys of the window come out in the next bucket.
    let known: Vec<[u8; 16]> = (0..30).map(key_bytes).collect();
    deployment.set_time(DAY_START + 14 * HOUR);
    let expired = get_exposed(deployment, Some(&tag)).await;
    assert_eq!(expired.status(), StatusCode::OK);
    let tag = tag_of(&expired);
    let zip = expired.bytes().await.unwrap();
    assert_eq!(
        deployment.published(&zip, &known),
        sorted((1..=14).map(key_bytes).collect())
    );

    // Today's key once it has expired (04:00 tomorrow), then nothing more (08:00).
    deployment.set_time(DAY_START + DAY + 4 * HOUR);
    let todays = get_exposed(deployment, Some(&tag)).await;
    assert_eq!(todays.status(), StatusCode::OK);
    let tag = tag_of(&todays);
    let zip = todays.bytes().await.unwrap();
    assert_eq!(deployment.published(&zip, &known), vec![key_bytes(0)]);
    deployment.set_time(DAY_START + DAY + 8 * HOUR);
    let nothing = get_exposed(deployment, Some(&tag)).await;
    assert_eq!(nothing.status(), StatusCode::NO_CONTENT);
    let tag = tag_of(&nothing);

    // testUploadWithShortenedRollingPeriodWithV2Upload, and the keys the reference drops
    // one by one: a shortened key is published, a zero period and a key from the day
    // after tomorrow are dropped, a key without `fake` is real.
    let token = deployment.token(2, false).await;
    let mut keys = vec![
        json!({"keyData": STANDARD.encode([40; 16]), "rollingStartNumber": day(0), "rollingPeriod": 85}),
        json!({"keyData": STANDARD.encode([41; 16]), "rollingStartNumber": day(-1), "rollingPeriod": 0, "fake": 0}),
        json!({"keyData": STANDARD.encode([42; 16]), "rollingStartNumber": day(3), "rollingPeriod": 144, "fake": 0}),
    ];
    keys.extend((0..27).map(|index: u8| {
        json!({"keyData": STANDARD.encode([100 + index; 16]), "rollingStartNumber": 0, "rollingPeriod": 0, "fake": 1})
    }));
    assert_eq!(
        post_exposed(
            deployment,
            Some(&format!("Bearer {token}")),
            &json!({"gaenKeys": keys, "withFederationGateway": false})
        )
        .await,
        StatusCode::OK
    );
    deployment.set_time(DAY_START + DAY + 12 * HOUR);
    let shortened = get_exposed(deployment, Some(&tag)).await;
    assert_eq!(shortened.status(), StatusCode::OK);
    let zip = shortened.bytes().await.unwrap();
    assert_eq!(
        deployment.published(&zip, &[[40; 16], [41; 16], [42; 16]]),
        vec![[40; 16]]
    );
}
