//! The web layer over real HTTP: every page and static file carries the protective
//! headers, the language switch is remembered across both UIs, a form whose
//! anti-forgery token is not the expected one never reaches its handler, and the
//! physicians' sign-in is bounded, slowed down after failures (never locked) and answers
//! alike for every email.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER, SET_COOKIE};
use server::authority_ui::Role;
use server::authority_ui::sessions::SIGN_IN_FORM_SECONDS;
use server::sign_in_limits::{ACCOUNT_BACKOFF, CLIENT_BACKOFF};
use server::{Clock as _, Config, MockClock, ServerHandle};

const FORM: &str = "application/x-www-form-urlencoded";

struct Site {
    server: ServerHandle,
    clock: MockClock,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Site {
    async fn start() -> Site {
        Site::start_with(|_| {}).await
    }

    /// A site whose configuration `change` adjusts first.
    async fn start_with(change: impl FnOnce(&mut Config)) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        change(&mut config);
        let clock = MockClock::new(1_800_000_000);
        let server = server::spawn(config, Arc::new(clock.clone()))
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Site {
            server,
            clock,
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

    /// A fresh sign-in form: its pre-session cookie (`name=value`) and its token.
    async fn sign_in_form(&self) -> (String, String) {
        let page = self.get("/authority/sign-in", None).await;
        let cookie = cookie_set(page.headers(), "osc_sign_in");
        let html = page.text().await.unwrap();
        (cookie, csrf_field(&html))
    }

    /// Signs in through a fresh form: status, headers, and the page with what differs
    /// from one answer to the next by design (the fresh form token, the typed email)
    /// taken out.
    async fn sign_in(&self, email: &str, password: &str) -> (StatusCode, HeaderMap, String) {
        let (cookie, token) = self.sign_in_form().await;
        let response = self
            .http
            .post(self.url("/authority/sign-in"))
            .header("cookie", &cookie)
            .header("content-type", FORM)
            .body(
                serde_urlencoded::to_string([
                    ("csrf", token.as_str()),
                    ("email", email),
                    ("password", password),
                ])
                .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        let page = match html.split_once("name=\"csrf\" value=\"") {
            Some((before, after)) => {
                let rest = after.split_once('"').map_or("", |(_, rest)| rest);
                format!("{before}{rest}")
            }
            None => html,
        };
        (status, headers, page.replace(email, "EMAIL"))
    }

    async fn add_user(&self, email: &str, password: &str) {
        server::authority_ui::add_user(
            &self.server.state.store,
            email,
            Role::Physician,
            password,
            1_800_000_000,
        )
        .await
        .unwrap();
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

/// The value of a page's hidden anti-forgery field.
fn csrf_field(html: &str) -> String {
    let (_, after) = html.split_once("name=\"csrf\" value=\"").unwrap();
    after.split('"').next().unwrap().to_owned()
}

/// The names of the cookies an answer sets, in order.
fn cookie_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split('=')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
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
    let (sign_in_cookie, token) = site.sign_in_form().await;
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

/// Issue 14, item 2: the sign-in form's anti-forgery check was a double submit, which
/// whoever can plant a cookie satisfies by putting the same value in the form. The token
/// is now the server's keyed hash of the pre-session cookie, and expires with it.
#[tokio::test]
async fn a_planted_sign_in_cookie_does_not_let_a_forged_form_through() {
    let site = Site::start().await;
    let form = |token: &str| {
        [
            ("csrf", token.to_owned()),
            ("email", "dr@example.org".to_owned()),
            ("password", "not the password".to_owned()),
        ]
    };
    let post = |cookie: String, token: String| {
        let site = &site;
        async move {
            let fields = form(&token);
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            site.post_form("/authority/sign-in", &cookie, &fields).await
        }
    };
    // The attacker picks the cookie and submits the same value.
    let planted = "x".repeat(43);
    assert_eq!(
        post(format!("osc_sign_in={planted}"), planted.clone()).await,
        StatusCode::FORBIDDEN
    );
    let shaped_like_ours = format!("{}.{}", 1_800_000_000 + 600, "y".repeat(43));
    assert_eq!(
        post(
            format!("osc_sign_in={shaped_like_ours}"),
            shaped_like_ours.clone()
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // A form the server issued, with its own cookie, goes through to the password check.
    let (cookie, token) = site.sign_in_form().await;
    assert_ne!(cookie.trim_start_matches("osc_sign_in="), token);
    assert_eq!(
        post(cookie.clone(), token.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    // Its token with another cookie does not.
    let (other_cookie, _) = site.sign_in_form().await;
    assert_eq!(
        post(other_cookie, token.clone()).await,
        StatusCode::FORBIDDEN
    );
    // And the form expires with its cookie, on the server's clock.
    site.clock.advance(SIGN_IN_FORM_SECONDS);
    assert_eq!(post(cookie, token).await, StatusCode::FORBIDDEN);
    site.server.shutdown().await.unwrap();
}

/// Issue 14, items 2 and 4: an unknown email used to be refused forever while a known
/// one locked after five failures, which told which emails have accounts. Every answer
/// is now the same for both (status, headers, page), each after exactly one argon2
/// check, and both slow down alike.
#[tokio::test]
async fn unknown_and_known_emails_get_the_same_answers_after_the_same_work() {
    // The same attempts on two servers: one where the email has an account, one where it
    // has none (so that the client's own backoff is the same on both).
    let email = "dr.maybe@example.org";
    let with_account = Site::start().await;
    with_account.add_user(email, "the right password 1").await;
    let without = Site::start().await;
    let mut statuses = Vec::new();
    for attempt in 1..=8 {
        if attempt == 8 {
            // Once the waits have run out, both check a password again.
            with_account.clock.advance(3600);
            without.clock.advance(3600);
        }
        let mut answers = Vec::new();
        for site in [&with_account, &without] {
            let gate = &site.server.state.sign_in.gate;
            let before = gate.checks_run();
            let (status, headers, page) = site.sign_in(email, &format!("wrong {attempt}")).await;
            answers.push((
                status,
                page,
                cookie_names(&headers),
                header(&headers, RETRY_AFTER.as_str()).to_owned(),
                gate.checks_run() - before,
            ));
        }
        assert_eq!(answers[0], answers[1], "attempt {attempt}");
        let (status, _, _, _, checks) = &answers[0];
        let expected_checks = u64::from(*status == StatusCode::UNAUTHORIZED);
        assert_eq!(
            *checks, expected_checks,
            "attempt {attempt}: one argon2 check or none"
        );
        statuses.push(*status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::UNAUTHORIZED,
        ]
    );
    with_account.server.shutdown().await.unwrap();
    without.server.shutdown().await.unwrap();
}

/// Issue 14, item 4: five wrong passwords locked a physician out for 15 minutes, again
/// and again for as long as anyone kept trying. Now failures make the next sign-ins wait,
/// a little longer each time up to a cap, and the right password is accepted as soon as
/// the wait has run out.
#[tokio::test]
async fn failed_sign_ins_slow_an_account_down_but_never_lock_the_right_password_out() {
    let site = Site::start().await;
    let email = "dr.lock@example.org";
    let password = "the right password 1";
    site.add_user(email, password).await;
    let mut waited = 0;
    for attempt in 1..=5 {
        let (status, _, _) = site.sign_in(email, &format!("wrong {attempt}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        waited = ACCOUNT_BACKOFF.delay_after(attempt);
        site.clock.advance(waited);
    }
    site.clock.advance(-waited);
    // During the wait even the right password is not checked...
    let (status, headers, _) = site.sign_in(email, password).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&headers, RETRY_AFTER.as_str()), waited.to_string());
    // ...and seconds later it is accepted: five failures lock nothing.
    assert_eq!(waited, 8);
    site.clock.advance(waited);
    let (status, headers, _) = site.sign_in(email, password).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(header(&headers, LOCATION.as_str()), "/authority/issue");

    // An attacker who keeps going, every time the wait runs out, makes it grow to the cap
    // and no further: the right password gets through the cap after the last failure.
    for attempt in 1..=40 {
        let (status, _, _) = site.sign_in(email, &format!("again {attempt}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        site.clock.advance(ACCOUNT_BACKOFF.delay_after(attempt));
    }
    assert_eq!(
        ACCOUNT_BACKOFF.delay_after(40),
        ACCOUNT_BACKOFF.max_delay_seconds
    );
    let (status, _, _) = site.sign_in(email, password).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "never locked out for good");
    site.server.shutdown().await.unwrap();
}

/// Issue 14, item 4: the account's backoff does not slow a guesser who tries one
/// password on many emails; the client's does.
#[tokio::test]
async fn a_client_trying_many_emails_is_slowed_down() {
    let site = Site::start().await;
    for attempt in 0..CLIENT_BACKOFF.free_failures {
        let (status, _, _) = site
            .sign_in(&format!("dr{attempt}@example.org"), "Summer2026!")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let (status, headers, _) = site.sign_in("dr.new@example.org", "Summer2026!").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&headers, RETRY_AFTER.as_str()),
        CLIENT_BACKOFF.first_delay_seconds.to_string()
    );
    site.clock.advance(CLIENT_BACKOFF.first_delay_seconds);
    let (status, _, _) = site.sign_in("dr.new@example.org", "Summer2026!").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    site.server.shutdown().await.unwrap();
}

/// Issue 14, item 2: 128 sign-ins at once took 2.4 GB (19 MiB of argon2 each, on up to
/// 512 blocking threads) and never answered. Checks now run a few at a time, a bounded
/// number wait, and the rest are told at once to come back.
#[tokio::test]
async fn sign_ins_beyond_the_password_check_bound_are_turned_away_at_once() {
    let site = Site::start().await;
    let held = site.server.state.sign_in.gate.take_every_slot();
    let (status, headers, page) = site.sign_in("dr@example.org", "a wrong password").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&headers, RETRY_AFTER.as_str()), "5");
    assert!(page.contains("try again in a few seconds"), "{page}");
    drop(held);
    let (status, _, _) = site.sign_in("dr@example.org", "a wrong password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    site.server.shutdown().await.unwrap();
}

/// The admin's account list shows a running wait, which the e2e test can only see by
/// luck of real time.
#[tokio::test]
async fn the_admin_sees_an_accounts_sign_in_wait_while_it_runs() {
    let site = Site::start().await;
    server::authority_ui::add_user(
        &site.server.state.store,
        "admin@example.org",
        Role::Admin,
        "admin password 2020",
        1_800_000_000,
    )
    .await
    .unwrap();
    site.add_user("dr.wait@example.org", "the right password 1")
        .await;
    let (status, headers, _) = site
        .sign_in("admin@example.org", "admin password 2020")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = cookie_set(&headers, "osc_session");
    let users = |session: String| {
        let site = &site;
        async move {
            site.get("/authority/users", Some(&session))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    assert!(
        !users(session.clone())
            .await
            .contains("Sign-ins paused until")
    );
    for attempt in 0..ACCOUNT_BACKOFF.free_failures {
        site.sign_in("dr.wait@example.org", &format!("wrong {attempt}"))
            .await;
    }
    assert!(
        users(session.clone())
            .await
            .contains("Sign-ins paused until")
    );
    site.clock.advance(ACCOUNT_BACKOFF.first_delay_seconds);
    assert!(!users(session).await.contains("Sign-ins paused until"));
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: reloading the page that showed a new code issued another one. Issuing
/// is now POST → redirect → GET: the GET shows the same code however often it is loaded,
/// only to the physician who issued it.
#[tokio::test]
async fn a_reload_of_a_new_code_shows_the_same_code_and_issues_none() {
    let site = Site::start().await;
    site.add_user("dr.a@example.org", "the right password 1")
        .await;
    site.add_user("dr.b@example.org", "the right password 2")
        .await;
    let (_, headers, _) = site
        .sign_in("dr.a@example.org", "the right password 1")
        .await;
    let session_a = cookie_set(&headers, "osc_session");
    let (_, headers, _) = site
        .sign_in("dr.b@example.org", "the right password 2")
        .await;
    let session_b = cookie_set(&headers, "osc_session");
    let form = site.get("/authority/issue", Some(&session_a)).await;
    let token = csrf_field(&form.text().await.unwrap());
    let issued = site
        .http
        .post(site.url("/authority/issue"))
        .header("cookie", &session_a)
        .header("content-type", FORM)
        .body(
            serde_urlencoded::to_string([
                ("csrf", token.as_str()),
                ("onset", ""),
                ("kind", "patient"),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), StatusCode::SEE_OTHER);
    let shown = header(issued.headers(), LOCATION.as_str()).to_owned();
    assert!(shown.starts_with("/authority/issue/shown?c="), "{shown}");
    let without_token = |html: String| match html.split_once("name=\"csrf\" value=\"") {
        Some((before, after)) => format!(
            "{before}{}",
            after.split_once('"').map_or("", |(_, rest)| rest)
        ),
        None => html,
    };
    let first = site.get(&shown, Some(&session_a)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = without_token(first.text().await.unwrap());
    let again = without_token(
        site.get(&shown, Some(&session_a))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(first, again, "a reload shows the same page, the same code");
    // One code in "My codes", however often the page was loaded.
    let codes = site
        .get("/authority/codes", Some(&session_a))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(codes.matches("<tr").count() - 1, 1, "{codes}");
    // Another physician, or an altered address, gets "My codes" instead of the digits.
    let other = site.get(&shown, Some(&session_b)).await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(other.headers(), LOCATION.as_str()),
        "/authority/codes"
    );
    // One character of the sealed value changed (to another one, whatever it was).
    let middle = shown.len() - 20;
    let replacement = if &shown[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let altered = format!("{}{replacement}{}", &shown[..middle], &shown[middle + 1..]);
    let altered = site.get(&altered, Some(&session_a)).await;
    assert_eq!(altered.status(), StatusCode::SEE_OTHER);
    site.server.shutdown().await.unwrap();
}

/// The page that shows a venue's form, its form cookie (`name=value`) and token.
async fn venue_form(site: &Site, language: &str) -> (String, String) {
    let page = site
        .http
        .get(site.url("/venues"))
        .header("accept-language", language)
        .send()
        .await
        .unwrap();
    let cookie = cookie_set(page.headers(), "osc_venue_form");
    (cookie, csrf_field(&page.text().await.unwrap()))
}

async fn post_venue_form(
    site: &Site,
    path: &str,
    cookie: &str,
    language: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    site.http
        .post(site.url(path))
        .header("cookie", cookie)
        .header("accept-language", language)
        .header("content-type", FORM)
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap()
}

/// Issue 16, items 3 and 4: reloading "venue created" made another venue with new keys.
/// Creating is now POST → redirect → GET: the result's address shows the same venue
/// however often it is loaded, in the browser that created it only, and the downloads
/// it links are that venue, named with their accents.
#[tokio::test]
async fn a_created_venue_has_its_own_address_and_a_reload_changes_nothing() {
    let site = Site::start().await;
    let (cookie, token) = venue_form(&site, "en").await;
    assert!(cookie.starts_with("osc_venue_form="), "{cookie}");
    let form = [
        ("csrf", token.as_str()),
        ("name", "Café des Arts"),
        ("address", "1 rue des Arts, Lyon"),
        ("type", "food-service"),
        ("rooms", "Terrasse\nSalle"),
    ];
    let created = post_venue_form(&site, "/venues", &cookie, "en", &form).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let shown = header(created.headers(), LOCATION.as_str()).to_owned();
    let sealed = shown.strip_prefix("/venues/created?v=").unwrap().to_owned();
    assert!(
        !shown.contains("Caf"),
        "the address does not show the venue: {shown}"
    );
    let first = site.get(&shown, Some(&cookie)).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_protected(first.headers(), "created");
    assert_eq!(header(first.headers(), "cache-control"), "no-store");
    let first = first.text().await.unwrap();
    assert!(first.contains("Café des Arts – Terrasse"));
    let again = site.get(&shown, Some(&cookie)).await.text().await.unwrap();
    assert_eq!(
        first, again,
        "a reload shows the same venue, with the same QR codes"
    );

    let file = site
        .get(&format!("/venues/created/file?v={sealed}"), Some(&cookie))
        .await;
    assert_eq!(
        header(file.headers(), "content-disposition"),
        "attachment; filename=\"cafe-des-arts.venue.json\"; \
         filename*=UTF-8''caf%C3%A9-des-arts.venue.json"
    );
    let file = file.text().await.unwrap();
    let venue: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(venue["rooms"][1]["description"], "Café des Arts – Salle");
    let svg = site
        .get(
            &format!("/venues/created/poster?v={sealed}&room=0&format=svg"),
            Some(&cookie),
        )
        .await;
    assert_eq!(header(svg.headers(), "content-type"), "image/svg+xml");
    assert!(
        header(svg.headers(), "content-disposition")
            .ends_with("filename*=UTF-8''caf%C3%A9-des-arts-terrasse.svg")
    );
    let pdf = site
        .get(
            &format!("/venues/created/poster?v={sealed}&room=1&format=pdf"),
            Some(&cookie),
        )
        .await;
    assert_eq!(header(pdf.headers(), "content-type"), "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let file_again = site
        .get(&format!("/venues/created/file?v={sealed}"), Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(file, file_again, "the same venue file every time");

    // Another browser, or no cookie, opens nothing; nor does a changed address.
    let (other_cookie, _) = venue_form(&site, "en").await;
    for (path, cookie) in [
        (shown.clone(), Some(other_cookie.as_str())),
        (shown.clone(), None),
        (format!("{shown}x"), Some(cookie.as_str())),
    ] {
        let page = site.get(&path, cookie).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!page.text().await.unwrap().contains("Terrasse"));
    }

    // Sending the form again makes another venue: a new submission, not a reload.
    let created_again = post_venue_form(&site, "/venues", &cookie, "en", &form).await;
    assert_ne!(header(created_again.headers(), LOCATION.as_str()), shown);
    site.server.shutdown().await.unwrap();
}

/// Issue 16: a French venue error mixed English and unix timestamps. Errors are now in
/// the page's language, the form keeps what was typed, and a form without its token is
/// refused the same way.
#[tokio::test]
async fn a_refused_venue_form_says_why_in_french_and_keeps_what_was_typed() {
    let site = Site::start().await;
    let (cookie, token) = venue_form(&site, "fr-FR").await;
    let form = [
        ("csrf", token.as_str()),
        ("name", "Concert du Parc"),
        ("address", "Parc de la Tête d'Or"),
        ("type", "cultural-event"),
        ("start", "2026-07-14T23:00"),
        ("end", "2026-07-14T20:00"),
        ("start_offset", "120"),
        ("end_offset", "120"),
    ];
    let refused = post_venue_form(&site, "/venues", &cookie, "fr-FR", &form).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    let error = html
        .split_once("id=\"create-error\">")
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(error, _)| error.to_owned())
        .unwrap();
    assert_eq!(error, "L'événement doit finir après son début.");
    assert!(html.contains("value=\"Concert du Parc\""));
    assert!(html.contains("value=\"2026-07-14T23:00\""));

    let forged = post_venue_form(&site, "/venues", &cookie, "fr-FR", &form[1..]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let html = forged.text().await.unwrap();
    assert!(html.contains("Ce formulaire a expiré"));
    assert!(html.contains("value=\"Concert du Parc\""));
    site.server.shutdown().await.unwrap();
}

/// Issue 16: the venue file could not print posters again. The browser posts it; the
/// answer is the chosen room's poster, and a damaged file gets a clear message.
#[tokio::test]
async fn a_venue_file_prints_its_posters_again() {
    let site = Site::start().await;
    let (cookie, token) = venue_form(&site, "fr-FR").await;
    let form = [
        ("csrf", token.as_str()),
        ("name", "Café des Arts"),
        ("address", "1 rue des Arts, Lyon"),
        ("type", "food-service"),
        ("rooms", "Terrasse\nSalle"),
    ];
    let created = post_venue_form(&site, "/venues", &cookie, "fr-FR", &form).await;
    let sealed = header(created.headers(), LOCATION.as_str())
        .strip_prefix("/venues/created?v=")
        .unwrap()
        .to_owned();
    let file = site
        .get(&format!("/venues/created/file?v={sealed}"), Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let reprint = |venue_file: String, room: &'static str| {
        let (site, cookie, token) = (&site, cookie.clone(), token.clone());
        async move {
            let form = [
                ("csrf", token.as_str()),
                ("venue_file", venue_file.as_str()),
                ("room", room),
                ("format", "svg"),
            ];
            post_venue_form(site, "/venues/poster", &cookie, "fr-FR", &form).await
        }
    };
    let poster = reprint(file.clone(), "1").await;
    assert_eq!(poster.status(), StatusCode::OK);
    assert!(
        header(poster.headers(), "content-disposition")
            .ends_with("filename*=UTF-8''caf%C3%A9-des-arts-salle.svg")
    );
    let svg = poster.text().await.unwrap();
    assert!(svg.contains(">Salle</text>"));
    let created_poster = site
        .get(
            &format!("/venues/created/poster?v={sealed}&room=1&format=svg"),
            Some(&cookie),
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        svg, created_poster,
        "the same poster as when the venue was created"
    );

    let altered = file.replacen("\"locationId\": \"", "\"locationId\": \"00", 1);
    for (venue_file, room) in [(altered, "1"), (file, "7")] {
        let refused = reprint(venue_file, room).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("Ce fichier de lieu est illisible")
        );
    }
    site.server.shutdown().await.unwrap();
}

// ----- the physicians' pages (issue 16, items 2 and 4) -----

impl Site {
    /// Creates an account with `role` and signs it in: its session cookie.
    async fn signed_in(&self, email: &str, role: Role) -> String {
        let password = "the right password 1";
        server::authority_ui::add_user(
            &self.server.state.store,
            email,
            role,
            password,
            1_800_000_000,
        )
        .await
        .unwrap();
        let (_, headers, _) = self.sign_in(email, password).await;
        cookie_set(&headers, "osc_session")
    }

    /// The page at `path`, as `cookie` sees it.
    async fn page(&self, path: &str, cookie: &str) -> String {
        let page = self.get(path, Some(cookie)).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        page.text().await.unwrap()
    }

    /// Posts `form` to `path` with the session's anti-forgery token (read from "My
    /// account", where every signed-in user has forms, or from the second factor's set-up
    /// that an account without one is sent to when `require_totp` is set).
    async fn submit(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let account = self.get("/authority/account", Some(cookie)).await;
        let page = match account.status() {
            StatusCode::SEE_OTHER => {
                self.page(header(account.headers(), LOCATION.as_str()), cookie)
                    .await
            }
            _ => account.text().await.unwrap(),
        };
        let token = csrf_field(&page);
        let mut fields = vec![("csrf", token.as_str())];
        fields.extend_from_slice(form);
        self.http
            .post(self.url(path))
            .header("cookie", cookie)
            .header("content-type", FORM)
            .body(serde_urlencoded::to_string(&fields).unwrap())
            .send()
            .await
            .unwrap()
    }
}

/// The text between `before` and the next `after` in `html`.
fn between<'a>(html: &'a str, before: &str, after: &str) -> &'a str {
    let (_, rest) = html
        .split_once(before)
        .unwrap_or_else(|| panic!("{before:?} not in {html}"));
    rest.split_once(after).unwrap().0
}

/// 2027-01-15T08:00:00Z, the test clock's time.
const TEST_NOW: i64 = 1_800_000_000;

/// Issue 16, item 2: every time was UTC, and "Issued 06:00" looked like a minute the
/// server never kept. Times are now in the server's `time_zone` (the script puts them in
/// the browser's), with the zone named, dates in the page's language, issue hours as
/// hours; each code has a short reference on its page and in "My codes".
#[tokio::test]
async fn times_are_local_dates_in_words_and_codes_have_a_reference() {
    let site = Site::start_with(|config| config.time_zone = "Europe/Paris".into()).await;
    let cookie = site.signed_in("dr.a@example.org", Role::Physician).await;
    let issued = site
        .submit(
            "/authority/issue",
            &cookie,
            &[("test_type", "confirmed-test")],
        )
        .await;
    assert_eq!(issued.status(), StatusCode::SEE_OTHER);
    let shown = header(issued.headers(), LOCATION.as_str()).to_owned();
    let page = site.page(&shown, &cookie).await;
    // The default lifetime, 24 hours: 2027-01-16 08:00 UTC, 09:00 in Paris.
    assert!(
        page.contains(
            "<time datetime=\"2027-01-16T08:00:00Z\" data-local=\"date-time\">16 Jan 2027, 09:00</time>"
        ),
        "{page}"
    );
    assert!(page.contains(">24 h 00 min</time>"), "the countdown");
    assert!(
        page.contains("data-time-zone>Europe/Paris<"),
        "the zone is named"
    );
    let reference = between(&page, "Reference <strong class=\"mono\">", "<").to_owned();
    assert_eq!(reference.len(), 9, "{reference}");

    let codes = site.page("/authority/codes", &cookie).await;
    assert!(codes.contains(&format!(">{reference}")), "{codes}");
    assert!(
        codes.contains(">15 Jan 2027, 09:00–10:00</time>"),
        "issued within that hour, not at a minute: {codes}"
    );
    let french = site.page("/authority/codes?lang=fr", &cookie).await;
    assert!(french.contains(">16 janv. 2027, 09:00</time>"), "{french}");
    assert!(french.contains("Référence"));
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: the onset date had no bounds in the form and its error spoke of
/// `AAAA-MM-JJ`. Symptom onset and test dates are now days of the last 14, counted in the
/// server's zone (where, past 10:00 in Kiritimati, it is already tomorrow in UTC terms);
/// a refused date keeps the form as typed and says the bounds in words.
#[tokio::test]
async fn onset_and_test_dates_are_days_of_the_last_14_in_the_servers_zone() {
    let site = Site::start_with(|config| config.time_zone = "Pacific/Kiritimati".into()).await;
    // 2027-01-15 20:00 UTC: 2027-01-16 10:00 in Kiritimati (UTC+14).
    site.clock.set(TEST_NOW + 12 * 3600);
    let cookie = site.signed_in("dr.a@example.org", Role::Physician).await;
    let form = site.page("/authority/issue", &cookie).await;
    assert!(
        form.contains("min=\"2027-01-02\" max=\"2027-01-16\""),
        "{form}"
    );
    for (field, date) in [
        ("symptom_date", "2027-01-16"),
        ("test_date", "2027-01-16"),
        ("symptom_date", "2027-01-02"),
    ] {
        let issued = site
            .submit("/authority/issue", &cookie, &[(field, date)])
            .await;
        assert_eq!(issued.status(), StatusCode::SEE_OTHER, "{field} {date}");
    }
    for (field, date, id) in [
        ("symptom_date", "2027-01-17", "symptom-date"),
        ("test_date", "2027-01-01", "test-date"),
        ("test_date", "16/01/2027", "test-date"),
    ] {
        let refused = site
            .submit(
                "/authority/issue",
                &cookie,
                &[("test_type", "clinical-diagnosis"), (field, date)],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{field} {date}");
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("must be a day from 2 Jan 2027 to 16 Jan 2027"),
            "{page}"
        );
        assert!(page.contains(&format!("value=\"{date}\"")), "kept as typed");
        assert!(
            page.contains(&format!("id=\"{id}\"")) && page.contains("aria-invalid=\"true\""),
            "{page}"
        );
        assert!(
            page.contains("value=\"clinical-diagnosis\" checked"),
            "the test type is kept"
        );
    }
    // The API counts the same days.
    let key = server::codes::create_api_key(&site.server.state.store, "lab", TEST_NOW)
        .await
        .unwrap();
    for (body, status) in [
        (r#"{"testDate":"2027-01-16"}"#, StatusCode::CREATED),
        (
            r#"{"testDate":"2027-01-03","onsetDate":"2027-01-10","testType":"clinical-diagnosis"}"#,
            StatusCode::CREATED,
        ),
        (r#"{"testDate":"2027-01-17"}"#, StatusCode::BAD_REQUEST),
        (
            r#"{"kind":"venue-warning","testType":"clinical-diagnosis"}"#,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let answer = site
            .http
            .post(site.url("/v1/authority/codes"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{body}");
    }
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: the form had no test type. A clinical diagnosis now reaches the
/// upload token as GAEN's report type 2, and a test date stands in for an unknown onset.
#[tokio::test]
async fn the_test_type_and_date_reach_the_upload_token() {
    let site = Site::start().await;
    let cookie = site.signed_in("dr.a@example.org", Role::Physician).await;
    let issued = site
        .submit(
            "/authority/issue",
            &cookie,
            &[
                ("test_type", "clinical-diagnosis"),
                ("symptom_date", ""),
                ("test_date", "2027-01-12"),
            ],
        )
        .await;
    let shown = header(issued.headers(), LOCATION.as_str()).to_owned();
    let page = site.page(&shown, &cookie).await;
    let code = between(&page, "data-code=\"", "\"").to_owned();
    let verified: serde_json::Value = site
        .http
        .post(site.url("/v1/codes/verify"))
        .json(&serde_json::json!({ "code": code, "fake": false }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = verified["accessToken"].as_str().unwrap();
    let claims = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["reportType"], 2, "{claims}");
    assert_eq!(claims["onset"], "2027-01-12", "{claims}");
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: Revoke, Disable and Expire acted at once. Each now asks on a page of
/// its own (no script needed; a reload of it changes nothing), and only its form acts.
#[tokio::test]
async fn expire_revoke_and_disable_ask_first() {
    let site = Site::start().await;
    let admin = site.signed_in("admin@example.org", Role::Admin).await;
    let physician = site.signed_in("dr.a@example.org", Role::Physician).await;

    site.submit("/authority/issue", &physician, &[]).await;
    let codes = site.page("/authority/codes", &physician).await;
    let id = between(&codes, "data-code-id=\"", "\"").to_owned();
    let ask = format!("/authority/codes/{id}/expire");
    assert!(codes.contains(&format!("href=\"{ask}\"")), "{codes}");
    for _ in 0..2 {
        let question = site.page(&ask, &physician).await;
        assert!(question.contains("Expire the code"), "{question}");
        assert!(question.contains(&format!("action=\"{ask}\"")));
    }
    let codes = site.page("/authority/codes", &physician).await;
    assert!(codes.contains("status-unused"), "asking changed nothing");
    let expired = site.submit(&ask, &physician, &[]).await;
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    let codes = site.page("/authority/codes", &physician).await;
    assert!(codes.contains("status-expired"), "{codes}");
    // Another physician's code, or one already expired, is not asked about.
    let other = site.get(&ask, Some(&admin)).await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);

    server::codes::create_api_key(&site.server.state.store, "lab A", TEST_NOW)
        .await
        .unwrap();
    let keys = site.page("/authority/api-keys", &admin).await;
    let revoke = format!(
        "/authority/api-keys/{}/revoke",
        between(&keys, "/authority/api-keys/", "/revoke")
    );
    let question = site.page(&revoke, &admin).await;
    assert!(question.contains("Revoke the API key lab A?"), "{question}");
    assert!(
        site.page("/authority/api-keys", &admin)
            .await
            .contains(">Active<")
    );
    site.submit(&revoke, &admin, &[]).await;
    assert!(
        site.page("/authority/api-keys", &admin)
            .await
            .contains(">Revoked<")
    );

    let users = site.page("/authority/users", &admin).await;
    let disable = format!(
        "/authority/users/{}/disable",
        between(&users, "/authority/users/", "/disable")
    );
    let question = site.page(&disable, &admin).await;
    assert!(
        question.contains("Disable the account dr.a@example.org?"),
        "{question}"
    );
    assert!(question.contains("name=\"change\" value=\"disable\""));
    assert_eq!(
        site.get("/authority/codes", Some(&physician))
            .await
            .status(),
        StatusCode::OK
    );
    let action = between(&question, "<form method=\"post\" action=\"", "\"").to_owned();
    site.submit(&action, &admin, &[("change", "disable")]).await;
    assert_eq!(
        site.get("/authority/codes", Some(&physician))
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "disabled: signed out"
    );
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 4: reloading a printed sheet posted its form again and issued another
/// sheet. It is now POST → redirect → GET like a single code.
#[tokio::test]
async fn a_reload_of_a_sheet_shows_the_same_codes_and_issues_none() {
    let site = Site::start().await;
    let cookie = site.signed_in("dr.a@example.org", Role::Physician).await;
    let issued = site
        .submit("/authority/issue/sheet", &cookie, &[("count", "3")])
        .await;
    assert_eq!(issued.status(), StatusCode::SEE_OTHER);
    let sheet = header(issued.headers(), LOCATION.as_str()).to_owned();
    assert!(sheet.starts_with("/authority/issue/sheet?c="), "{sheet}");
    let first = site.page(&sheet, &cookie).await;
    assert_eq!(first.matches("class=\"sheet-code\"").count(), 3);
    assert_eq!(first.matches("Reference <strong").count(), 3);
    let again = site.page(&sheet, &cookie).await;
    assert_eq!(
        between(&first, "class=\"sheet\"", "</main>"),
        between(&again, "class=\"sheet\"", "</main>")
    );
    let codes = site.page("/authority/codes", &cookie).await;
    assert_eq!(codes.matches("data-code-id=").count(), 3);
    // The most a sheet holds fits in its address.
    let issued = site
        .submit("/authority/issue/sheet", &cookie, &[("count", "50")])
        .await;
    let sheet = header(issued.headers(), LOCATION.as_str()).to_owned();
    assert!(sheet.len() < 6000, "{}", sheet.len());
    assert_eq!(
        site.page(&sheet, &cookie)
            .await
            .matches("class=\"sheet-code\"")
            .count(),
        50
    );
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: there was no way to change a password. The current one is checked as
/// a sign-in checks it (failures make it wait alike); the account's other sessions end,
/// the one that changed it goes on.
#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_the_other_sessions() {
    let site = Site::start().await;
    let email = "dr.a@example.org";
    let here = site.signed_in(email, Role::Physician).await;
    let (_, headers, _) = site.sign_in(email, "the right password 1").await;
    let elsewhere = cookie_set(&headers, "osc_session");
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let site = &site;
        let here = here.clone();
        async move {
            site.submit(
                "/authority/account/password",
                &here,
                &[
                    ("current_password", current),
                    ("new_password", new),
                    ("new_password_again", again),
                ],
            )
            .await
        }
    };
    let wrong = change(
        "a wrong password",
        "a brand new password",
        "a brand new password",
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The current password is wrong.")
    );
    let mismatch = change(
        "the right password 1",
        "a brand new password",
        "another one here",
    )
    .await;
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    let weak = change("the right password 1", "aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaa").await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    // Nothing changed so far: both sessions live, the old password signs in.
    assert_eq!(
        site.get("/authority/codes", Some(&elsewhere))
            .await
            .status(),
        StatusCode::OK
    );

    let changed = change(
        "the right password 1",
        "a brand new password",
        "a brand new password",
    )
    .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(changed.headers(), LOCATION.as_str()),
        "/authority/account?done=password"
    );
    assert!(
        site.page("/authority/account?done=password", &here)
            .await
            .contains("Your password is changed.")
    );
    assert_eq!(
        site.get("/authority/codes", Some(&elsewhere))
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "the other browser is signed out"
    );
    assert_eq!(
        site.sign_in(email, "the right password 1").await.0,
        StatusCode::UNAUTHORIZED
    );
    // The failure above counts toward the backoff of this address: start again clean.
    site.clock.advance(ACCOUNT_BACKOFF.delay_after(10));
    assert_eq!(
        site.sign_in(email, "a brand new password").await.0,
        StatusCode::SEE_OTHER
    );
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: an admin could not help someone who forgot their password. They make
/// a one-time link (stored hashed, expiring, audited); it sets a new password once, ends
/// the account's sessions, and then opens nothing.
#[tokio::test]
async fn a_reset_link_works_once_and_expires() {
    let site = Site::start().await;
    let admin = site.signed_in("admin@example.org", Role::Admin).await;
    let physician = site.signed_in("dr.a@example.org", Role::Physician).await;
    let users = site.page("/authority/users", &admin).await;
    let id = between(&users, "/authority/users/", "/disable").to_owned();
    let made = site
        .submit(&format!("/authority/users/{id}/reset-link"), &admin, &[])
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let shown = header(made.headers(), LOCATION.as_str()).to_owned();
    let page = site.page(&shown, &admin).await;
    let link = between(&page, "id=\"reset-link\">", "<").to_owned();
    assert!(link.starts_with("/authority/reset?t="), "{link}");
    assert_eq!(
        page,
        site.page(&shown, &admin).await,
        "a reload shows the same link"
    );
    let token = link.trim_start_matches("/authority/reset?t=").to_owned();
    // Only its hash is stored.
    let store = &site.server.state.store;
    assert!(
        store
            .password_reset_email(token.as_bytes(), TEST_NOW)
            .await
            .unwrap()
            .is_none()
    );

    // The link's page, before sign-in: its form is bound to a fresh pre-session cookie.
    let opened = site.get(&link, None).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let cookie = cookie_set(opened.headers(), "osc_sign_in");
    let form = opened.text().await.unwrap();
    assert!(form.contains("For the account dr.a@example.org."), "{form}");
    let csrf = csrf_field(&form);
    let post = |password: &'static str| {
        let body = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("t", token.as_str()),
            ("new_password", password),
            ("new_password_again", password),
        ])
        .unwrap();
        site.http
            .post(site.url("/authority/reset"))
            .header("cookie", &cookie)
            .header("content-type", FORM)
            .body(body)
            .send()
    };
    let weak = post("short").await.unwrap();
    assert_eq!(
        weak.status(),
        StatusCode::BAD_REQUEST,
        "a weak password uses nothing up"
    );
    let done = post("a forgotten one found").await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(done.headers(), LOCATION.as_str()),
        "/authority/sign-in?reset=1"
    );
    assert_eq!(
        post("yet another password").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(site.get(&link, None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        site.get("/authority/codes", Some(&physician))
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "the account's sessions ended"
    );
    assert_eq!(
        site.sign_in("dr.a@example.org", "a forgotten one found")
            .await
            .0,
        StatusCode::SEE_OTHER
    );

    let audit = site.page("/authority/audit", &admin).await;
    assert!(audit.contains("made a password-reset link"), "{audit}");
    assert!(audit.contains("set a new password with a reset link"));
    assert!(!audit.contains(&token), "never the link");
    // A second link expires after a day.
    let made = site
        .submit(&format!("/authority/users/{id}/reset-link"), &admin, &[])
        .await;
    let page = site
        .page(header(made.headers(), LOCATION.as_str()), &admin)
        .await;
    let link = between(&page, "id=\"reset-link\">", "<").to_owned();
    assert_eq!(site.get(&link, None).await.status(), StatusCode::OK);
    site.clock.advance(24 * 3600);
    assert_eq!(site.get(&link, None).await.status(), StatusCode::NOT_FOUND);
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: the audit log showed code ids and 500 entries at once, with no
/// filter. Codes now appear by their reference; entries come 50 a page, filtered by who,
/// what and which days (days of the server's zone).
#[tokio::test]
async fn the_audit_log_reads_in_words_filters_and_pages() {
    let site = Site::start_with(|config| config.time_zone = "Europe/Paris".into()).await;
    let store = &site.server.state.store;
    let code_id = "3f9ac21b-0d4e-4a8f-9c1e-7b2d5e6f8a90";
    // 2027-01-10 12:00 Paris and on, one entry an hour.
    let start = TEST_NOW - 5 * 86_400 + 3 * 3600;
    for index in 0..120 {
        let (actor, action) = if index % 3 == 0 {
            ("dr.b@example.org", "code-expired")
        } else {
            ("dr.a@example.org", "code-issued")
        };
        store
            .record_audit(start + index * 3600, actor, action, code_id)
            .await
            .unwrap();
    }
    let admin = site.signed_in("admin@example.org", Role::Admin).await;
    let rows = |page: &str| page.matches("<td data-label=\"Time\">").count();

    let first = site.page("/authority/audit", &admin).await;
    assert_eq!(rows(&first), 50, "one page");
    assert!(first.contains("code 3F9A-C21B"), "the code's reference");
    assert!(!first.contains(code_id), "never its id");
    assert!(first.contains("rel=\"next\""), "older entries follow");
    assert!(!first.contains("rel=\"prev\""));
    let third = site.page("/authority/audit?page=3", &admin).await;
    assert_eq!(rows(&third), 21, "121 entries: 50, 50, 21");
    assert!(!third.contains("rel=\"next\"") && third.contains("rel=\"prev\""));

    let theirs = site
        .page("/authority/audit?actor=dr.b%40example.org", &admin)
        .await;
    assert_eq!(rows(&theirs), 40);
    assert!(!theirs.contains(">dr.a@example.org</td>"));
    assert!(
        theirs.contains("<option value=\"dr.b@example.org\" selected>"),
        "the choice is kept"
    );
    let expired = site
        .page("/authority/audit?action=code-expired&page=1", &admin)
        .await;
    assert_eq!(rows(&expired), 40);
    // 2027-01-11 in Paris: from 00:00 to 24:00 there, 24 entries.
    let day = site
        .page("/authority/audit?from=2027-01-11&to=2027-01-11", &admin)
        .await;
    assert_eq!(rows(&day), 24, "{day}");
    assert!(day.contains("11 Jan 2027, 00:00") && day.contains("11 Jan 2027, 23:00"));
    let unreadable = site
        .page("/authority/audit?from=11%2F01%2F2027", &admin)
        .await;
    assert!(unreadable.contains("A date was not understood"));
    site.server.shutdown().await.unwrap();
}

/// Issue 16, item 2: the statistics lacked what Google's show an authority. They now have
/// codes per issuer (an administrator sees everyone's, a physician their own), how long
/// used codes waited, and uploads by purpose, per day of the server's zone.
#[tokio::test]
async fn statistics_show_issuers_waits_and_uploads_by_purpose() {
    let site = Site::start().await;
    let admin = site.signed_in("admin@example.org", Role::Admin).await;
    let a = site.signed_in("dr.a@example.org", Role::Physician).await;
    let b = site.signed_in("dr.b@example.org", Role::Physician).await;
    for _ in 0..3 {
        site.submit("/authority/issue", &a, &[]).await;
    }
    let issued = site.submit("/authority/issue", &b, &[]).await;
    let shown = site
        .page(header(issued.headers(), LOCATION.as_str()), &b)
        .await;
    let code = between(&shown, "data-code=\"", "\"").to_owned();
    // Used three hours later.
    site.clock.advance(3 * 3600);
    let verified = site
        .http
        .post(site.url("/v1/codes/verify"))
        .json(&serde_json::json!({ "code": code, "fake": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);

    let everyone = site.page("/authority/statistics", &admin).await;
    let issuers = between(&everyone, "id=\"statistics-issuers\"", "</table>");
    assert!(
        issuers.contains(
            ">dr.a@example.org</th><td class=\"number\">3</td><td class=\"number\">0</td>"
        ),
        "{issuers}"
    );
    assert!(issuers.contains(">dr.b@example.org</th><td class=\"number\">1</td><td class=\"number\">1</td><td class=\"number\">100 %</td>"), "{issuers}");
    let waits = between(&everyone, "id=\"statistics-waits\"", "</table>");
    assert!(
        waits.contains("2 to 6 hours</th><td class=\"number\">1</td>"),
        "{waits}"
    );
    assert_eq!(everyone.matches("class=\"bar-chart\"").count(), 5);

    let own = site.page("/authority/statistics", &a).await;
    let issuers = between(&own, "id=\"statistics-issuers\"", "</table>");
    assert!(issuers.contains("dr.a@example.org") && !issuers.contains("dr.b@example.org"));

    let csv = site
        .get("/authority/statistics.csv", Some(&a))
        .await
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "day,codes_issued,codes_used,uploads,keys_published,venue_warnings,next_day_uploads,check_in_uploads"
        )
    );
    assert_eq!(lines.last(), Some("2027-01-15,4,1,0,0,0,0,0"));
    site.server.shutdown().await.unwrap();
}

/// RFC 4648 base32 (no padding), as the enrolment page writes the secret for typing.
fn base32_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut count = 0;
    let mut bytes = Vec::new();
    for character in text.chars().filter(|c| !c.is_whitespace()) {
        let value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".find(character).unwrap();
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    bytes
}

/// What an authenticator app shows at `now` for `secret`.
fn app_code(secret: &[u8], now: i64) -> String {
    use server::authority_ui::totp::{code_text, step_of};
    code_text(secret, step_of(now))
}

impl Site {
    /// Sets up a second factor for the session `cookie`: the secret the app holds.
    async fn enrol_second_factor(&self, cookie: &str) -> Vec<u8> {
        let page = self.page("/authority/account/second-factor", cookie).await;
        assert!(
            page.contains("otpauth://totp/") || page.contains("<svg"),
            "{page}"
        );
        let secret = base32_decode(between(&page, "id=\"second-factor-secret\">", "<"));
        assert_eq!(secret.len(), 20);
        let sealed = between(&page, "name=\"secret\" value=\"", "\"").to_owned();
        let now = self.clock.now_unix_seconds();
        let wrong = self
            .submit(
                "/authority/account/second-factor",
                cookie,
                &[("secret", &sealed), ("code", "000000")],
            )
            .await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        let code = app_code(&secret, now);
        let on = self
            .submit(
                "/authority/account/second-factor",
                cookie,
                &[("secret", &sealed), ("code", &code)],
            )
            .await;
        assert_eq!(on.status(), StatusCode::SEE_OTHER);
        secret
    }

    /// Signs in with a password and then `code`: the status and headers of the code's
    /// answer.
    async fn sign_in_with_code(
        &self,
        email: &str,
        password: &str,
        code: &str,
    ) -> (StatusCode, HeaderMap) {
        let (status, headers, _) = self.sign_in(email, password).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            header(&headers, LOCATION.as_str()),
            "/authority/sign-in/code"
        );
        assert!(
            cookie_set(&headers, "osc_session").is_empty(),
            "no session yet"
        );
        let pending = cookie_set(&headers, "osc_second_step");
        let form = self.get("/authority/sign-in/code", Some(&pending)).await;
        assert_eq!(form.status(), StatusCode::OK);
        let cookie = format!("{pending}; {}", cookie_set(form.headers(), "osc_sign_in"));
        let csrf = csrf_field(&form.text().await.unwrap());
        let answer = self
            .http
            .post(self.url("/authority/sign-in/code"))
            .header("cookie", cookie)
            .header("content-type", FORM)
            .body(serde_urlencoded::to_string([("csrf", csrf.as_str()), ("code", code)]).unwrap())
            .send()
            .await
            .unwrap();
        (answer.status(), answer.headers().clone())
    }
}

/// Issue 16, item 2: no second factor. A TOTP app can now be set up (QR code, or the key
/// typed); sign-in then asks for its code, one step early or late, never the same step
/// twice; turning it off takes a code.
#[tokio::test]
async fn a_second_factor_asks_for_a_fresh_code_at_sign_in() {
    let site = Site::start().await;
    let email = "dr.a@example.org";
    let password = "the right password 1";
    let cookie = site.signed_in(email, Role::Physician).await;
    let secret = site.enrol_second_factor(&cookie).await;
    assert!(
        site.page("/authority/account", &cookie)
            .await
            .contains("On: signing in asks for a code")
    );

    // The code that turned it on is spent: it does not sign in.
    let now = site.clock.now_unix_seconds();
    let (status, _) = site
        .sign_in_with_code(email, password, &app_code(&secret, now))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a replayed code");
    // The next step's code (the app a little ahead) does, once.
    let next = app_code(&secret, now + 30);
    let (status, headers) = site.sign_in_with_code(email, password, &next).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(header(&headers, LOCATION.as_str()), "/authority/issue");
    let session = cookie_set(&headers, "osc_session");
    assert_eq!(
        site.get("/authority/codes", Some(&session)).await.status(),
        StatusCode::OK
    );
    let (status, _) = site.sign_in_with_code(email, password, &next).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the same code twice");
    // Two steps away is too far.
    site.clock.advance(120);
    let now = site.clock.now_unix_seconds();
    let (status, _) = site
        .sign_in_with_code(email, password, &app_code(&secret, now - 60))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = site
        .sign_in_with_code(email, password, &app_code(&secret, now))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Off, with a code of the app.
    site.clock.advance(30);
    let now = site.clock.now_unix_seconds();
    let off = site
        .submit(
            "/authority/account/second-factor/off",
            &session,
            &[("code", &app_code(&secret, now))],
        )
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    let (status, headers, _) = site.sign_in(email, password).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(header(&headers, LOCATION.as_str()), "/authority/issue");
    let actions: Vec<String> = site
        .server
        .state
        .store
        .latest_audit(50)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert!(actions.contains(&"second-factor-on".to_owned()));
    assert!(actions.contains(&"second-factor-off".to_owned()));
    site.server.shutdown().await.unwrap();
}

/// With `require_totp`, an account without a second factor sets one up before any other
/// page, and cannot turn it off; a reset link (for a lost phone) removes it, to be set up
/// again.
#[tokio::test]
async fn require_totp_makes_the_second_factor_mandatory() {
    let site = Site::start_with(|config| config.require_totp = true).await;
    let admin = site.signed_in("admin@example.org", Role::Admin).await;
    let codes = site.get("/authority/codes", Some(&admin)).await;
    assert_eq!(codes.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(codes.headers(), LOCATION.as_str()),
        "/authority/account/second-factor"
    );
    let setup = site.page("/authority/account/second-factor", &admin).await;
    assert!(setup.contains("requires two-step sign-in"));
    let secret = site.enrol_second_factor(&admin).await;
    assert_eq!(
        site.get("/authority/codes", Some(&admin)).await.status(),
        StatusCode::OK
    );
    let account = site.page("/authority/account", &admin).await;
    assert!(
        !account.contains("second-factor/off"),
        "no way to turn it off"
    );
    site.clock.advance(30);
    let code = app_code(&secret, site.clock.now_unix_seconds());
    let off = site
        .submit(
            "/authority/account/second-factor/off",
            &admin,
            &[("code", &code)],
        )
        .await;
    assert_eq!(
        header(off.headers(), LOCATION.as_str()),
        "/authority/account"
    );
    assert!(
        site.page("/authority/account", &admin)
            .await
            .contains("On: signing in")
    );

    // A physician who lost their phone: the admin's reset link removes the factor.
    let physician = site.signed_in("dr.a@example.org", Role::Physician).await;
    site.enrol_second_factor(&physician).await;
    let users = site.page("/authority/users", &admin).await;
    let id = between(&users, "/authority/users/", "/disable").to_owned();
    let made = site
        .submit(&format!("/authority/users/{id}/reset-link"), &admin, &[])
        .await;
    let page = site
        .page(header(made.headers(), LOCATION.as_str()), &admin)
        .await;
    let token = between(&page, "id=\"reset-link\">/authority/reset?t=", "<").to_owned();
    let opened = site.get(&format!("/authority/reset?t={token}"), None).await;
    let cookie = cookie_set(opened.headers(), "osc_sign_in");
    let csrf = csrf_field(&opened.text().await.unwrap());
    let reset = site
        .http
        .post(site.url("/authority/reset"))
        .header("cookie", &cookie)
        .header("content-type", FORM)
        .body(
            serde_urlencoded::to_string([
                ("csrf", csrf.as_str()),
                ("t", token.as_str()),
                ("new_password", "a new phone and password"),
                ("new_password_again", "a new phone and password"),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    let (status, headers, _) = site
        .sign_in("dr.a@example.org", "a new phone and password")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        header(&headers, LOCATION.as_str()),
        "/authority/issue",
        "no code asked"
    );
    let session = cookie_set(&headers, "osc_session");
    let next = site.get("/authority/issue", Some(&session)).await;
    assert_eq!(
        header(next.headers(), LOCATION.as_str()),
        "/authority/account/second-factor",
        "set it up again"
    );
    site.server.shutdown().await.unwrap();
}
