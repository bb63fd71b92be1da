//! The pages, as maud templates. maud escapes every `(value)` it interpolates; the only
//! unescaped output is SVG that this crate generated itself (QR codes and the chart), marked
//! with `PreEscaped` where it is inserted.

use maud::{Markup, PreEscaped, html};

use super::deep_link::{grouped_for_dictation, report_qr_svg};
use crate::datastore::codes::CodeKind;
use crate::datastore::{ApiKeyRow, AuditRow, CodeStatus, DayCounts, Role, UserRow};
use crate::web::Language;
use crate::web::csrf;
pub(crate) use crate::web::layout::Notice;
use crate::web::layout::{self, Chrome, SignedInUser, notice};

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
}

/// The menu entries; the current one is marked for screen readers and the eye.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    SignIn,
    Issue,
    Codes,
    Statistics,
    Users,
    ApiKeys,
    Audit,
    Config,
}

impl Section {
    fn path(self) -> &'static str {
        match self {
            Section::SignIn => "/authority/sign-in",
            Section::Issue => "/authority/issue",
            Section::Codes => "/authority/codes",
            Section::Statistics => "/authority/statistics",
            Section::Users => "/authority/users",
            Section::ApiKeys => "/authority/api-keys",
            Section::Audit => "/authority/audit",
            Section::Config => "/authority/config",
        }
    }
}

/// What every page shares.
pub(crate) struct Frame<'a> {
    pub language: Language,
    pub viewer: Option<&'a Viewer>,
    pub section: Section,
}

/// `2026-11-23 21:05 UTC`: unambiguous in both languages.
pub fn format_time(unix_seconds: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|moment| moment.format(&format).ok())
        .unwrap_or_default()
}

/// `2026-11-23`.
pub(crate) fn format_day(unix_seconds: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|moment| moment.format(&format).ok())
        .unwrap_or_default()
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
    pub code: String,
    pub kind: CodeKind,
    pub expires_at: i64,
    /// What the code's QR code opens (see [`super::deep_link::patient_link`]).
    pub link: String,
}

fn code_block(language: Language, code: &IssuedCode, big: bool) -> Markup {
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
        p class="code-meta code-expiry" {
            (language.text_with("issue-expires", &[("time", format_time(code.expires_at))]))
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

/// The issue page: the form, and the code just issued if any.
pub(crate) fn issue(
    frame: &Frame<'_>,
    viewer: &Viewer,
    issued: Option<&IssuedCode>,
    onset: &str,
    message: Option<&Notice>,
    batch_max: u32,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("issue-title");
    layout(
        frame,
        &title,
        html! {
            @if let Some(code) = issued {
                section class="card code-result" aria-labelledby="result-title" {
                    h1 id="result-title" { (t("issue-result-title")) }
                    (code_block(language, code, true))
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
                form class="card" method="post" action={ (BASE) "/issue" } {
                    (csrf_field(viewer))
                    label for="onset" { (t("onset-label")) }
                    span class="hint" id="onset-hint" { (t("onset-hint")) }
                    input id="onset" type="date" name="onset" value=(onset) aria-describedby="onset-hint";
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
                (language.text_with("batch-issued", &[("time", format_time(issued_at)), ("email", viewer.email.clone())]))
            }
            p class="no-print" { button type="button" data-print { (t("batch-print")) } }
            div class="sheet" {
                @for code in codes {
                    div class="sheet-code" {
                        div { (code_block(language, code, false)) }
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
    viewer: &Viewer,
    rows: &[CodeRow],
    message: Option<&Notice>,
) -> Markup {
    let language = frame.language;
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
                table id="codes" {
                    thead { tr {
                        th scope="col" { (t("codes-issued-at")) }
                        th scope="col" { (t("codes-status")) }
                        th scope="col" { (t("codes-expires")) }
                        th scope="col" { (t("codes-used-at")) }
                        th scope="col" { (t("codes-action")) }
                    } }
                    tbody {
                        @for row in rows {
                            tr data-code-id=(row.id) {
                                td {
                                    (format_time(row.issued_hour))
                                    @if row.kind == CodeKind::VenueWarning {
                                        " " span class="code-kind" { (t("codes-kind-venue-warning")) }
                                    }
                                }
                                td { span class=(status_class(row.status)) { (t(status_message(row.status))) } }
                                td { (format_time(row.expires_at)) }
                                td { @if let Some(hour) = row.used_hour { (format_time(hour)) } }
                                td {
                                    @if row.status == CodeStatus::Unused {
                                        form class="inline" method="post" action={ (BASE) "/codes/" (row.id) "/expire" } {
                                            (csrf_field(viewer))
                                            button class="small danger" type="submit"
                                                aria-label=(language.text_with("codes-expire-label", &[("time", format_time(row.issued_hour))])) {
                                                (t("codes-expire-button"))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub(crate) fn statistics(frame: &Frame<'_>, days: &[DayCounts], chart_svg: &str) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("statistics-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (language.text_with("statistics-intro", &[("days", days.len().to_string())])) }
            figure class="chart" role="img" aria-label=(t("statistics-chart-label")) {
                (PreEscaped(chart_svg))
            }
            p { a class="button secondary" href={ (BASE) "/statistics.csv" } download { (t("statistics-download")) } }
            table id="statistics" {
                thead { tr {
                    th scope="col" { (t("statistics-day")) }
                    th scope="col" class="number" { (t("statistics-codes-issued")) }
                    th scope="col" class="number" { (t("statistics-codes-used")) }
                    th scope="col" class="number" { (t("statistics-uploads")) }
                    th scope="col" class="number" { (t("statistics-keys-published")) }
                    th scope="col" class="number" { (t("statistics-venue-warnings")) }
                } }
                tbody {
                    @for day in days.iter().rev() {
                        tr {
                            th scope="row" { (format_day(day.day)) }
                            td class="number" { (day.codes_issued) }
                            td class="number" { (day.codes_used) }
                            td class="number" { (day.uploads) }
                            td class="number" { (day.keys_published) }
                            td class="number" { (day.venue_warnings) }
                        }
                    }
                }
            }
        },
    )
}

pub(crate) fn users(
    frame: &Frame<'_>,
    viewer: &Viewer,
    rows: &[UserRow],
    form_email: &str,
    message: Option<&Notice>,
    min_password: usize,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("users-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            @if let Some(message) = message { (notice(message)) }
            table id="users" {
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
                            td { (row.email) }
                            td { (t(row.role.message())) }
                            td { (format_time(row.created_at)) }
                            td {
                                @if row.disabled {
                                    (t("user-state-disabled"))
                                } @else if let Some(until) = row.locked_until {
                                    (language.text_with("user-state-locked", &[("time", format_time(until))]))
                                } @else {
                                    (t("user-state-active"))
                                }
                            }
                            td {
                                @if row.email != viewer.email {
                                    form class="inline" method="post" action={ (BASE) "/users/" (row.id) "/state" } {
                                        (csrf_field(viewer))
                                        @if row.disabled {
                                            button class="small secondary" name="change" value="enable" type="submit" { (t("users-enable")) }
                                        } @else {
                                            button class="small danger" name="change" value="disable" type="submit" { (t("users-disable")) }
                                        }
                                        @if row.locked_until.is_some() {
                                            " "
                                            button class="small secondary" name="change" value="unlock" type="submit" { (t("users-unlock")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
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
                    p class="mono" id="new-api-key" { (key) }
                }
            }
            @if rows.is_empty() {
                p { (t("api-keys-empty")) }
            } @else {
                table id="api-keys" {
                    thead { tr {
                        th scope="col" { (t("api-keys-name")) }
                        th scope="col" { (t("api-keys-created")) }
                        th scope="col" { (t("api-keys-state")) }
                        th scope="col" { (t("users-action")) }
                    } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { (row.name) }
                                td { (format_time(row.created_at)) }
                                td { (t(if row.revoked { "api-keys-revoked" } else { "api-keys-active" })) }
                                td {
                                    @if !row.revoked {
                                        form class="inline" method="post" action={ (BASE) "/api-keys/" (row.id) "/revoke" } {
                                            (csrf_field(viewer))
                                            button class="small danger" type="submit" { (t("api-keys-revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
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

pub(crate) fn audit(frame: &Frame<'_>, rows: &[AuditRow]) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("audit-title");
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            @if rows.is_empty() {
                p { (t("audit-empty")) }
            } @else {
                table id="audit" {
                    thead { tr {
                        th scope="col" { (t("audit-time")) }
                        th scope="col" { (t("audit-actor")) }
                        th scope="col" { (t("audit-action")) }
                        th scope="col" { (t("audit-target")) }
                    } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { (format_time(row.at)) }
                                td { (row.actor) }
                                td { (t(&format!("audit-action-{}", row.action))) }
                                td { (row.target) }
                            }
                        }
                    }
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
    fn times_are_utc_and_unambiguous() {
        assert_eq!(format_time(1_606_165_500), "2020-11-23 21:05 UTC");
        assert_eq!(format_day(1_606_165_500), "2020-11-23");
    }

    #[test]
    fn interpolated_values_are_escaped() {
        let viewer = Viewer {
            email: "<script>alert(1)</script>@x.fr".into(),
            role: Role::Admin,
            csrf: "\"><img src=x onerror=alert(1)>".into(),
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
        let page = audit(&frame, &rows).into_string();
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img src=x"));
        assert!(!page.contains("<b>x</b>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
