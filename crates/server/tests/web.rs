//! The web layer over real HTTP: every page and static file carries the protective
//! headers, the language switch is remembered across both UIs, and a form whose
//! anti-forgery token is not the expected one never reaches its handler.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use server::{Config, MockClock, ServerHandle};

const FORM: &str = "application/x-www-form-urlencoded";

struct Site {
    server: ServerHandle,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Site {
    async fn start() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let server = server::spawn(config, Arc::new(MockClock::new(1_800_000_000)))
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Site {
            server,
            http,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    async fn post_form(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> StatusCode {
        self.http
            .post(self.url(path))
            .header("cookie", cookie)
            .header("content-type", FORM)
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap()
            .status()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or("")
}

fn assert_protected(headers: &HeaderMap, what: &str) {
    let policy = header(headers, "content-security-policy");
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
    assert!(policy.contains("script-src 'self'"), "{what}: {policy}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{what}");
}

/// `name=value` of the first `Set-Cookie` that sets `name`.
fn cookie_set(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn pages_and_static_files_of_both_uis_carry_the_protective_headers() {
    let site = Site::start().await;
    for path in ["/venues", "/authority/sign-in"] {
        let page = site.get(path, None).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_protected(page.headers(), path);
        assert_eq!(
            header(page.headers(), "cache-control"),
            "no-store",
            "{path}"
        );
        let html = page.text().await.unwrap();
        assert!(
            html.contains("href=\"/static/site.css\""),
            "{path}: one stylesheet base"
        );
    }
    let stylesheet = site.get("/static/site.css", None).await;
    assert_eq!(stylesheet.status(), StatusCode::OK);
    assert_protected(stylesheet.headers(), "site.css");
    assert_eq!(
        header(stylesheet.headers(), "content-type"),
        "text/css; charset=utf-8"
    );
    assert_eq!(
        header(stylesheet.headers(), "cache-control"),
        "public, max-age=3600"
    );
    let script = site.get("/static/venues.js", None).await;
    assert_eq!(
        header(script.headers(), "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        site.get("/static/../Cargo.toml", None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        site.get("/static/secret.txt", None).await.status(),
        StatusCode::NOT_FOUND
    );
    site.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_language_chosen_once_holds_on_every_page_and_never_redirects_away() {
    let site = Site::start().await;
    let english = site.get("/venues", None).await.text().await.unwrap();
    assert!(english.contains("<html lang=\"en\">"));

    let switch = site.get("/language/fr?next=/authority/sign-in", None).await;
    assert_eq!(switch.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(switch.headers(), LOCATION.as_str()),
        "/authority/sign-in"
    );
    let cookie = cookie_set(switch.headers(), "osc_lang");
    assert_eq!(cookie, "osc_lang=fr");
    for path in ["/venues", "/authority/sign-in"] {
        let html = site.get(path, Some(&cookie)).await.text().await.unwrap();
        assert!(html.contains("<html lang=\"fr\">"), "{path} in French");
    }
    // `?lang=` in the address wins over the remembered choice.
    let html = site
        .get("/venues?lang=en", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">"));

    let elsewhere = site.get("/language/en?next=//evil.example/", None).await;
    assert_eq!(header(elsewhere.headers(), LOCATION.as_str()), "/venues");
    site.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_form_without_the_expected_token_never_reaches_its_handler() {
    let site = Site::start().await;
    let form = site.get("/authority/sign-in", None).await;
    let sign_in_cookie = cookie_set(form.headers(), "osc_sign_in");
    let token = sign_in_cookie.trim_start_matches("osc_sign_in=").to_owned();
    assert_eq!(token.len(), 43);
    let wrong_password = [
        ("csrf", token.as_str()),
        ("email", "nobody@example.org"),
        ("password", "not the password"),
    ];
    // The right token: the form is read, and the sign-in itself is refused.
    assert_eq!(
        site.post_form("/authority/sign-in", &sign_in_cookie, &wrong_password)
            .await,
        StatusCode::UNAUTHORIZED
    );
    // A guessed token, or none, or a token without its cookie: refused before sign-in.
    let guessed = [("csrf", "guessed"), ("email", "a@b.org"), ("password", "x")];
    assert_eq!(
        site.post_form("/authority/sign-in", &sign_in_cookie, &guessed)
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        site.post_form("/authority/sign-in", &sign_in_cookie, &wrong_password[1..])
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        site.post_form("/authority/sign-in", "", &wrong_password)
            .await,
        StatusCode::FORBIDDEN
    );
    // Without a session, a form of the signed-in pages leads to the sign-in page.
    let issue = site
        .http
        .post(site.url("/authority/issue"))
        .header("content-type", FORM)
        .body(format!("csrf={token}&onset="))
        .send()
        .await
        .unwrap();
    assert_eq!(issue.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(issue.headers(), LOCATION.as_str()),
        "/authority/sign-in"
    );
    site.server.shutdown().await.unwrap();
}
