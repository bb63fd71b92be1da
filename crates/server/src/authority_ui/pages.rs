//! The routes of `/authority` and their handlers.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use super::accounts::{
    self, AccountError, MIN_PASSWORD_CHARS, NewPasswordRefusal, PasswordRule, SecondFactor, SignIn,
    StateChange,
};
use super::config_page;
use super::deep_link::patient_link;
use super::sessions::{
    self, SESSION_COOKIE, SESSION_SECONDS, SIGN_IN_COOKIE, SIGN_IN_FORM_SECONDS, Session,
};
use super::shown_code::{self, Purpose, ShownCode, ShownSheet};
use super::signed_in::{self, Admin, SignedIn};
use super::statistics;
use super::totp;
use super::views::{self, BASE, Frame, IssueFields, IssuedCode, Notice, Section};
use crate::client_address::ClientAddress;
use crate::codes::{CodeRequest, DateField, IssueError, MAX_ONSET_AGE_DAYS};
use crate::datastore::AuditFilter;
use crate::datastore::codes::{CodeKind, TestType};
use crate::datastore::{DatastoreError, Role};
use crate::state::AppState;
use crate::web::csrf::{CsrfForm, CsrfRefusal};
use crate::web::local_time::{self, LocalTime};
use crate::web::{self, Language};

/// Most codes on one printed sheet.
pub const MAX_CODES_PER_SHEET: u32 = 50;
/// Most codes listed on "my codes" (newest first).
pub const MAX_CODES_LISTED: i64 = 500;
/// How many audit log entries a page of the log shows (newest first).
pub const AUDIT_PAGE_SIZE: i64 = 50;
/// Pages of the log one can go back: a 14-day log of a busy authority fits.
const MAX_AUDIT_PAGES: i64 = 10_000;

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let router = Router::new()
        .route(BASE, get(home))
        .route("/authority/", get(home))
        .route("/authority/sign-in", get(sign_in_form).post(sign_in))
        .route(SECOND_STEP_PAGE, get(second_step_form).post(second_step))
        .route("/authority/sign-out", post(sign_out))
        .route("/authority/issue", get(issue_form).post(issue))
        .route("/authority/issue/shown", get(issued_code))
        .route(
            "/authority/issue/sheet",
            get(issued_sheet).post(issue_sheet),
        )
        .route("/authority/codes", get(codes))
        .route(
            "/authority/codes/{id}/expire",
            get(confirm_expire_code).post(expire_code),
        )
        .route("/authority/statistics", get(statistics_page))
        .route("/authority/statistics.csv", get(statistics_csv))
        .route("/authority/users", get(users).post(add_user))
        .route("/authority/users/{id}/state", post(change_user_state))
        .route("/authority/users/{id}/disable", get(confirm_disable_user))
        .route("/authority/users/{id}/reset-link", post(make_reset_link))
        .route("/authority/account", get(account_page))
        .route("/authority/account/password", post(change_password))
        .route(
            signed_in::SECOND_FACTOR_SETUP,
            get(second_factor_setup).post(second_factor_on),
        )
        .route(
            "/authority/account/second-factor/off",
            post(second_factor_off),
        )
        .route("/authority/reset", get(reset_form).post(reset_password))
        .route("/authority/api-keys", get(api_keys).post(create_api_key))
        .route(
            "/authority/api-keys/{id}/revoke",
            get(confirm_revoke_api_key).post(revoke_api_key),
        )
        .route("/authority/audit", get(audit_page))
        .route(
            "/authority/config",
            get(config_page::show).post(config_page::submit),
        )
        .route("/authority/config/preview", post(config_page::preview))
        .route(
            "/authority/config/versions/{version}/roll-back",
            get(config_page::confirm_roll_back).post(config_page::roll_back),
        )
        .route_layer(middleware::from_fn_with_state(state, signed_in::identify));
    web::html_routes(router)
}

pub(super) type PageResult = Result<Response, Response>;

pub(super) fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(super) fn error_page(
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
pub(super) fn internal(language: Language) -> impl FnOnce(DatastoreError) -> Response {
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

/// The page for a code that could not be issued. Every cause but a bad date is ours,
/// and is logged (without request data) before the apology: a failure that only shows as
/// an error page leaves the operator nothing to go on.
fn issue_failed(language: Language, viewer: &views::Viewer, error: IssueError) -> Response {
    match error {
        IssueError::Database(error) => {
            tracing::error!(%error, "authority UI: database error while issuing a code");
        }
        other => tracing::error!(error = %other, "authority UI: no code issued"),
    }
    error_page(
        language,
        Some(viewer),
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-internal",
    )
}

pub(super) fn frame<'a>(language: Language, session: &'a Session, section: Section) -> Frame<'a> {
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

async fn home(_: SignedIn) -> Response {
    see_other("/authority/issue")
}

// ----- signing in and out -----

fn sign_in_page(
    state: &AppState,
    language: Language,
    status: StatusCode,
    email: &str,
    message: Option<&Notice>,
) -> Response {
    let (cookie, csrf) = sessions::new_sign_in_form(&state.keys, state.now());
    let frame = Frame {
        language,
        viewer: None,
        section: Section::SignIn,
    };
    let mut response = page(status, views::sign_in(&frame, &csrf, email, message));
    response.headers_mut().insert(
        header::SET_COOKIE,
        sessions::set_cookie(SIGN_IN_COOKIE, &cookie, SIGN_IN_FORM_SECONDS),
    );
    response
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default, rename = "signed-out")]
    signed_out: Option<String>,
    /// After a password reset.
    #[serde(default)]
    reset: Option<String>,
}

async fn sign_in_form(
    State(state): State<AppState>,
    language: Language,
    signed_in: Option<SignedIn>,
    Query(query): Query<SignInQuery>,
) -> Response {
    if signed_in.is_some() {
        return see_other("/authority/issue");
    }
    let notice = match (query.signed_out, query.reset) {
        (Some(_), _) => Some(Notice::Info(language.text("signed-out"))),
        (None, Some(_)) => Some(Notice::Success(language.text("reset-done"))),
        (None, None) => None,
    };
    sign_in_page(&state, language, StatusCode::OK, "", notice.as_ref())
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `response` with `Retry-After: seconds`.
fn retry_after(mut response: Response, seconds: i64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    language: Language,
    form: Result<CsrfForm<SignInForm>, CsrfRefusal<SignInForm>>,
) -> PageResult {
    let form = match form {
        Ok(CsrfForm(form)) => form,
        // An expired or forged form (or one left open while signing in elsewhere): the
        // form again, with a fresh token.
        Err(CsrfRefusal::Forged { form, .. }) => {
            let notice = Notice::Error(language.text("form-forged"));
            return Ok(sign_in_page(
                &state,
                language,
                StatusCode::FORBIDDEN,
                &form.email,
                Some(&notice),
            ));
        }
        Err(refusal) => return Err(refusal.into_response()),
    };
    let outcome = accounts::sign_in(&state, client, &form.email, &form.password)
        .await
        .map_err(internal(language))?;
    let now = state.now();
    match outcome {
        SignIn::Accepted { user_id } => {
            let has_second_factor = state
                .store
                .totp_secret(&user_id)
                .await
                .map_err(internal(language))?
                .is_some();
            if !has_second_factor {
                return finish_sign_in(&state, language, &user_id, now).await;
            }
            // The password was right; the session opens once the code is too. Until then
            // a sealed cookie remembers whose password it was, for a few minutes.
            let pending = SecondStep {
                user_id,
                until: now + SECOND_STEP_SECONDS,
            };
            let Some(sealed) = shown_code::seal_for(&state, Purpose::SecondStep, "", &pending)
            else {
                tracing::error!("authority UI: could not seal a sign-in's second step");
                return Err(error_page(
                    language,
                    None,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal",
                ));
            };
            let mut response = see_other(SECOND_STEP_PAGE);
            response.headers_mut().append(
                header::SET_COOKIE,
                sessions::set_cookie(SECOND_STEP_COOKIE, &sealed, SECOND_STEP_SECONDS),
            );
            Ok(response)
        }
        // The same answer whether the email has an account or not.
        SignIn::Refused => {
            let notice = Notice::Error(language.text("sign-in-failed"));
            Ok(sign_in_page(
                &state,
                language,
                StatusCode::UNAUTHORIZED,
                &form.email,
                Some(&notice),
            ))
        }
        SignIn::Wait { until } => {
            let notice = Notice::Error(language.text_with(
                "sign-in-locked",
                &[(
                    "time",
                    LocalTime::new(language, state.time_zone.clone()).date_time_text(until),
                )],
            ));
            let page = sign_in_page(
                &state,
                language,
                StatusCode::TOO_MANY_REQUESTS,
                &form.email,
                Some(&notice),
            );
            Ok(retry_after(page, until - now))
        }
        SignIn::Busy => {
            let notice = Notice::Error(language.text("sign-in-busy"));
            let page = sign_in_page(
                &state,
                language,
                StatusCode::SERVICE_UNAVAILABLE,
                &form.email,
                Some(&notice),
            );
            Ok(retry_after(
                page,
                i64::try_from(crate::sign_in_limits::BUSY_RETRY_AFTER_SECONDS).unwrap_or(5),
            ))
        }
    }
}

/// Opens a session for `user_id`, whose password (and code, if it has a second factor)
/// were right, and leads to the issue page.
async fn finish_sign_in(
    state: &AppState,
    language: Language,
    user_id: &str,
    now: i64,
) -> PageResult {
    let token = sessions::open(&state.store, user_id, now)
        .await
        .map_err(internal(language))?;
    let email = state
        .store
        .user_email(user_id)
        .await
        .map_err(internal(language))?
        .unwrap_or_default();
    state
        .store
        .record_audit(now, &email, "signed-in", "")
        .await
        .map_err(internal(language))?;
    let mut response = see_other("/authority/issue");
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        sessions::set_cookie(SESSION_COOKIE, &token, SESSION_SECONDS),
    );
    cookies.append(
        header::SET_COOKIE,
        sessions::set_cookie(SIGN_IN_COOKIE, "", 0),
    );
    cookies.append(
        header::SET_COOKIE,
        sessions::set_cookie(SECOND_STEP_COOKIE, "", 0),
    );
    Ok(response)
}

// ----- the second step of a sign-in: a TOTP code -----

/// The cookie that carries a sign-in whose password was right, waiting for its code.
const SECOND_STEP_COOKIE: &str = "osc_second_step";
/// How long the code may take to be typed after the password.
const SECOND_STEP_SECONDS: i64 = 300;
/// The page that asks for the code.
const SECOND_STEP_PAGE: &str = "/authority/sign-in/code";

/// Whose password was right, until when (sealed in [`SECOND_STEP_COOKIE`]).
#[derive(serde::Serialize, Deserialize)]
struct SecondStep {
    user_id: String,
    until: i64,
}

/// The sign-in waiting for its code in this request's cookie, if it has not run out.
fn pending_second_step(state: &AppState, headers: &HeaderMap) -> Option<SecondStep> {
    let sealed = crate::web::cookies::cookie(headers, SECOND_STEP_COOKIE)?;
    shown_code::open_for::<SecondStep>(state, Purpose::SecondStep, "", &sealed)
        .filter(|pending| pending.until > state.now())
}

fn second_step_page(
    state: &AppState,
    language: Language,
    status: StatusCode,
    message: Option<&Notice>,
) -> Response {
    let (cookie, csrf) = sessions::new_sign_in_form(&state.keys, state.now());
    let frame = Frame {
        language,
        viewer: None,
        section: Section::SecondStep,
    };
    let mut response = page(status, views::sign_in_code(&frame, &csrf, message));
    response.headers_mut().insert(
        header::SET_COOKIE,
        sessions::set_cookie(SIGN_IN_COOKIE, &cookie, SIGN_IN_FORM_SECONDS),
    );
    response
}

async fn second_step_form(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
) -> Response {
    if pending_second_step(&state, &headers).is_none() {
        return see_other("/authority/sign-in");
    }
    second_step_page(&state, language, StatusCode::OK, None)
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn second_step(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    language: Language,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> PageResult {
    let Some(pending) = pending_second_step(&state, &headers) else {
        return Ok(see_other("/authority/sign-in"));
    };
    let email = state
        .store
        .user_email(&pending.user_id)
        .await
        .map_err(internal(language))?
        .unwrap_or_default();
    let outcome =
        accounts::check_second_factor(&state, client, &pending.user_id, &email, &form.code)
            .await
            .map_err(internal(language))?;
    let now = state.now();
    match outcome {
        SecondFactor::Accepted => finish_sign_in(&state, language, &pending.user_id, now).await,
        SecondFactor::Refused => {
            let notice = Notice::Error(language.text("second-factor-wrong"));
            Ok(second_step_page(
                &state,
                language,
                StatusCode::UNAUTHORIZED,
                Some(&notice),
            ))
        }
        SecondFactor::Wait { until } => {
            let local = LocalTime::new(language, state.time_zone.clone());
            let notice = Notice::Error(
                language.text_with("sign-in-locked", &[("time", local.date_time_text(until))]),
            );
            let page = second_step_page(
                &state,
                language,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&notice),
            );
            Ok(retry_after(page, until - now))
        }
    }
}

/// A form with nothing but its anti-forgery token (sign out, expire, revoke).
#[derive(Deserialize)]
struct Confirmation {}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    SignedIn { language, .. }: SignedIn,
    CsrfForm(_): CsrfForm<Confirmation>,
) -> PageResult {
    sessions::close(&state.store, &headers)
        .await
        .map_err(internal(language))?;
    // POST → redirect → GET: a reload of the page that says so posts nothing again.
    let mut response = see_other("/authority/sign-in?signed-out=1");
    response.headers_mut().append(
        header::SET_COOKIE,
        sessions::set_cookie(SESSION_COOKIE, "", 0),
    );
    Ok(response)
}

// ----- issuing codes -----

async fn issue_form(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
) -> PageResult {
    let frame = frame(language, &session, Section::Issue);
    Ok(page(
        StatusCode::OK,
        views::issue(
            &frame,
            &session.viewer,
            None,
            &IssueFields::empty(),
            None,
            MAX_CODES_PER_SHEET,
            state.now(),
        ),
    ))
}

#[derive(Deserialize)]
struct IssueForm {
    /// `confirmed-test` or `clinical-diagnosis`.
    #[serde(default)]
    test_type: String,
    #[serde(default)]
    symptom_date: String,
    #[serde(default)]
    test_date: String,
    /// `venue-warning` for a venue owner's code; a patient's code otherwise.
    #[serde(default)]
    kind: String,
}

/// A typed date, or `None` for an empty field.
fn typed_date(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|text| !text.is_empty())
}

async fn issue(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    CsrfForm(form): CsrfForm<IssueForm>,
) -> PageResult {
    let kind = CodeKind::parse(form.kind.trim()).unwrap_or(CodeKind::Patient);
    let test_type = TestType::parse(form.test_type.trim()).unwrap_or_default();
    let wanted = match kind {
        CodeKind::Patient => CodeRequest {
            kind,
            test_type: Some(test_type),
            symptom_date: typed_date(&form.symptom_date),
            test_date: typed_date(&form.test_date),
        },
        CodeKind::VenueWarning => CodeRequest {
            kind,
            ..CodeRequest::default()
        },
    };
    match crate::codes::issue_code(&state, &issuer_of(&session), &wanted).await {
        Ok(issued) => {
            let action = match kind {
                CodeKind::Patient => "code-issued",
                CodeKind::VenueWarning => "venue-warning-code-issued",
            };
            state
                .store
                .record_audit(state.now(), &session.viewer.email, action, &issued.id)
                .await
                .map_err(internal(language))?;
            // POST → redirect → GET: a reload of the page shows this code again and
            // never issues another.
            let shown = ShownCode {
                id: issued.id,
                code: issued.code,
                kind,
                expires_at: issued.expires_at,
            };
            let Some(sealed) = shown_code::seal(&state, &session.user_id, &shown) else {
                tracing::error!("authority UI: could not seal an issued code for its page");
                return Err(error_page(
                    language,
                    Some(&session.viewer),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal",
                ));
            };
            Ok(see_other(&format!("/authority/issue/shown?c={sealed}")))
        }
        // The form again, as it was typed, with what the date must be in words and in
        // the page's own date format.
        Err(IssueError::InvalidDate { field, .. }) => {
            let now = state.now();
            let frame = frame(language, &session, Section::Issue);
            let local = frame.local_time();
            let today = local.today(now);
            let earliest = today - time::Duration::days(MAX_ONSET_AGE_DAYS);
            let (message, invalid) = match field {
                DateField::SymptomOnset => ("issue-symptom-date-invalid", "symptom-date"),
                DateField::Test => ("issue-test-date-invalid", "test-date"),
            };
            let notice = Notice::Error(language.text_with(
                message,
                &[
                    ("earliest", local.date_text(earliest)),
                    ("today", local.date_text(today)),
                ],
            ));
            let fields = IssueFields {
                test_type,
                symptom_date: form.symptom_date.trim(),
                test_date: form.test_date.trim(),
                invalid: Some(invalid),
            };
            Ok(page(
                StatusCode::BAD_REQUEST,
                views::issue(
                    &frame,
                    &session.viewer,
                    None,
                    &fields,
                    Some(&notice),
                    MAX_CODES_PER_SHEET,
                    now,
                ),
            ))
        }
        Err(other) => Err(issue_failed(language, &session.viewer, other)),
    }
}

#[derive(Deserialize)]
struct ShownQuery {
    #[serde(default)]
    c: String,
}

/// The page of a code just issued. It can be reloaded (it shows the same code); an
/// address sealed for another physician, altered or from another server sends the
/// physician to "My codes", where every code is listed.
async fn issued_code(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    Query(query): Query<ShownQuery>,
) -> PageResult {
    let Some(shown) = shown_code::open::<ShownCode>(&state, &session.user_id, &query.c) else {
        return Ok(see_other("/authority/codes"));
    };
    let frame = frame(language, &session, Section::Issue);
    let shown = IssuedCode {
        link: patient_link(state.config.public_url.as_deref(), &shown.code),
        id: shown.id,
        kind: shown.kind,
        code: shown.code,
        expires_at: shown.expires_at,
    };
    Ok(page(
        StatusCode::OK,
        views::issue(
            &frame,
            &session.viewer,
            Some(&shown),
            &IssueFields::empty(),
            None,
            MAX_CODES_PER_SHEET,
            state.now(),
        ),
    ))
}

#[derive(Deserialize)]
struct SheetForm {
    #[serde(default)]
    count: String,
}

async fn issue_sheet(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    CsrfForm(form): CsrfForm<SheetForm>,
) -> PageResult {
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
                &IssueFields::empty(),
                Some(&notice),
                MAX_CODES_PER_SHEET,
                state.now(),
            ),
        ));
    };
    let issuer = issuer_of(&session);
    let now = state.now();
    let mut sheet = ShownSheet {
        issued_at: now,
        codes: Vec::new(),
    };
    for _ in 0..count {
        let issued = crate::codes::issue_code(&state, &issuer, &CodeRequest::default())
            .await
            .map_err(|error| issue_failed(language, &session.viewer, error))?;
        sheet
            .codes
            .push((issued.id, issued.code, issued.expires_at));
    }
    state
        .store
        .record_audit(
            now,
            &session.viewer.email,
            "codes-issued-batch",
            &count.to_string(),
        )
        .await
        .map_err(internal(language))?;
    // POST → redirect → GET, as for one code: a reload prints the same sheet.
    let Some(sealed) = shown_code::seal(&state, &session.user_id, &sheet) else {
        tracing::error!("authority UI: could not seal a sheet of codes for its page");
        return Err(error_page(
            language,
            Some(&session.viewer),
            StatusCode::INTERNAL_SERVER_ERROR,
            "error-internal",
        ));
    };
    Ok(see_other(&format!("/authority/issue/sheet?c={sealed}")))
}

/// The printable sheet of codes just issued; like one code's page, it can be reloaded.
async fn issued_sheet(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    Query(query): Query<ShownQuery>,
) -> PageResult {
    let Some(sheet) = shown_code::open::<ShownSheet>(&state, &session.user_id, &query.c) else {
        return Ok(see_other("/authority/codes"));
    };
    let codes: Vec<IssuedCode> = sheet
        .codes
        .into_iter()
        .map(|(id, code, expires_at)| IssuedCode {
            link: patient_link(state.config.public_url.as_deref(), &code),
            id,
            kind: CodeKind::Patient,
            code,
            expires_at,
        })
        .collect();
    let frame = frame(language, &session, Section::Issue);
    Ok(page(
        StatusCode::OK,
        views::sheet(
            &frame,
            &session.viewer,
            &codes,
            sheet.issued_at,
            state.now(),
        ),
    ))
}

// ----- following one's codes -----

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn codes(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    Query(done): Query<Done>,
) -> PageResult {
    let now = state.now();
    let rows: Vec<views::CodeRow> = state
        .store
        .codes_issued_by(&issuer_of(&session), MAX_CODES_LISTED)
        .await
        .map_err(internal(language))?
        .into_iter()
        .map(|code| views::CodeRow {
            status: code.status(now),
            kind: code.kind,
            id: code.id,
            issued_hour: code.issued_hour,
            expires_at: code.expires_at,
            used_hour: code.used_hour,
        })
        .collect();
    let notice = (done.done.as_deref() == Some("expired"))
        .then(|| Notice::Success(language.text("codes-expired-done")));
    let frame = frame(language, &session, Section::Codes);
    Ok(page(
        StatusCode::OK,
        views::codes(&frame, &rows, notice.as_ref(), now),
    ))
}

/// Asks before expiring a code (a patient holding it could no longer report). A GET: a
/// reload asks again and changes nothing.
async fn confirm_expire_code(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let own = state
        .store
        .code_issued_by(&id, &issuer_of(&session))
        .await
        .map_err(internal(language))?
        .filter(|code| code.status(state.now()) == crate::datastore::CodeStatus::Unused);
    let Some(code) = own else {
        return Ok(see_other("/authority/codes"));
    };
    let reference = [("reference", views::code_reference(&code.id))];
    let asked = views::Confirmation {
        question: language.text_with("codes-expire-question", &reference),
        consequence: language.text("codes-expire-consequence"),
        action: format!("{BASE}/codes/{}/expire", code.id),
        button: language.text("codes-expire-button"),
        cancel: "/authority/codes",
        hidden: &[],
    };
    let frame = frame(language, &session, Section::Codes);
    Ok(page(
        StatusCode::OK,
        views::confirmation(&frame, &session.viewer, &asked),
    ))
}

async fn expire_code(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Confirmation>,
) -> PageResult {
    let now = state.now();
    // Only one's own unused, unexpired code; expiring sets the expiry to now, so the code
    // keeps its history and is purged with the others.
    let expired = state
        .store
        .expire_code(&id, &issuer_of(&session), now)
        .await
        .map_err(internal(language))?;
    if expired {
        state
            .store
            .record_audit(now, &session.viewer.email, "code-expired", &id)
            .await
            .map_err(internal(language))?;
    }
    Ok(see_other("/authority/codes?done=expired"))
}

// ----- statistics -----

async fn statistics_page(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
) -> PageResult {
    // An administrator sees every issuer's codes; a physician their own.
    let issuer = issuer_of(&session);
    let only = (session.viewer.role != Role::Admin).then_some(issuer.as_str());
    let shown = statistics::gather(&state, only)
        .await
        .map_err(internal(language))?;
    let frame = frame(language, &session, Section::Statistics);
    Ok(page(StatusCode::OK, views::statistics(&frame, &shown)))
}

async fn statistics_csv(
    State(state): State<AppState>,
    SignedIn { language, .. }: SignedIn,
) -> PageResult {
    let days = statistics::daily(&state, state.now())
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
        statistics::csv(&state, &days),
    )
        .into_response())
}

// ----- accounts (admins) -----

/// What the accounts page shows once after a change (sealed in its address).
#[derive(serde::Serialize, Deserialize)]
enum UsersDone {
    /// An account was added: its email.
    Added(String),
    /// A password-reset link was made: the account's email, the link, its expiry.
    ResetLink(String, String, i64),
}

async fn users_page(
    state: &AppState,
    language: Language,
    session: &Session,
    status: StatusCode,
    form_email: &str,
    done: Option<&UsersDone>,
    notice: Option<&Notice>,
) -> PageResult {
    let waits: std::collections::HashMap<Vec<u8>, i64> = state
        .store
        .sign_in_waits(state.now())
        .await
        .map_err(internal(language))?
        .into_iter()
        .collect();
    let mut rows = state.store.users().await.map_err(internal(language))?;
    for row in &mut rows {
        let key = accounts::email_key(&state.keys, &row.email);
        row.locked_until = waits.get(key.as_slice()).copied();
    }
    let frame = frame(language, session, Section::Users);
    let added = match done {
        Some(UsersDone::Added(email)) => Some(Notice::Success(
            language.text_with("users-added", &[("email", email.clone())]),
        )),
        _ => None,
    };
    let reset_link = match done {
        Some(UsersDone::ResetLink(email, link, expires_at)) => Some(views::ResetLink {
            email,
            link,
            expires_at: *expires_at,
        }),
        _ => None,
    };
    Ok(page(
        status,
        views::users(
            &frame,
            &session.viewer,
            &rows,
            form_email,
            notice.or(added.as_ref()),
            reset_link.as_ref(),
            MIN_PASSWORD_CHARS,
        ),
    ))
}

#[derive(Deserialize)]
struct AfterChange {
    /// What was just done, sealed for the signed-in user (see `shown_code`): the new
    /// account's email, the new API key.
    #[serde(default)]
    done: String,
}

async fn users(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Query(after): Query<AfterChange>,
) -> PageResult {
    let done = shown_code::open::<UsersDone>(&state, &session.user_id, &after.done);
    users_page(
        &state,
        language,
        &session,
        StatusCode::OK,
        "",
        done.as_ref(),
        None,
    )
    .await
}

/// POST → redirect → GET after a change: `path`, with what was done sealed for `session`'s
/// user, so that a reload shows the outcome again and repeats nothing.
fn after_change<T: serde::Serialize>(
    state: &AppState,
    session: &Session,
    path: &str,
    done: &T,
) -> Response {
    match shown_code::seal(state, &session.user_id, done) {
        Some(sealed) => see_other(&format!("{path}?done={sealed}")),
        None => see_other(path),
    }
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn add_user(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    CsrfForm(form): CsrfForm<NewUserForm>,
) -> PageResult {
    let now = state.now();
    let role = Role::parse(&form.role).unwrap_or(Role::Physician);
    let refused = |message: String| Notice::Error(message);
    let min = [("min", MIN_PASSWORD_CHARS.to_string())];
    match accounts::add_user(&state.store, &form.email, role, &form.password, now).await {
        Ok(_) => {
            let email = accounts::normalize_email(&form.email).unwrap_or_default();
            state
                .store
                .record_audit(now, &session.viewer.email, "user-created", &email)
                .await
                .map_err(internal(language))?;
            Ok(after_change(
                &state,
                &session,
                "/authority/users",
                &UsersDone::Added(email),
            ))
        }
        Err(AccountError::Database(error)) => Err(internal(language)(error)),
        Err(error) => {
            let notice = refused(match error {
                AccountError::InvalidEmail => language.text("users-email-invalid"),
                AccountError::InvalidPassword => language.text_with("users-password-short", &min),
                AccountError::WeakPassword => language.text("users-password-weak"),
                AccountError::AlreadyExists => language.text("users-exists"),
                _ => language.text("error-internal"),
            });
            users_page(
                &state,
                language,
                &session,
                StatusCode::BAD_REQUEST,
                &form.email,
                None,
                Some(&notice),
            )
            .await
        }
    }
}

/// Asks before disabling an account (its sessions end at once).
async fn confirm_disable_user(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Path(id): Path<String>,
) -> PageResult {
    let email = state
        .store
        .user_email(&id)
        .await
        .map_err(internal(language))?;
    let Some(email) = email.filter(|_| id != session.user_id) else {
        return Ok(see_other("/authority/users"));
    };
    let asked = views::Confirmation {
        question: language.text_with("users-disable-question", &[("email", email)]),
        consequence: language.text("users-disable-consequence"),
        action: format!("{BASE}/users/{id}/state"),
        button: language.text("users-disable"),
        cancel: "/authority/users",
        hidden: &[("change", "disable")],
    };
    let frame = frame(language, &session, Section::Users);
    Ok(page(
        StatusCode::OK,
        views::confirmation(&frame, &session.viewer, &asked),
    ))
}

#[derive(Deserialize)]
struct StateForm {
    #[serde(default)]
    change: String,
}

async fn change_user_state(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<StateForm>,
) -> PageResult {
    // An admin cannot lock themselves out by mistake.
    if let Some(change) = StateChange::parse(&form.change)
        && id != session.user_id
    {
        let now = state.now();
        let email = state
            .store
            .user_email(&id)
            .await
            .map_err(internal(language))?;
        if let Some(email) = email
            && accounts::change_state(&state, &id, &email, change, now)
                .await
                .map_err(internal(language))?
        {
            state
                .store
                .record_audit(now, &session.viewer.email, change.audit_action(), &email)
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
    let rows = state.store.api_keys().await.map_err(internal(language))?;
    let frame = frame(language, session, Section::ApiKeys);
    Ok(page(
        status,
        views::api_keys(&frame, &session.viewer, &rows, new_key, notice),
    ))
}

async fn api_keys(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Query(after): Query<AfterChange>,
) -> PageResult {
    // A new key is shown on the page its creation leads to, and on reloads of it, to the
    // admin who created it only (the key is sealed for them in the address).
    let created = shown_code::open::<String>(&state, &session.user_id, &after.done);
    api_keys_page(
        &state,
        language,
        &session,
        StatusCode::OK,
        created.as_deref(),
        None,
    )
    .await
}

#[derive(Deserialize)]
struct NewApiKeyForm {
    #[serde(default)]
    name: String,
}

async fn create_api_key(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    CsrfForm(form): CsrfForm<NewApiKeyForm>,
) -> PageResult {
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
    state
        .store
        .record_audit(now, &session.viewer.email, "api-key-created", name)
        .await
        .map_err(internal(language))?;
    Ok(after_change(&state, &session, "/authority/api-keys", &key))
}

/// Asks before revoking an API key (the laboratory's system stops issuing codes).
async fn confirm_revoke_api_key(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Path(id): Path<String>,
) -> PageResult {
    let keys = state.store.api_keys().await.map_err(internal(language))?;
    let Some(key) = keys.into_iter().find(|key| key.id == id && !key.revoked) else {
        return Ok(see_other("/authority/api-keys"));
    };
    let asked = views::Confirmation {
        question: language.text_with("api-keys-revoke-question", &[("name", key.name)]),
        consequence: language.text("api-keys-revoke-consequence"),
        action: format!("{BASE}/api-keys/{id}/revoke"),
        button: language.text("api-keys-revoke"),
        cancel: "/authority/api-keys",
        hidden: &[],
    };
    let frame = frame(language, &session, Section::ApiKeys);
    Ok(page(
        StatusCode::OK,
        views::confirmation(&frame, &session.viewer, &asked),
    ))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Confirmation>,
) -> PageResult {
    let now = state.now();
    let name = state
        .store
        .revoke_api_key(&id, now)
        .await
        .map_err(internal(language))?;
    if let Some(name) = name {
        state
            .store
            .record_audit(now, &session.viewer.email, "api-key-revoked", &name)
            .await
            .map_err(internal(language))?;
    }
    Ok(see_other("/authority/api-keys"))
}

// ----- passwords: one's own, and reset links (admins) -----

/// What a refused new password is told, in words.
fn password_refusal_text(local: &LocalTime, refusal: &NewPasswordRefusal) -> String {
    let language = local.language;
    match refusal {
        NewPasswordRefusal::WrongCurrent => language.text("password-current-wrong"),
        NewPasswordRefusal::Wait { until } => {
            language.text_with("sign-in-locked", &[("time", local.date_time_text(*until))])
        }
        NewPasswordRefusal::Busy => language.text("sign-in-busy"),
        NewPasswordRefusal::Mismatch => language.text("password-mismatch"),
        NewPasswordRefusal::Rule(PasswordRule::Length) => language.text_with(
            "users-password-short",
            &[("min", MIN_PASSWORD_CHARS.to_string())],
        ),
        NewPasswordRefusal::Rule(PasswordRule::Strength) => language.text("users-password-weak"),
        NewPasswordRefusal::UnknownLink => language.text("reset-link-unknown"),
    }
}

/// The status a refused new password is answered with.
fn password_refusal_status(refusal: &NewPasswordRefusal) -> StatusCode {
    match refusal {
        NewPasswordRefusal::WrongCurrent => StatusCode::UNAUTHORIZED,
        NewPasswordRefusal::Wait { .. } => StatusCode::TOO_MANY_REQUESTS,
        NewPasswordRefusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        NewPasswordRefusal::UnknownLink => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[derive(Deserialize)]
struct AccountQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn account_page(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    Query(query): Query<AccountQuery>,
) -> PageResult {
    let done = match query.done.as_deref() {
        Some("password") => Some("password-changed"),
        Some("second-factor-on") => Some("second-factor-on-done"),
        Some("second-factor-off") => Some("second-factor-off-done"),
        _ => None,
    };
    let notice = done.map(|message| Notice::Success(language.text(message)));
    Ok(account_response(
        &state,
        language,
        &session,
        StatusCode::OK,
        notice.as_ref(),
    ))
}

/// "My account" with `message`.
fn account_response(
    state: &AppState,
    language: Language,
    session: &Session,
    status: StatusCode,
    message: Option<&Notice>,
) -> Response {
    let frame = frame(language, session, Section::Account);
    let second_factor = views::SecondFactorState {
        on: session.has_second_factor,
        required: state.config.require_totp,
    };
    page(
        status,
        views::account(
            &frame,
            &session.viewer,
            message,
            second_factor,
            MIN_PASSWORD_CHARS,
        ),
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

async fn change_password(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    SignedIn { language, session }: SignedIn,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> PageResult {
    let keep = sessions::current_token_hash(&headers);
    let outcome = accounts::change_password(
        &state,
        client,
        &session.user_id,
        &session.viewer.email,
        &form.current_password,
        (&form.new_password, &form.new_password_again),
        keep.as_deref(),
    )
    .await
    .map_err(internal(language))?;
    match outcome {
        Ok(()) => {
            state
                .store
                .record_audit(
                    state.now(),
                    &session.viewer.email,
                    "password-changed",
                    &session.viewer.email,
                )
                .await
                .map_err(internal(language))?;
            Ok(see_other("/authority/account?done=password"))
        }
        Err(refusal) => {
            let local = LocalTime::new(language, state.time_zone.clone());
            let notice = Notice::Error(password_refusal_text(&local, &refusal));
            let mut response = account_response(
                &state,
                language,
                &session,
                password_refusal_status(&refusal),
                Some(&notice),
            );
            if let NewPasswordRefusal::Wait { until } = refusal {
                response = retry_after(response, until - state.now());
            }
            Ok(response)
        }
    }
}

// ----- one's second factor -----

/// The enrolment page for the secret sealed in `sealed` (its QR code, the secret as text,
/// a field for the first code).
fn second_factor_page(
    state: &AppState,
    language: Language,
    session: &Session,
    status: StatusCode,
    sealed: &str,
    message: Option<&Notice>,
) -> Response {
    let Some(secret) = accounts::second_factor_secret(state, &session.user_id, sealed) else {
        return see_other(signed_in::SECOND_FACTOR_SETUP);
    };
    let frame = frame(language, session, Section::Account);
    let setup = views::SecondFactorSetup {
        uri: totp::enrolment_uri(&secret, &language.text("app-name"), &session.viewer.email),
        secret_text: totp::grouped(&totp::base32(&secret)),
        sealed,
        required: state.config.require_totp,
    };
    page(
        status,
        views::second_factor_setup(&frame, &session.viewer, &setup, message),
    )
}

/// A new secret to set up, shown with its QR code. Nothing is stored until its first code
/// is typed: the secret travels sealed in the form.
async fn second_factor_setup(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
) -> PageResult {
    if session.has_second_factor {
        return Ok(see_other("/authority/account"));
    }
    let secret = totp::new_secret().to_vec();
    let Some(sealed) =
        shown_code::seal_for(&state, Purpose::SecondFactor, &session.user_id, &secret)
    else {
        return Err(error_page(
            language,
            Some(&session.viewer),
            StatusCode::INTERNAL_SERVER_ERROR,
            "error-internal",
        ));
    };
    Ok(second_factor_page(
        &state,
        language,
        &session,
        StatusCode::OK,
        &sealed,
        None,
    ))
}

#[derive(Deserialize)]
struct SecondFactorForm {
    /// The secret being set up, sealed for this account.
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

async fn second_factor_on(
    State(state): State<AppState>,
    SignedIn { language, session }: SignedIn,
    CsrfForm(form): CsrfForm<SecondFactorForm>,
) -> PageResult {
    if session.has_second_factor {
        return Ok(see_other("/authority/account"));
    }
    let now = state.now();
    let step = accounts::second_factor_secret(&state, &session.user_id, &form.secret)
        .and_then(|secret| totp::matching_step(&secret, &form.code, now));
    let Some(step) = step else {
        let notice = Notice::Error(language.text("second-factor-wrong"));
        return Ok(second_factor_page(
            &state,
            language,
            &session,
            StatusCode::BAD_REQUEST,
            &form.secret,
            Some(&notice),
        ));
    };
    set_second_factor(&state, language, &session, Some((&form.secret, step))).await
}

/// Turns the account's second factor on (its sealed secret and the step just spent) or
/// off (`None`), audits it, and goes back to the account page that says so.
async fn set_second_factor(
    state: &AppState,
    language: Language,
    session: &Session,
    secret: Option<(&str, i64)>,
) -> PageResult {
    let (sealed, step) = secret.unzip();
    state
        .store
        .set_totp_secret(&session.user_id, sealed, step)
        .await
        .map_err(internal(language))?;
    let action = if secret.is_some() {
        "second-factor-on"
    } else {
        "second-factor-off"
    };
    state
        .store
        .record_audit(
            state.now(),
            &session.viewer.email,
            action,
            &session.viewer.email,
        )
        .await
        .map_err(internal(language))?;
    Ok(see_other(&format!("/authority/account?done={action}")))
}

async fn second_factor_off(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    SignedIn { language, session }: SignedIn,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> PageResult {
    if state.config.require_totp || !session.has_second_factor {
        return Ok(see_other("/authority/account"));
    }
    // A code, not the password: whoever turns it off holds the phone too.
    let outcome = accounts::check_second_factor(
        &state,
        client,
        &session.user_id,
        &session.viewer.email,
        &form.code,
    )
    .await
    .map_err(internal(language))?;
    let refusal = match outcome {
        SecondFactor::Accepted => {
            return set_second_factor(&state, language, &session, None).await;
        }
        SecondFactor::Refused => NewPasswordRefusal::WrongCurrent,
        SecondFactor::Wait { until } => NewPasswordRefusal::Wait { until },
    };
    let notice = Notice::Error(match &refusal {
        NewPasswordRefusal::WrongCurrent => language.text("second-factor-wrong"),
        other => password_refusal_text(&LocalTime::new(language, state.time_zone.clone()), other),
    });
    Ok(account_response(
        &state,
        language,
        &session,
        password_refusal_status(&refusal),
        Some(&notice),
    ))
}

/// Makes a one-time password-reset link for another account and shows it once to the
/// admin, who gives it to its owner by a channel of their choosing (it is never sent
/// from here: the server knows no one's phone or mail server).
async fn make_reset_link(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Confirmation>,
) -> PageResult {
    let email = state
        .store
        .user_email(&id)
        .await
        .map_err(internal(language))?;
    let Some(email) = email.filter(|_| id != session.user_id) else {
        return Ok(see_other("/authority/users"));
    };
    let now = state.now();
    let token = accounts::create_reset_link(&state, &id, now)
        .await
        .map_err(internal(language))?;
    state
        .store
        .record_audit(now, &session.viewer.email, "reset-link-created", &email)
        .await
        .map_err(internal(language))?;
    let link = format!(
        "{}/authority/reset?t={token}",
        state.config.public_url.as_deref().unwrap_or_default()
    );
    let done = UsersDone::ResetLink(email, link, now + accounts::RESET_LINK_SECONDS);
    Ok(after_change(&state, &session, "/authority/users", &done))
}

/// The reset page for `token` (whose account is `email`): its form carries the session's
/// anti-forgery token when someone is signed in in this browser, else a fresh sign-in
/// form token with its cookie.
fn reset_page(
    state: &AppState,
    language: Language,
    signed_in: Option<&SignedIn>,
    status: StatusCode,
    (token, email): (&str, &str),
    message: Option<&Notice>,
) -> Response {
    let frame = Frame {
        language,
        viewer: None,
        section: Section::SignIn,
    };
    let markup =
        |csrf: &str| views::reset_password(&frame, csrf, token, email, message, MIN_PASSWORD_CHARS);
    match signed_in {
        Some(signed_in) => page(status, markup(&signed_in.session.viewer.csrf)),
        None => {
            let (cookie, csrf) = sessions::new_sign_in_form(&state.keys, state.now());
            let mut response = page(status, markup(&csrf));
            response.headers_mut().insert(
                header::SET_COOKIE,
                sessions::set_cookie(SIGN_IN_COOKIE, &cookie, SIGN_IN_FORM_SECONDS),
            );
            response
        }
    }
}

#[derive(Deserialize)]
struct ResetQuery {
    #[serde(default)]
    t: String,
}

async fn reset_form(
    State(state): State<AppState>,
    language: Language,
    signed_in: Option<SignedIn>,
    Query(query): Query<ResetQuery>,
) -> PageResult {
    let email = state
        .store
        .password_reset_email(&sessions::token_hash(&query.t), state.now())
        .await
        .map_err(internal(language))?;
    let Some(email) = email else {
        return Err(error_page(
            language,
            None,
            StatusCode::NOT_FOUND,
            "reset-link-unknown",
        ));
    };
    Ok(reset_page(
        &state,
        language,
        signed_in.as_ref(),
        StatusCode::OK,
        (&query.t, &email),
        None,
    ))
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    t: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

async fn reset_password(
    State(state): State<AppState>,
    language: Language,
    signed_in: Option<SignedIn>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> PageResult {
    let outcome = accounts::reset_password(
        &state,
        &form.t,
        (&form.new_password, &form.new_password_again),
    )
    .await
    .map_err(internal(language))?;
    match outcome {
        Ok(email) => {
            state
                .store
                .record_audit(state.now(), &email, "password-reset", &email)
                .await
                .map_err(internal(language))?;
            // Every session of the account has ended; someone else signed in in this
            // browser (an admin trying the link) stays signed in.
            let same_account = signed_in
                .as_ref()
                .is_some_and(|signed_in| signed_in.session.viewer.email == email);
            if !same_account && signed_in.is_some() {
                return Ok(see_other("/authority/issue"));
            }
            let mut response = see_other("/authority/sign-in?reset=1");
            response.headers_mut().append(
                header::SET_COOKIE,
                sessions::set_cookie(SESSION_COOKIE, "", 0),
            );
            Ok(response)
        }
        Err(NewPasswordRefusal::UnknownLink) => Err(error_page(
            language,
            None,
            StatusCode::NOT_FOUND,
            "reset-link-unknown",
        )),
        Err(refusal) => {
            let email = state
                .store
                .password_reset_email(&sessions::token_hash(&form.t), state.now())
                .await
                .map_err(internal(language))?
                .unwrap_or_default();
            let local = LocalTime::new(language, state.time_zone.clone());
            let notice = Notice::Error(password_refusal_text(&local, &refusal));
            Ok(reset_page(
                &state,
                language,
                signed_in.as_ref(),
                password_refusal_status(&refusal),
                (&form.t, &email),
                Some(&notice),
            ))
        }
    }
}

// ----- audit log (admins) -----

async fn audit_page(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Query(query): Query<views::AuditQuery>,
) -> PageResult {
    let frame = frame(language, &session, Section::Audit);
    let zone = &state.time_zone;
    // A day as chosen in the date picker, in the server's zone; a date that is not one
    // leaves that bound open and says so.
    let mut unreadable = false;
    let mut day_start = |text: &str, days_after: i64| {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let start = crate::clock::parse_date(text).and_then(|date| {
            local_time::start_of_day(zone, date + time::Duration::days(days_after))
        });
        unreadable |= start.is_none();
        start
    };
    let filter = AuditFilter {
        actor: query.actor.trim().to_owned(),
        action: query.action.trim().to_owned(),
        since: day_start(&query.from, 0).unwrap_or(i64::MIN),
        until: day_start(&query.to, 1).unwrap_or(i64::MAX),
    };
    let page_number = query.page.unwrap_or(1).clamp(1, MAX_AUDIT_PAGES);
    let mut rows = state
        .store
        .audit_entries(
            &filter,
            (page_number - 1) * AUDIT_PAGE_SIZE,
            AUDIT_PAGE_SIZE + 1,
        )
        .await
        .map_err(internal(language))?;
    let has_older = rows.len() > usize::try_from(AUDIT_PAGE_SIZE).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(AUDIT_PAGE_SIZE).unwrap_or(usize::MAX));
    let (actors, actions) = state
        .store
        .audit_choices()
        .await
        .map_err(internal(language))?;
    let notice = unreadable.then(|| Notice::Error(language.text("audit-date-invalid")));
    let shown = views::AuditPage {
        rows: &rows,
        query: &query,
        page: page_number,
        has_older,
        actors: &actors,
        actions: &actions,
        message: notice.as_ref(),
    };
    Ok(page(StatusCode::OK, views::audit(&frame, &shown)))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::datastore::DatastoreError;

    /// Collects what the code under test logs, on this thread only.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_while(work: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, work);
        let bytes = captured
            .0
            .lock()
            .map(|bytes| bytes.clone())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A database failure while issuing a sheet of codes was answered with an error page
    /// and nothing in the log.
    #[test]
    fn a_code_not_issued_for_a_database_error_is_logged() {
        let viewer = views::Viewer {
            email: "dr@example.org".into(),
            role: Role::Physician,
            csrf: "token".into(),
            time_zone: jiff::tz::TimeZone::UTC,
        };
        let error = IssueError::Database(DatastoreError::WriterStopped);
        let mut status = StatusCode::OK;
        let log = logged_while(|| {
            status = issue_failed(Language::English, &viewer, error).status();
        });
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(log.contains("ERROR"), "{log}");
        assert!(log.contains("database error while issuing a code"), "{log}");
        assert!(
            log.contains("writer has stopped"),
            "the cause is in the log: {log}"
        );
        assert!(!log.contains("dr@example.org"), "no personal data: {log}");
    }
}
