//! The routes of `/authority` and their handlers.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cookie::SameSite;
use maud::Markup;
use serde::Deserialize;

use super::accounts::{self, AccountError, MIN_PASSWORD_CHARS, SignIn, StateChange};
use super::audit;
use super::deep_link::patient_link;
use super::i18n::{LANGUAGE_COOKIE, Language};
use super::sessions::{
    self, SESSION_COOKIE, SESSION_SECONDS, SIGN_IN_COOKIE, SIGN_IN_FORM_SECONDS, Session,
    tokens_match,
};
use super::statistics;
use super::views::{self, BASE, Frame, IssuedCode, Notice, Role, Section};
use crate::service::AppState;

/// Most codes on one printed sheet.
pub const MAX_CODES_PER_SHEET: u32 = 50;
/// Extra wait after a failed sign-in: it slows password guessing down further, on top of
/// the lockout, and costs a person who mistyped nothing they would notice.
pub const FAILED_SIGN_IN_DELAY: Duration = Duration::from_millis(400);
/// Most codes listed on "my codes" (newest first).
pub const MAX_CODES_LISTED: i64 = 500;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("../../static/authority.css");
const SCRIPT: &str = include_str!("../../static/authority.js");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(home))
        .route("/authority/", get(home))
        .route("/authority/static/authority.css", get(stylesheet))
        .route("/authority/static/authority.js", get(script))
        .route("/authority/language/{tag}", get(choose_language))
        .route("/authority/sign-in", get(sign_in_form).post(sign_in))
        .route("/authority/sign-out", post(sign_out))
        .route("/authority/issue", get(issue_form).post(issue))
        .route("/authority/issue/sheet", post(issue_sheet))
        .route("/authority/codes", get(codes))
        .route("/authority/codes/{id}/expire", post(expire_code))
        .route("/authority/statistics", get(statistics_page))
        .route("/authority/statistics.csv", get(statistics_csv))
        .route("/authority/users", get(users).post(add_user))
        .route("/authority/users/{id}/state", post(change_user_state))
        .route("/authority/api-keys", get(api_keys).post(create_api_key))
        .route("/authority/api-keys/{id}/revoke", post(revoke_api_key))
        .route("/authority/audit", get(audit_page))
        .layer(middleware::map_response(protective_headers))
}

async fn protective_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

type PageResult = Result<Response, Response>;

fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The visitor's language: their explicit choice, else their browser's.
fn language_of(headers: &HeaderMap) -> Language {
    sessions::cookie(headers, LANGUAGE_COOKIE)
        .and_then(|tag| Language::from_tag(&tag))
        .unwrap_or_else(|| {
            Language::negotiate(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|value| value.to_str().ok()),
            )
        })
}

fn error_page(
    language: Language,
    viewer: Option<&views::Viewer>,
    status: StatusCode,
    message: &str,
) -> Response {
    let frame = Frame {
        language,
        viewer,
        section: Section::SignIn,
    };
    page(status, views::error(&frame, &language.text(message)))
}

/// A database failure: logged without request data, answered with a plain apology.
fn internal(language: Language) -> impl FnOnce(sqlx::Error) -> Response {
    move |error| {
        tracing::error!(%error, "authority UI: database error");
        error_page(
            language,
            None,
            StatusCode::INTERNAL_SERVER_ERROR,
            "error-internal",
        )
    }
}

/// The signed-in user, or a redirect to the sign-in page; a 403 page when `admin` is
/// required and the user is a physician.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    admin: bool,
) -> Result<(Language, Session), Response> {
    let language = language_of(headers);
    let session = sessions::find(&state.store, headers, state.now())
        .await
        .map_err(internal(language))?;
    let Some(session) = session else {
        return Err(see_other("/authority/sign-in"));
    };
    if admin && session.viewer.role != Role::Admin {
        return Err(error_page(
            language,
            Some(&session.viewer),
            StatusCode::FORBIDDEN,
            "error-forbidden",
        ));
    }
    Ok((language, session))
}

/// Rejects a form whose anti-forgery token is not the session's.
///
/// The error is the page to answer with; handlers return it through `?` as axum's
/// `Response`, so boxing it would only be unboxed again at once.
#[allow(clippy::result_large_err)]
fn check_form(language: Language, session: &Session, submitted: &str) -> Result<(), Response> {
    if tokens_match(submitted, &session.viewer.csrf) {
        Ok(())
    } else {
        Err(error_page(
            language,
            Some(&session.viewer),
            StatusCode::FORBIDDEN,
            "form-forged",
        ))
    }
}

fn frame<'a>(language: Language, session: &'a Session, section: Section) -> Frame<'a> {
    Frame {
        language,
        viewer: Some(&session.viewer),
        section,
    }
}

/// How codes issued through the UI name their issuer in the `codes` table.
fn issuer_of(session: &Session) -> String {
    format!("user:{}", session.user_id)
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    signed_in(&state, &headers, false).await?;
    Ok(see_other("/authority/issue"))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

#[derive(Deserialize)]
struct NextPage {
    next: Option<String>,
}

/// Remembers the chosen language for a year and goes back to the page the visitor was on.
async fn choose_language(Path(tag): Path<String>, Query(query): Query<NextPage>) -> Response {
    let language = Language::from_tag(&tag).unwrap_or(Language::English);
    // Only our own pages: anything else would make this an open redirect.
    let next = query
        .next
        .filter(|next| {
            next.starts_with("/authority/")
                && next
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.'))
                && !next.contains("//")
        })
        .unwrap_or_else(|| "/authority/sign-in".to_owned());
    let mut response = see_other(&next);
    response.headers_mut().insert(
        header::SET_COOKIE,
        sessions::set_cookie(LANGUAGE_COOKIE, language.tag(), 365 * 86_400, SameSite::Lax),
    );
    response
}

// ----- signing in and out -----

fn sign_in_page(
    language: Language,
    status: StatusCode,
    email: &str,
    message: Option<&Notice>,
) -> Response {
    let csrf = sessions::random_token();
    let frame = Frame {
        language,
        viewer: None,
        section: Section::SignIn,
    };
    let mut response = page(status, views::sign_in(&frame, &csrf, email, message));
    response.headers_mut().insert(
        header::SET_COOKIE,
        sessions::set_cookie(
            SIGN_IN_COOKIE,
            &csrf,
            SIGN_IN_FORM_SECONDS,
            SameSite::Strict,
        ),
    );
    response
}

async fn sign_in_form(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let language = language_of(&headers);
    if sessions::find(&state.store, &headers, state.now())
        .await
        .map_err(internal(language))?
        .is_some()
    {
        return Ok(see_other("/authority/issue"));
    }
    Ok(sign_in_page(language, StatusCode::OK, "", None))
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> PageResult {
    let language = language_of(&headers);
    let expected = sessions::cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !tokens_match(&form.csrf, &expected) {
        let notice = Notice::Error(language.text("form-forged"));
        return Ok(sign_in_page(
            language,
            StatusCode::FORBIDDEN,
            &form.email,
            Some(&notice),
        ));
    }
    let now = state.now();
    let outcome = accounts::sign_in(&state.store, &form.email, &form.password, now)
        .await
        .map_err(internal(language))?;
    match outcome {
        SignIn::Accepted { user_id } => {
            let token = sessions::open(&state.store, &user_id, now)
                .await
                .map_err(internal(language))?;
            let email = accounts::email_of(&state.store, &user_id)
                .await
                .map_err(internal(language))?
                .unwrap_or_default();
            audit::record(&state.store, now, &email, "signed-in", "")
                .await
                .map_err(internal(language))?;
            let mut response = see_other("/authority/issue");
            let cookies = response.headers_mut();
            cookies.append(
                header::SET_COOKIE,
                sessions::set_cookie(SESSION_COOKIE, &token, SESSION_SECONDS, SameSite::Strict),
            );
            cookies.append(
                header::SET_COOKIE,
                sessions::set_cookie(SIGN_IN_COOKIE, "", 0, SameSite::Strict),
            );
            Ok(response)
        }
        SignIn::Refused => {
            tokio::time::sleep(FAILED_SIGN_IN_DELAY).await;
            let notice = Notice::Error(language.text("sign-in-failed"));
            Ok(sign_in_page(
                language,
                StatusCode::UNAUTHORIZED,
                &form.email,
                Some(&notice),
            ))
        }
        SignIn::Locked { until, just_now } => {
            if just_now {
                let email = accounts::normalize_email(&form.email).unwrap_or_default();
                audit::record(&state.store, now, &email, "sign-in-locked", "")
                    .await
                    .map_err(internal(language))?;
            }
            tokio::time::sleep(FAILED_SIGN_IN_DELAY).await;
            let notice = Notice::Error(
                language.text_with("sign-in-locked", &[("time", views::format_time(until))]),
            );
            Ok(sign_in_page(
                language,
                StatusCode::TOO_MANY_REQUESTS,
                &form.email,
                Some(&notice),
            ))
        }
    }
}

#[derive(Deserialize)]
struct PlainForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PlainForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, false).await?;
    check_form(language, &session, &form.csrf)?;
    sessions::close(&state.store, &headers)
        .await
        .map_err(internal(language))?;
    let notice = Notice::Info(language.text("signed-out"));
    let mut response = sign_in_page(language, StatusCode::OK, "", Some(&notice));
    response.headers_mut().append(
        header::SET_COOKIE,
        sessions::set_cookie(SESSION_COOKIE, "", 0, SameSite::Strict),
    );
    Ok(response)
}

// ----- issuing codes -----

async fn issue_form(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let (language, session) = signed_in(&state, &headers, false).await?;
    let frame = frame(language, &session, Section::Issue);
    Ok(page(
        StatusCode::OK,
        views::issue(&frame, &session.viewer, None, "", None, MAX_CODES_PER_SHEET),
    ))
}

#[derive(Deserialize)]
struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    onset: String,
}

async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<IssueForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, false).await?;
    check_form(language, &session, &form.csrf)?;
    let frame = frame(language, &session, Section::Issue);
    let onset = Some(form.onset.trim()).filter(|onset| !onset.is_empty());
    match crate::codes::issue_code(&state, &issuer_of(&session), onset).await {
        Ok(issued) => {
            audit::record(
                &state.store,
                state.now(),
                &session.viewer.email,
                "code-issued",
                &issued.id,
            )
            .await
            .map_err(internal(language))?;
            let shown = IssuedCode {
                link: patient_link(state.config.public_url.as_deref(), &issued.code),
                code: issued.code,
                expires_at: issued.expires_at,
            };
            Ok(page(
                StatusCode::CREATED,
                views::issue(
                    &frame,
                    &session.viewer,
                    Some(&shown),
                    "",
                    None,
                    MAX_CODES_PER_SHEET,
                ),
            ))
        }
        Err(crate::codes::IssueError::InvalidOnset(_)) => {
            let notice = Notice::Error(language.text("issue-onset-invalid"));
            Ok(page(
                StatusCode::BAD_REQUEST,
                views::issue(
                    &frame,
                    &session.viewer,
                    None,
                    &form.onset,
                    Some(&notice),
                    MAX_CODES_PER_SHEET,
                ),
            ))
        }
        Err(crate::codes::IssueError::Database(error)) => Err(internal(language)(error)),
        Err(crate::codes::IssueError::NoFreshCode) => Err(error_page(
            language,
            Some(&session.viewer),
            StatusCode::INTERNAL_SERVER_ERROR,
            "error-internal",
        )),
    }
}

#[derive(Deserialize)]
struct SheetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    count: String,
}

async fn issue_sheet(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SheetForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, false).await?;
    check_form(language, &session, &form.csrf)?;
    let count = form
        .count
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|count| (1..=MAX_CODES_PER_SHEET).contains(count));
    let Some(count) = count else {
        let frame = frame(language, &session, Section::Issue);
        let notice = Notice::Error(language.text_with(
            "batch-count-invalid",
            &[("max", MAX_CODES_PER_SHEET.to_string())],
        ));
        return Ok(page(
            StatusCode::BAD_REQUEST,
            views::issue(
                &frame,
                &session.viewer,
                None,
                "",
                Some(&notice),
                MAX_CODES_PER_SHEET,
            ),
        ));
    };
    let issuer = issuer_of(&session);
    let mut codes = Vec::new();
    for _ in 0..count {
        let issued = crate::codes::issue_code(&state, &issuer, None)
            .await
            .map_err(|_| {
                error_page(
                    language,
                    Some(&session.viewer),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal",
                )
            })?;
        codes.push(IssuedCode {
            link: patient_link(state.config.public_url.as_deref(), &issued.code),
            code: issued.code,
            expires_at: issued.expires_at,
        });
    }
    let now = state.now();
    audit::record(
        &state.store,
        now,
        &session.viewer.email,
        "codes-issued-batch",
        &count.to_string(),
    )
    .await
    .map_err(internal(language))?;
    let frame = frame(language, &session, Section::Issue);
    Ok(page(
        StatusCode::CREATED,
        views::sheet(&frame, &session.viewer, &codes, now),
    ))
}

// ----- following one's codes -----

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, false).await?;
    let now = state.now();
    let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, created_hour, expires_at, used_hour FROM codes WHERE issued_by = $1 \
         ORDER BY created_hour DESC, expires_at DESC LIMIT $2",
    )
    .bind(issuer_of(&session))
    .bind(MAX_CODES_LISTED)
    .fetch_all(state.store.pool())
    .await
    .map_err(internal(language))?;
    let rows: Vec<views::CodeRow> = rows
        .into_iter()
        .map(|(id, issued_hour, expires_at, used_hour)| views::CodeRow {
            status: if used_hour.is_some() {
                views::CodeStatus::Used
            } else if expires_at <= now {
                views::CodeStatus::Expired
            } else {
                views::CodeStatus::Unused
            },
            id,
            issued_hour,
            expires_at,
            used_hour,
        })
        .collect();
    let notice = (done.done.as_deref() == Some("expired"))
        .then(|| Notice::Success(language.text("codes-expired-done")));
    let frame = frame(language, &session, Section::Codes);
    Ok(page(
        StatusCode::OK,
        views::codes(&frame, &session.viewer, &rows, notice.as_ref()),
    ))
}

async fn expire_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PlainForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, false).await?;
    check_form(language, &session, &form.csrf)?;
    let now = state.now();
    // Only one's own unused, unexpired code; expiring sets the expiry to now, so the code
    // keeps its history and is purged with the others.
    let expired = sqlx::query(
        "UPDATE codes SET expires_at = $1 WHERE id = $2 AND issued_by = $3 \
         AND used_hour IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&id)
    .bind(issuer_of(&session))
    .execute(state.store.pool())
    .await
    .map_err(internal(language))?;
    if expired.rows_affected() == 1 {
        audit::record(
            &state.store,
            now,
            &session.viewer.email,
            "code-expired",
            &id,
        )
        .await
        .map_err(internal(language))?;
    }
    Ok(see_other("/authority/codes?done=expired"))
}

// ----- statistics -----

async fn statistics_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let (language, session) = signed_in(&state, &headers, false).await?;
    let days = statistics::daily(&state.store, state.now())
        .await
        .map_err(internal(language))?;
    let chart = statistics::chart_svg(&days, language).unwrap_or_else(|error| {
        tracing::warn!(%error, "authority UI: statistics chart not drawn");
        String::new()
    });
    let frame = frame(language, &session, Section::Statistics);
    Ok(page(
        StatusCode::OK,
        views::statistics(&frame, &days, &chart),
    ))
}

async fn statistics_csv(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let (language, _) = signed_in(&state, &headers, false).await?;
    let days = statistics::daily(&state.store, state.now())
        .await
        .map_err(internal(language))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"openstopcovid-statistics.csv\"",
            ),
        ],
        statistics::csv(&days),
    )
        .into_response())
}

// ----- accounts (admins) -----

async fn users_page(
    state: &AppState,
    language: Language,
    session: &Session,
    status: StatusCode,
    form_email: &str,
    notice: Option<&Notice>,
) -> PageResult {
    let rows = accounts::list(&state.store, state.now())
        .await
        .map_err(internal(language))?;
    let frame = frame(language, session, Section::Users);
    Ok(page(
        status,
        views::users(
            &frame,
            &session.viewer,
            &rows,
            form_email,
            notice,
            MIN_PASSWORD_CHARS,
        ),
    ))
}

async fn users(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let (language, session) = signed_in(&state, &headers, true).await?;
    users_page(&state, language, &session, StatusCode::OK, "", None).await
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn add_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewUserForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, true).await?;
    check_form(language, &session, &form.csrf)?;
    let now = state.now();
    let role = Role::parse(&form.role).unwrap_or(Role::Physician);
    let refused = |message: String| Notice::Error(message);
    let min = [("min", MIN_PASSWORD_CHARS.to_string())];
    match accounts::add_user(&state.store, &form.email, role, &form.password, now).await {
        Ok(_) => {
            let email = accounts::normalize_email(&form.email).unwrap_or_default();
            audit::record(
                &state.store,
                now,
                &session.viewer.email,
                "user-created",
                &email,
            )
            .await
            .map_err(internal(language))?;
            let notice = Notice::Success(language.text_with("users-added", &[("email", email)]));
            users_page(
                &state,
                language,
                &session,
                StatusCode::CREATED,
                "",
                Some(&notice),
            )
            .await
        }
        Err(AccountError::Database(error)) => Err(internal(language)(error)),
        Err(error) => {
            let notice = refused(match error {
                AccountError::InvalidEmail => language.text("users-email-invalid"),
                AccountError::InvalidPassword => language.text_with("users-password-short", &min),
                AccountError::AlreadyExists => language.text("users-exists"),
                _ => language.text("error-internal"),
            });
            users_page(
                &state,
                language,
                &session,
                StatusCode::BAD_REQUEST,
                &form.email,
                Some(&notice),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct StateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    change: String,
}

async fn change_user_state(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StateForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, true).await?;
    check_form(language, &session, &form.csrf)?;
    // An admin cannot lock themselves out by mistake.
    if let Some(change) = StateChange::parse(&form.change)
        && id != session.user_id
    {
        let now = state.now();
        let email = accounts::email_of(&state.store, &id)
            .await
            .map_err(internal(language))?;
        if let Some(email) = email
            && accounts::change_state(&state.store, &id, change, now)
                .await
                .map_err(internal(language))?
        {
            audit::record(
                &state.store,
                now,
                &session.viewer.email,
                change.audit_action(),
                &email,
            )
            .await
            .map_err(internal(language))?;
        }
    }
    Ok(see_other("/authority/users"))
}

// ----- authority API keys (admins) -----

async fn api_keys_page(
    state: &AppState,
    language: Language,
    session: &Session,
    status: StatusCode,
    new_key: Option<&str>,
    notice: Option<&Notice>,
) -> PageResult {
    let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, created_at, revoked_at FROM authority_api_keys ORDER BY created_at DESC, name",
    )
    .fetch_all(state.store.pool())
    .await
    .map_err(internal(language))?;
    let rows: Vec<views::ApiKeyRow> = rows
        .into_iter()
        .map(|(id, name, created_at, revoked_at)| views::ApiKeyRow {
            id,
            name,
            created_at,
            revoked: revoked_at.is_some(),
        })
        .collect();
    let frame = frame(language, session, Section::ApiKeys);
    Ok(page(
        status,
        views::api_keys(&frame, &session.viewer, &rows, new_key, notice),
    ))
}

async fn api_keys(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let (language, session) = signed_in(&state, &headers, true).await?;
    api_keys_page(&state, language, &session, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
struct NewApiKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn create_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewApiKeyForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, true).await?;
    check_form(language, &session, &form.csrf)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        let notice = Notice::Error(language.text("api-keys-name-invalid"));
        return api_keys_page(
            &state,
            language,
            &session,
            StatusCode::BAD_REQUEST,
            None,
            Some(&notice),
        )
        .await;
    }
    let now = state.now();
    let key = crate::codes::create_api_key(&state.store, name, now)
        .await
        .map_err(internal(language))?;
    audit::record(
        &state.store,
        now,
        &session.viewer.email,
        "api-key-created",
        name,
    )
    .await
    .map_err(internal(language))?;
    api_keys_page(
        &state,
        language,
        &session,
        StatusCode::CREATED,
        Some(&key),
        None,
    )
    .await
}

async fn revoke_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PlainForm>,
) -> PageResult {
    let (language, session) = signed_in(&state, &headers, true).await?;
    check_form(language, &session, &form.csrf)?;
    let now = state.now();
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE authority_api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING name",
    )
    .bind(now)
    .bind(&id)
    .fetch_optional(state.store.pool())
    .await
    .map_err(internal(language))?;
    if let Some(name) = name {
        audit::record(
            &state.store,
            now,
            &session.viewer.email,
            "api-key-revoked",
            &name,
        )
        .await
        .map_err(internal(language))?;
    }
    Ok(see_other("/authority/api-keys"))
}

// ----- audit log (admins) -----

async fn audit_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let (language, session) = signed_in(&state, &headers, true).await?;
    let rows = audit::latest(&state.store)
        .await
        .map_err(internal(language))?;
    let frame = frame(language, &session, Section::Audit);
    Ok(page(StatusCode::OK, views::audit(&frame, &rows)))
}
