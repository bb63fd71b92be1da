//! The pages, as maud templates. maud escapes every `(value)` it interpolates; the only
//! unescaped output is SVG that this crate generated itself (QR codes and the chart), marked
//! with `PreEscaped` where it is inserted.

use jiff::tz::TimeZone;
use maud::{Markup, PreEscaped, html};

use super::deep_link::{grouped_for_dictation, report_qr_svg};
use super::statistics::{CHARTS, DaySeries, Statistics, WAIT_BUCKETS};
use crate::clock::format_date;
use crate::codes::MAX_ONSET_AGE_DAYS;
use crate::datastore::codes::{CodeKind, TestType};
use crate::datastore::{ApiKeyRow, AuditRow, CodeStatus, DayCounts, Role, UserRow};
use crate::web::Language;
use crate::web::csrf;
pub(crate) use crate::web::layout::Notice;
use crate::web::layout::{self, Chrome, SignedInUser, notice};
use crate::web::local_time::LocalTime;

/// Where the UI is mounted.
pub(crate) const BASE: &str = "/authority";

impl Role {
    fn message(self) -> &'static str {
        match self {
            Role::Physician => "role-physician",
            Role::Admin => "role-admin",
        }
    }
}

/// The signed-in user, as the pages need them.
#[derive(Clone, Debug)]
pub(crate) struct Viewer {
    pub email: String,
    pub role: Role,
    /// The session's anti-forgery token, put in every form.
    pub csrf: String,
    /// The zone their pages write times in before their browser's script puts them in
    /// its own: the server's `time_zone`.
    pub time_zone: TimeZone,
}

/// The menu entries; the current one is marked for screen readers and the eye.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    SignIn,
    /// The second step of a sign-in (its code), which the language switch comes back to.
    SecondStep,
    Issue,
    Codes,
    Statistics,
    Users,
    ApiKeys,
    Audit,
    Config,
    Account,
}

impl Section {
    fn path(self) -> &'static str {
        match self {
            Section::SignIn => "/authority/sign-in",
            Section::SecondStep => "/authority/sign-in/code",
            Section::Issue => "/authority/issue",
            Section::Codes => "/authority/codes",
            Section::Statistics => "/authority/statistics",
            Section::Users => "/authority/users",
            Section::ApiKeys => "/authority/api-keys",
            Section::Audit => "/authority/audit",
            Section::Config => "/authority/config",
            Section::Account => "/authority/account",
        }
    }
}

/// What every page shares.
pub(crate) struct Frame<'a> {
    pub language: Language,
    pub viewer: Option<&'a Viewer>,
    pub section: Section,
}

impl Frame<'_> {
    /// How this page writes times: in its language, in the viewer's zone (UTC for pages
    /// before sign-in, which show none).
    pub(crate) fn local_time(&self) -> LocalTime {
        let zone = self
            .viewer
            .map_or(TimeZone::UTC, |viewer| viewer.time_zone.clone());
        LocalTime::new(self.language, zone)
    }
}

/// The short reference of a code, from its id: `3F9A-C21B`. Printed on the patient's slip
/// and listed in "My codes", so that a physician can tell which code a patient holds
/// without the digits, which are never shown again. The id is random, so is this.
pub(crate) fn code_reference(id: &str) -> String {
    let hex: String = id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    match hex.split_at_checked(4) {
        Some((first, second)) => format!("{first}-{second}"),
        None => hex,
    }
}

/// A table that scrolls sideways inside its own box on a narrow screen instead of
/// widening the page; keyboard users can focus the box to scroll it.
pub(crate) fn scrolling_table(label: &str, table: Markup) -> Markup {
    html! {
        div class="table-scroll" role="region" aria-label=(label) tabindex="0" { (table) }
    }
}

fn csrf_field(viewer: &Viewer) -> Markup {
    csrf::hidden_field(&viewer.csrf)
}

/// The page around every screen: the site's layout with the menu of this UI.
pub(crate) fn layout(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let t = |id: &str| frame.language.text(id);
    let menu_entries: &[(Section, &str, &str, bool)] = &[
        (Section::Issue, "/issue", "nav-issue", false),
        (Section::Codes, "/codes", "nav-codes", false),
        (Section::Statistics, "/statistics", "nav-statistics", false),
        (Section::Users, "/users", "nav-users", true),
        (Section::ApiKeys, "/api-keys", "nav-api-keys", true),
        (Section::Audit, "/audit", "nav-audit", true),
        (Section::Config, "/config", "nav-config", true),
        (Section::Account, "/account", "nav-account", false),
    ];
    let menu = frame.viewer.map(|viewer| {
        html! {
            nav class="menu" aria-label=(t("nav-label")) {
                ul {
                    @for (section, path, label, admin_only) in menu_entries {
                        @if !admin_only || viewer.role == Role::Admin {
                            li {
                                a href={ (BASE) (path) }
                                  aria-current=[(*section == frame.section).then_some("page")] {
                                    (t(label))
                                }
                            }
                        }
                    }
                }
            }
        }
    });
    // Where times are shown, once per page: the script puts the browser's zone here when
    // it rewrites the times.
    let body = html! {
        (body)
        @if frame.viewer.is_some() {
            p class="time-zone-note" {
                (t("time-zone-note")) " "
                span data-time-zone { (frame.local_time().zone_name()) }
            }
        }
    };
    let chrome = Chrome {
        language: frame.language,
        stylesheet: Some("authority.css"),
        script: Some("authority.js"),
        home: Some("/authority/"),
        tagline: Some("app-tagline"),
        here: frame.section.path(),
        user: frame.viewer.map(|viewer| SignedInUser {
            email: &viewer.email,
            csrf: &viewer.csrf,
            sign_out: "/authority/sign-out",
        }),
        menu,
    };
    layout::page(&chrome, title, body)
}

/// The sign-in form. `csrf` is the pre-session anti-forgery token.
pub(crate) fn sign_in(
    frame: &Frame<'_>,
    csrf: &str,
    email: &str,
    message: Option<&Notice>,
) -> Markup {
    let t = |id: &str| frame.language.text(id);
    let title = t("sign-in-title");
    layout(
        frame,
        &title,
        html! {
            div class="card narrow" {
                h1 { (title) }
                p class="intro" { (t("sign-in-intro")) }
                @if let Some(message) = message { (notice(message)) }
                form method="post" action={ (BASE) "/sign-in" } {
                    (csrf::hidden_field(csrf))
                    label for="email" { (t("email-label")) }
                    input id="email" type="email" name="email" value=(email)
                        autocomplete="username" required autofocus;
                    label for="password" { (t("password-label")) }
                    input id="password" type="password" name="password"
                        autocomplete="current-password" required;
                    div { button type="submit" { (t("sign-in-button")) } }
                }
            }
        },
    )
}

/// A freshly issued code, shown once.
pub(crate) struct IssuedCode {
    pub id: String,
    pub code: String,
    pub kind: CodeKind,
    pub expires_at: i64,
    /// What the code's QR code opens (see [`super::deep_link::patient_link`]).
    pub link: String,
}

fn code_block(frame: &Frame<'_>, code: &IssuedCode, now: i64, big: bool) -> Markup {
    let language = frame.language;
    let local = frame.local_time();
    let t = |id: &str| language.text(id);
    let qr = if code.kind == CodeKind::Patient {
        report_qr_svg(&code.link).unwrap_or_default()
    } else {
        String::new()
    };
    html! {
        div class="code-digits" data-code=(code.code) aria-label=(code.code) {
            (grouped_for_dictation(&code.code))
        }
        p class="code-meta code-reference" {
            (t("code-reference")) " " strong class="mono" { (code_reference(&code.id)) }
        }
        p class="code-meta code-expiry" {
            (t("issue-valid-until")) " " (local.date_time(code.expires_at))
        }
        p class="code-meta code-countdown" {
            (t("issue-time-left")) " " (local.countdown(now, code.expires_at))
        }
        @if big {
            p class="code-meta" { (t("issue-dictate-hint")) }
        }
        @if code.kind == CodeKind::VenueWarning {
            p class="code-meta code-kind" { (t("issue-venue-warning-result")) }
        } @else {
            figure class="code-qr" role="img" aria-label=(t("issue-qr-caption")) title=(code.link) {
                (PreEscaped(qr))
            }
        }
    }
}

/// What the issue form holds: what the physician chose or typed, shown again with the
/// error when it is refused.
pub(crate) struct IssueFields<'a> {
    pub test_type: TestType,
    pub symptom_date: &'a str,
    pub test_date: &'a str,
    /// The field an error is about (`symptom-date` or `test-date`).
    pub invalid: Option<&'static str>,
}

impl IssueFields<'_> {
    /// An empty form: a confirmed test, no date.
    pub(crate) fn empty() -> IssueFields<'static> {
        IssueFields {
            test_type: TestType::ConfirmedTest,
            symptom_date: "",
            test_date: "",
            invalid: None,
        }
    }
}

fn test_type_message(test_type: TestType) -> &'static str {
    match test_type {
        TestType::ConfirmedTest => "test-type-confirmed",
        TestType::ClinicalDiagnosis => "test-type-clinical",
    }
}

/// The issue page: the form, and the code just issued if any.
pub(crate) fn issue(
    frame: &Frame<'_>,
    viewer: &Viewer,
    issued: Option<&IssuedCode>,
    fields: &IssueFields<'_>,
    message: Option<&Notice>,
    batch_max: u32,
    now: i64,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("issue-title");
    let today = frame.local_time().today(now);
    let earliest = today - time::Duration::days(MAX_ONSET_AGE_DAYS);
    let (min, max) = (format_date(earliest), format_date(today));
    let invalid = |field: &str| (fields.invalid == Some(field)).then_some("true");
    layout(
        frame,
        &title,
        html! {
            @if let Some(code) = issued {
                section class="card code-result" aria-labelledby="result-title" {
                    h1 id="result-title" { (t("issue-result-title")) }
                    (code_block(frame, code, now, true))
                    @if code.kind == CodeKind::Patient {
                        p class="code-meta" { (t("issue-qr-caption")) }
                    }
                    button class="secondary no-print" type="button" data-copy=(code.code)
                        data-copied=(t("issue-copied")) hidden { (t("issue-copy")) }
                    " "
                    a class="button no-print" href={ (BASE) "/issue" } { (t("issue-another")) }
                }
            } @else {
                h1 { (title) }
                p class="intro" { (t("issue-intro")) }
                @if let Some(message) = message { (notice(message)) }
                form class="card" method="post" action={ (BASE) "/issue" } novalidate {
                    (csrf_field(viewer))
                    fieldset class="choices" {
                        legend { (t("test-type-label")) }
                        @for test_type in [TestType::ConfirmedTest, TestType::ClinicalDiagnosis] {
                            label class="choice" {
                                input type="radio" name="test_type" value=(test_type.as_str())
                                    checked[fields.test_type == test_type];
                                " " (t(test_type_message(test_type)))
                            }
                        }
                    }
                    p class="hint" id="dates-hint" {
                        (language.text_with("issue-dates-hint", &[
                            ("earliest", frame.local_time().date_text(earliest)),
                            ("today", frame.local_time().date_text(today)),
                        ]))
                    }
                    div class="field-row" {
                        div class="field" {
                            label for="symptom-date" { (t("symptom-date-label")) }
                            input id="symptom-date" type="date" name="symptom_date" value=(fields.symptom_date)
                                min=(min) max=(max) aria-describedby="dates-hint"
                                aria-invalid=[invalid("symptom-date")];
                        }
                        div class="field" {
                            label for="test-date" { (t("test-date-label")) }
                            input id="test-date" type="date" name="test_date" value=(fields.test_date)
                                min=(min) max=(max) aria-describedby="dates-hint"
                                aria-invalid=[invalid("test-date")];
                        }
                    }
                    div { button class="big" type="submit" { (t("issue-button")) } }
                }
                h2 { (t("venue-warning-title")) }
                form class="card" method="post" action={ (BASE) "/issue" } {
                    (csrf_field(viewer))
                    input type="hidden" name="kind" value=(CodeKind::VenueWarning.as_str());
                    p class="hint" { (t("venue-warning-intro")) }
                    div { button class="secondary" type="submit" { (t("venue-warning-button")) } }
                }
                h2 { (t("batch-title")) }
                form class="card" method="post" action={ (BASE) "/issue/sheet" } {
                    (csrf_field(viewer))
                    label for="count" { (language.text_with("batch-count-label", &[("max", batch_max.to_string())])) }
                    input id="count" type="number" name="count" min="1" max=(batch_max) value="10" required;
                    div { button class="secondary" type="submit" { (t("batch-button")) } }
                }
            }
        },
    )
}

/// A printable sheet of codes for a test centre.
pub(crate) fn sheet(
    frame: &Frame<'_>,
    viewer: &Viewer,
    codes: &[IssuedCode],
    issued_at: i64,
    now: i64,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("batch-sheet-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" {
                (language.text_with("batch-issued", &[
                    ("time", frame.local_time().date_time_text(issued_at)),
                    ("email", viewer.email.clone()),
                ]))
            }
            p class="no-print" { button type="button" data-print { (t("batch-print")) } }
            div class="sheet" {
                @for code in codes {
                    div class="sheet-code" {
                        div { (code_block(frame, code, now, false)) }
                    }
                }
            }
        },
    )
}

/// The message id of a code's status in the page's language.
fn status_message(status: CodeStatus) -> &'static str {
    match status {
        CodeStatus::Unused => "code-status-unused",
        CodeStatus::Used => "code-status-used",
        CodeStatus::Expired => "code-status-expired",
    }
}

/// The CSS classes of a code's status badge.
fn status_class(status: CodeStatus) -> &'static str {
    match status {
        CodeStatus::Unused => "status status-unused",
        CodeStatus::Used => "status status-used",
        CodeStatus::Expired => "status status-expired",
    }
}

/// One line of "my codes". The code itself is never stored in clear, so never shown again.
pub(crate) struct CodeRow {
    pub id: String,
    pub kind: CodeKind,
    /// Issue time, kept to the hour.
    pub issued_hour: i64,
    pub expires_at: i64,
    /// Redemption time, kept to the hour.
    pub used_hour: Option<i64>,
    pub status: CodeStatus,
}

pub(crate) fn codes(
    frame: &Frame<'_>,
    rows: &[CodeRow],
    message: Option<&Notice>,
    now: i64,
) -> Markup {
    let language = frame.language;
    let local = frame.local_time();
    let t = |id: &str| language.text(id);
    let title = t("codes-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (t("codes-intro")) }
            @if let Some(message) = message { (notice(message)) }
            @if rows.is_empty() {
                p { (t("codes-empty")) }
            } @else {
                (scrolling_table(&title, html! {
                    table id="codes" class="stacked" {
                        thead { tr {
                            th scope="col" { (t("code-reference-column")) }
                            th scope="col" { (t("codes-issued-at")) }
                            th scope="col" { (t("codes-status")) }
                            th scope="col" { (t("codes-expires")) }
                            th scope="col" { (t("codes-used-at")) }
                            th scope="col" { (t("codes-action")) }
                        } }
                        tbody {
                            @for row in rows {
                                @let reference = code_reference(&row.id);
                                tr data-code-id=(row.id) {
                                    th scope="row" class="mono" {
                                        (reference)
                                        @if row.kind == CodeKind::VenueWarning {
                                            " " span class="code-kind" { (t("codes-kind-venue-warning")) }
                                        }
                                    }
                                    td data-label=(t("codes-issued-at")) { (local.hour(row.issued_hour)) }
                                    td data-label=(t("codes-status")) { span class=(status_class(row.status)) { (t(status_message(row.status))) } }
                                    td data-label=(t("codes-expires")) {
                                        (local.date_time(row.expires_at))
                                        @if row.status == CodeStatus::Unused {
                                            br;
                                            span class="hint" { (t("issue-time-left")) " " (local.countdown(now, row.expires_at)) }
                                        }
                                    }
                                    td data-label=(t("codes-used-at")) { @if let Some(hour) = row.used_hour { (local.hour(hour)) } }
                                    td {
                                        @if row.status == CodeStatus::Unused {
                                            a class="button small danger" href={ (BASE) "/codes/" (row.id) "/expire" }
                                                aria-label=(language.text_with("codes-expire-label", &[("reference", reference.clone())])) {
                                                (t("codes-expire-button"))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }))
            }
        },
    )
}

/// A small bar chart of one series over the days: bars only, in an SVG that stretches
/// to any width; its name, total and busiest day are text beside it, so that they stay
/// readable at 390 px, and every figure is in the table below.
fn bar_chart(
    local: &LocalTime,
    zone: &TimeZone,
    days: &[DayCounts],
    message: &str,
    value: DaySeries,
) -> Markup {
    let language = local.language;
    let values: Vec<u64> = days.iter().map(value).collect();
    let total: u64 = values.iter().sum();
    let most = values.iter().copied().max().unwrap_or(0);
    // Each bar 8 units wide in a 10-unit slot, 40 units for the busiest day.
    let height = 40u64;
    let width = values.len() * 10;
    let id = format!("chart-{message}");
    html! {
        figure class="bar-chart" aria-labelledby=(id) {
            figcaption id=(id) {
                strong { (language.text(message)) }
                " "
                span class="hint" {
                    (language.text_with("statistics-chart-summary", &[
                        ("count", total.to_string()),
                        ("max", most.to_string()),
                    ]))
                }
            }
            svg viewBox={ "0 0 " (width) " " (height) } preserveAspectRatio="none"
                aria-hidden="true" focusable="false" {
                line class="baseline" x1="0" y1=(height) x2=(width) y2=(height) {}
                @for (index, number) in values.iter().enumerate() {
                    @let bar = if most == 0 { 0 } else { (number * height).div_ceil(most) };
                    rect x=(index * 10 + 1) y=(height - bar) width="8" height=(bar) {}
                }
            }
            @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                div class="chart-axis" aria-hidden="true" {
                    span { (local.date_text(super::statistics::day_date(zone, first))) }
                    span { (local.date_text(super::statistics::day_date(zone, last))) }
                }
            }
        }
    }
}

pub(crate) fn statistics(frame: &Frame<'_>, shown: &Statistics) -> Markup {
    let language = frame.language;
    let local = frame.local_time();
    let zone = local.zone.clone();
    let t = |id: &str| language.text(id);
    let title = t("statistics-title");
    let days = &shown.days;
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (language.text_with("statistics-intro", &[("days", days.len().to_string())])) }
            div class="charts" {
                @for (message, value) in CHARTS {
                    (bar_chart(&local, &zone, days, message, value))
                }
            }
            p { a class="button secondary" href={ (BASE) "/statistics.csv" } download { (t("statistics-download")) } }
            h2 id="per-day" { (t("statistics-per-day")) }
            (scrolling_table(&t("statistics-per-day"), html! {
                table id="statistics" {
                    thead { tr {
                        th scope="col" { (t("statistics-day")) }
                        th scope="col" class="number" { (t("statistics-codes-issued")) }
                        th scope="col" class="number" { (t("statistics-codes-used")) }
                        th scope="col" class="number" { (t("statistics-uploads")) }
                        th scope="col" class="number" { (t("statistics-next-day-uploads")) }
                        th scope="col" class="number" { (t("statistics-check-in-uploads")) }
                        th scope="col" class="number" { (t("statistics-keys-published")) }
                        th scope="col" class="number" { (t("statistics-venue-warnings")) }
                    } }
                    tbody {
                        @for day in days.iter().rev() {
                            tr {
                                th scope="row" { (local.date(super::statistics::day_date(&zone, day))) }
                                td class="number" { (day.codes_issued) }
                                td class="number" { (day.codes_used) }
                                td class="number" { (day.uploads) }
                                td class="number" { (day.next_day_uploads) }
                                td class="number" { (day.check_in_uploads) }
                                td class="number" { (day.keys_published) }
                                td class="number" { (day.venue_warnings) }
                            }
                        }
                    }
                }
            }))
            h2 id="waits" { (t("statistics-waits-title")) }
            p class="hint" { (t("statistics-waits-intro")) }
            table id="statistics-waits" {
                thead { tr {
                    th scope="col" { (t("statistics-wait")) }
                    th scope="col" class="number" { (t("statistics-codes-used")) }
                } }
                tbody {
                    @for ((_, message), count) in WAIT_BUCKETS.iter().zip(shown.waits) {
                        tr {
                            th scope="row" { (t(message)) }
                            td class="number" { (count) }
                        }
                    }
                }
            }
            h2 id="issuers" { (t("statistics-issuers-title")) }
            @if shown.issuers.is_empty() {
                p { (t("statistics-issuers-empty")) }
            } @else {
                (scrolling_table(&t("statistics-issuers-title"), html! {
                    table id="statistics-issuers" {
                        thead { tr {
                            th scope="col" { (t("statistics-issuer")) }
                            th scope="col" class="number" { (t("statistics-codes-issued")) }
                            th scope="col" class="number" { (t("statistics-codes-used")) }
                            th scope="col" class="number" { (t("statistics-share-used")) }
                        } }
                        tbody {
                            @for line in &shown.issuers {
                                tr {
                                    th scope="row" class="wrap" { (line.name) }
                                    td class="number" { (line.counts.codes_issued) }
                                    td class="number" { (line.counts.codes_used) }
                                    td class="number" {
                                        @if line.counts.codes_issued > 0 {
                                            (line.counts.codes_used * 100 / line.counts.codes_issued) " %"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }))
            }
        },
    )
}

/// A password-reset link just made, shown once to the admin who made it.
pub(crate) struct ResetLink<'a> {
    pub email: &'a str,
    pub link: &'a str,
    /// Until when it works.
    pub expires_at: i64,
}

pub(crate) fn users(
    frame: &Frame<'_>,
    viewer: &Viewer,
    rows: &[UserRow],
    form_email: &str,
    message: Option<&Notice>,
    reset_link: Option<&ResetLink<'_>>,
    min_password: usize,
) -> Markup {
    let language = frame.language;
    let local = frame.local_time();
    let t = |id: &str| language.text(id);
    let title = t("users-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            @if let Some(message) = message { (notice(message)) }
            @if let Some(reset) = reset_link {
                div class="notice success" role="status" {
                    p { (language.text_with("users-reset-link-made", &[("email", reset.email.to_owned())])) }
                    p class="mono wrap" id="reset-link" { (reset.link) }
                    p { (t("users-reset-link-until")) " " (local.date_time(reset.expires_at)) }
                    button class="secondary" type="button" data-copy=(reset.link)
                        data-copied=(t("issue-copied")) hidden { (t("users-reset-link-copy")) }
                }
            }
            (scrolling_table(&title, html! {
                table id="users" class="stacked" {
                    thead { tr {
                        th scope="col" { (t("users-email")) }
                        th scope="col" { (t("users-role")) }
                        th scope="col" { (t("users-created")) }
                        th scope="col" { (t("users-state")) }
                        th scope="col" { (t("users-action")) }
                    } }
                    tbody {
                        @for row in rows {
                            tr {
                                th scope="row" class="wrap" { (row.email) }
                                td data-label=(t("users-role")) { (t(row.role.message())) }
                                td data-label=(t("users-created")) { (local.date_time(row.created_at)) }
                                td data-label=(t("users-state")) {
                                    @if row.disabled {
                                        (t("user-state-disabled"))
                                    } @else if let Some(until) = row.locked_until {
                                        (t("user-state-locked")) " " (local.date_time(until))
                                    } @else {
                                        (t("user-state-active"))
                                    }
                                }
                                td {
                                    @if row.email != viewer.email {
                                        div class="actions-cell" {
                                            @if row.disabled {
                                                form class="inline" method="post" action={ (BASE) "/users/" (row.id) "/state" } {
                                                    (csrf_field(viewer))
                                                    button class="small secondary" name="change" value="enable" type="submit" { (t("users-enable")) }
                                                }
                                            } @else {
                                                a class="button small danger" href={ (BASE) "/users/" (row.id) "/disable" }
                                                    aria-label=(language.text_with("users-disable-label", &[("email", row.email.clone())])) {
                                                    (t("users-disable"))
                                                }
                                            }
                                            @if row.locked_until.is_some() {
                                                form class="inline" method="post" action={ (BASE) "/users/" (row.id) "/state" } {
                                                    (csrf_field(viewer))
                                                    button class="small secondary" name="change" value="unlock" type="submit" { (t("users-unlock")) }
                                                }
                                            }
                                            @if !row.disabled {
                                                form class="inline" method="post" action={ (BASE) "/users/" (row.id) "/reset-link" } {
                                                    (csrf_field(viewer))
                                                    button class="small secondary" type="submit"
                                                        aria-label=(language.text_with("users-reset-link-label", &[("email", row.email.clone())])) {
                                                        (t("users-reset-link"))
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }))
            h2 { (t("users-add-title")) }
            form class="card" method="post" action={ (BASE) "/users" } {
                (csrf_field(viewer))
                label for="new-email" { (t("users-email")) }
                input id="new-email" type="email" name="email" value=(form_email) autocomplete="off" required;
                label for="new-role" { (t("users-role")) }
                select id="new-role" name="role" {
                    option value="physician" selected { (t("role-physician")) }
                    option value="admin" { (t("role-admin")) }
                }
                label for="new-password" { (language.text_with("users-password-label", &[("min", min_password.to_string())])) }
                input id="new-password" type="password" name="password" autocomplete="new-password"
                    minlength=(min_password) required;
                div { button type="submit" { (t("users-add-button")) } }
            }
        },
    )
}

pub(crate) fn api_keys(
    frame: &Frame<'_>,
    viewer: &Viewer,
    rows: &[ApiKeyRow],
    new_key: Option<&str>,
    message: Option<&Notice>,
) -> Markup {
    let language = frame.language;
    let local = frame.local_time();
    let t = |id: &str| language.text(id);
    let title = t("api-keys-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (t("api-keys-intro")) }
            @if let Some(message) = message { (notice(message)) }
            @if let Some(key) = new_key {
                div class="notice success" role="status" {
                    p { (t("api-keys-created-once")) }
                    p class="mono wrap" id="new-api-key" { (key) }
                    button class="secondary" type="button" data-copy=(key)
                        data-copied=(t("issue-copied")) hidden { (t("api-keys-copy")) }
                }
            }
            @if rows.is_empty() {
                p { (t("api-keys-empty")) }
            } @else {
                (scrolling_table(&title, html! {
                    table id="api-keys" class="stacked" {
                        thead { tr {
                            th scope="col" { (t("api-keys-name")) }
                            th scope="col" { (t("api-keys-created")) }
                            th scope="col" { (t("api-keys-state")) }
                            th scope="col" { (t("users-action")) }
                        } }
                        tbody {
                            @for row in rows {
                                tr {
                                    th scope="row" class="wrap" { (row.name) }
                                    td data-label=(t("api-keys-created")) { (local.date_time(row.created_at)) }
                                    td data-label=(t("api-keys-state")) { (t(if row.revoked { "api-keys-revoked" } else { "api-keys-active" })) }
                                    td {
                                        @if !row.revoked {
                                            a class="button small danger" href={ (BASE) "/api-keys/" (row.id) "/revoke" }
                                                aria-label=(language.text_with("api-keys-revoke-label", &[("name", row.name.clone())])) {
                                                (t("api-keys-revoke"))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }))
            }
            form class="card" method="post" action={ (BASE) "/api-keys" } {
                (csrf_field(viewer))
                label for="key-name" { (t("api-keys-name")) }
                input id="key-name" type="text" name="name" maxlength="100" required;
                div { button type="submit" { (t("api-keys-add-button")) } }
            }
        },
    )
}

/// The audit log's filters as chosen (and typed: dates stay as written), and where in
/// the results the page is.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    /// `YYYY-MM-DD`, from the date picker.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// 1 for the newest entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
}

impl AuditQuery {
    /// The address of page `page` of the same filters.
    fn page_link(&self, page: i64) -> String {
        let query = AuditQuery {
            page: Some(page),
            ..self.clone()
        };
        format!(
            "{BASE}/audit?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    }
}

/// One page of the audit log.
pub(crate) struct AuditPage<'a> {
    pub rows: &'a [AuditRow],
    pub query: &'a AuditQuery,
    pub page: i64,
    pub has_older: bool,
    /// Everyone in the log, every action in it: the filters' choices.
    pub actors: &'a [String],
    pub actions: &'a [String],
    pub message: Option<&'a Notice>,
}

/// What an entry was done to, in words: a code by its reference (never its id), a sheet
/// by its number of codes; emails, key names and versions as they are.
fn audit_target(language: Language, row: &AuditRow) -> String {
    match row.action.as_str() {
        "code-issued" | "code-expired" | "venue-warning-code-issued" => language.text_with(
            "audit-target-code",
            &[("reference", code_reference(&row.target))],
        ),
        "codes-issued-batch" => {
            language.text_with("audit-target-codes", &[("count", row.target.clone())])
        }
        _ => row.target.clone(),
    }
}

pub(crate) fn audit(frame: &Frame<'_>, shown: &AuditPage<'_>) -> Markup {
    let language = frame.language;
    let local = frame.local_time();
    let t = |id: &str| language.text(id);
    let action_text = |action: &str| t(&format!("audit-action-{action}"));
    let title = t("audit-title");
    let query = shown.query;
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (t("audit-intro")) }
            @if let Some(message) = shown.message { (notice(message)) }
            form class="card filters" method="get" action={ (BASE) "/audit" } {
                div class="field-row" {
                    div class="field" {
                        label for="audit-actor" { (t("audit-actor")) }
                        select id="audit-actor" name="actor" {
                            option value="" { (t("audit-everyone")) }
                            @for actor in shown.actors {
                                option value=(actor) selected[*actor == query.actor] { (actor) }
                            }
                        }
                    }
                    div class="field" {
                        label for="audit-action" { (t("audit-action")) }
                        select id="audit-action" name="action" {
                            option value="" { (t("audit-every-action")) }
                            @for action in shown.actions {
                                option value=(action) selected[*action == query.action] { (action_text(action)) }
                            }
                        }
                    }
                    div class="field" {
                        label for="audit-from" { (t("audit-from")) }
                        input id="audit-from" type="date" name="from" value=(query.from);
                    }
                    div class="field" {
                        label for="audit-to" { (t("audit-to")) }
                        input id="audit-to" type="date" name="to" value=(query.to);
                    }
                }
                div { button type="submit" { (t("audit-filter")) } " " a class="button secondary" href={ (BASE) "/audit" } { (t("audit-clear")) } }
            }
            @if shown.rows.is_empty() {
                p { (t("audit-empty")) }
            } @else {
                (scrolling_table(&title, html! {
                    table id="audit" class="stacked" {
                        thead { tr {
                            th scope="col" { (t("audit-time")) }
                            th scope="col" { (t("audit-actor")) }
                            th scope="col" { (t("audit-action")) }
                            th scope="col" { (t("audit-target")) }
                        } }
                        tbody {
                            @for row in shown.rows {
                                tr {
                                    td data-label=(t("audit-time")) { (local.date_time(row.at)) }
                                    td class="wrap" data-label=(t("audit-actor")) { (row.actor) }
                                    td data-label=(t("audit-action")) { (action_text(&row.action)) }
                                    td class="wrap" data-label=(t("audit-target")) { (audit_target(language, row)) }
                                }
                            }
                        }
                    }
                }))
            }
            nav class="pages" aria-label=(t("audit-pages")) {
                @if shown.page > 1 {
                    a rel="prev" href=(query.page_link(shown.page - 1)) { (t("audit-newer")) }
                }
                span { (language.text_with("audit-page", &[("page", shown.page.to_string())])) }
                @if shown.has_older {
                    a rel="next" href=(query.page_link(shown.page + 1)) { (t("audit-older")) }
                }
            }
        },
    )
}

/// What a confirmation page asks before a change that cannot be undone from where it is
/// made (expire a code, revoke a key, disable an account): it works without a script, and
/// a reload of it changes nothing.
pub(crate) struct Confirmation<'a> {
    /// The question, as the page's title.
    pub question: String,
    /// What happens, in a sentence.
    pub consequence: String,
    /// Where the form posts.
    pub action: String,
    pub button: String,
    /// Where "Cancel" leads back to.
    pub cancel: &'a str,
    /// Fields the form posts besides its anti-forgery token (name, value).
    pub hidden: &'a [(&'a str, &'a str)],
}

pub(crate) fn confirmation(frame: &Frame<'_>, viewer: &Viewer, asked: &Confirmation<'_>) -> Markup {
    let t = |id: &str| frame.language.text(id);
    layout(
        frame,
        &asked.question,
        html! {
            div class="card narrow" {
                h1 { (asked.question) }
                p { (asked.consequence) }
                form method="post" action=(asked.action) {
                    (csrf_field(viewer))
                    @for (name, value) in asked.hidden {
                        input type="hidden" name=(name) value=(value);
                    }
                    button class="danger" type="submit" { (asked.button) }
                    " "
                    a class="button secondary" href=(asked.cancel) { (t("confirm-cancel")) }
                }
            }
        },
    )
}

/// The three fields of a new password, the same on the account page and the reset page.
fn new_password_fields(language: Language, min_password: usize) -> Markup {
    let t = |id: &str| language.text(id);
    html! {
        label for="new-password" { (language.text_with("password-new-label", &[("min", min_password.to_string())])) }
        span class="hint" id="new-password-hint" { (t("password-new-hint")) }
        input id="new-password" type="password" name="new_password" autocomplete="new-password"
            minlength=(min_password) aria-describedby="new-password-hint" required;
        label for="new-password-again" { (t("password-again-label")) }
        input id="new-password-again" type="password" name="new_password_again"
            autocomplete="new-password" minlength=(min_password) required;
    }
}

/// Where an account stands with its second factor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SecondFactorState {
    pub on: bool,
    /// `require_totp`: it cannot be turned off.
    pub required: bool,
}

/// "My account": change one's password, set up or turn off the second factor.
pub(crate) fn account(
    frame: &Frame<'_>,
    viewer: &Viewer,
    message: Option<&Notice>,
    second_factor: SecondFactorState,
    min_password: usize,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("account-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (language.text_with("account-intro", &[("email", viewer.email.clone())])) }
            @if let Some(message) = message { (notice(message)) }
            h2 { (t("password-change-title")) }
            form class="card" method="post" action={ (BASE) "/account/password" } {
                (csrf_field(viewer))
                input type="text" name="username" value=(viewer.email) autocomplete="username" hidden;
                label for="current-password" { (t("password-current-label")) }
                input id="current-password" type="password" name="current_password"
                    autocomplete="current-password" required;
                (new_password_fields(language, min_password))
                p class="hint" { (t("password-change-sessions")) }
                div { button type="submit" { (t("password-change-button")) } }
            }
            h2 { (t("second-factor-title")) }
            div class="card" {
                @if second_factor.on {
                    p id="second-factor-state" { (t("second-factor-is-on")) }
                    @if !second_factor.required {
                        form method="post" action={ (BASE) "/account/second-factor/off" } {
                            (csrf_field(viewer))
                            label for="off-code" { (t("second-factor-off-label")) }
                            input id="off-code" type="text" name="code" inputmode="numeric"
                                autocomplete="one-time-code" maxlength="7" required;
                            div { button class="danger" type="submit" { (t("second-factor-off-button")) } }
                        }
                    }
                } @else {
                    p id="second-factor-state" { (t("second-factor-is-off")) }
                    a class="button" href={ (BASE) "/account/second-factor" } { (t("second-factor-set-up")) }
                }
            }
        },
    )
}

/// The enrolment of a second factor: what the authenticator app needs.
pub(crate) struct SecondFactorSetup<'a> {
    /// The `otpauth://` address in the QR code.
    pub uri: String,
    /// The secret in base32 groups, to type by hand.
    pub secret_text: String,
    /// The secret sealed for the account, carried by the form.
    pub sealed: &'a str,
    /// Whether the account must have one to go on (`require_totp`).
    pub required: bool,
}

pub(crate) fn second_factor_setup(
    frame: &Frame<'_>,
    viewer: &Viewer,
    setup: &SecondFactorSetup<'_>,
    message: Option<&Notice>,
) -> Markup {
    let t = |id: &str| frame.language.text(id);
    let title = t("second-factor-setup-title");
    let qr = report_qr_svg(&setup.uri).unwrap_or_default();
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            @if setup.required { (notice(&Notice::Info(t("second-factor-required")))) }
            @if let Some(message) = message { (notice(message)) }
            ol class="card steps" {
                li {
                    p { (t("second-factor-step-scan")) }
                    figure class="code-qr" role="img" aria-label=(t("second-factor-qr-label")) {
                        (PreEscaped(qr))
                    }
                    p { (t("second-factor-step-type")) }
                    p class="mono secret" id="second-factor-secret" { (setup.secret_text) }
                }
                li {
                    form method="post" action={ (BASE) "/account/second-factor" } {
                        (csrf_field(viewer))
                        input type="hidden" name="secret" value=(setup.sealed);
                        label for="setup-code" { (t("second-factor-step-confirm")) }
                        input id="setup-code" type="text" name="code" inputmode="numeric"
                            autocomplete="one-time-code" maxlength="7" required;
                        div { button type="submit" { (t("second-factor-confirm-button")) } }
                    }
                }
            }
        },
    )
}

/// The second step of a sign-in with a second factor: the app's code.
pub(crate) fn sign_in_code(frame: &Frame<'_>, csrf: &str, message: Option<&Notice>) -> Markup {
    let t = |id: &str| frame.language.text(id);
    let title = t("second-factor-sign-in-title");
    layout(
        frame,
        &title,
        html! {
            div class="card narrow" {
                h1 { (title) }
                p class="intro" { (t("second-factor-sign-in-intro")) }
                @if let Some(message) = message { (notice(message)) }
                form method="post" action={ (BASE) "/sign-in/code" } {
                    (csrf::hidden_field(csrf))
                    label for="code" { (t("second-factor-code-label")) }
                    input id="code" type="text" name="code" inputmode="numeric"
                        autocomplete="one-time-code" maxlength="7" required autofocus;
                    div { button type="submit" { (t("sign-in-button")) } }
                }
            }
        },
    )
}

/// The page a password-reset link opens (before sign-in): choose a new password.
pub(crate) fn reset_password(
    frame: &Frame<'_>,
    csrf: &str,
    token: &str,
    email: &str,
    message: Option<&Notice>,
    min_password: usize,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("reset-title");
    layout(
        frame,
        &title,
        html! {
            div class="card narrow" {
                h1 { (title) }
                p class="intro" { (language.text_with("reset-intro", &[("email", email.to_owned())])) }
                @if let Some(message) = message { (notice(message)) }
                form method="post" action={ (BASE) "/reset" } {
                    (csrf::hidden_field(csrf))
                    input type="hidden" name="t" value=(token);
                    input type="text" name="username" value=(email) autocomplete="username" hidden;
                    (new_password_fields(language, min_password))
                    div { button type="submit" { (t("reset-button")) } }
                }
            }
        },
    )
}

/// A page for 403/404/500 and forged forms.
pub(crate) fn error(frame: &Frame<'_>, message: &str) -> Markup {
    let t = |id: &str| frame.language.text(id);
    layout(
        frame,
        message,
        html! {
            div class="card narrow" {
                (notice(&Notice::Error(message.to_owned())))
                a href={ (BASE) "/" } { (t("back-home")) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_references_are_short_and_from_the_id() {
        assert_eq!(
            code_reference("3f9ac21b-0d4e-4a8f-9c1e-7b2d5e6f8a90"),
            "3F9A-C21B"
        );
        assert_eq!(code_reference("ab"), "AB");
    }

    #[test]
    fn interpolated_values_are_escaped() {
        let viewer = Viewer {
            email: "<script>alert(1)</script>@x.fr".into(),
            role: Role::Admin,
            csrf: "\"><img src=x onerror=alert(1)>".into(),
            time_zone: TimeZone::UTC,
        };
        let frame = Frame {
            language: Language::French,
            viewer: Some(&viewer),
            section: Section::Audit,
        };
        let rows = [AuditRow {
            at: 0,
            actor: viewer.email.clone(),
            action: "user-created".into(),
            target: "<b>x</b>".into(),
        }];
        let query = AuditQuery {
            actor: "\"><script>alert(2)</script>".into(),
            ..AuditQuery::default()
        };
        let actors = [viewer.email.clone()];
        let shown = AuditPage {
            rows: &rows,
            query: &query,
            page: 1,
            has_older: true,
            actors: &actors,
            actions: &[],
            message: None,
        };
        let page = audit(&frame, &shown).into_string();
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img src=x"));
        assert!(!page.contains("<b>x</b>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
