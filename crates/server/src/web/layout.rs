//! The page around every screen of both UIs: header band (brand, the signed-in user,
//! language switch, sign-out), an optional menu, the main content, footer; and the
//! notices and error pages that go in it.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::assets::asset_path;
use super::csrf;
use super::language::{Language, switch_link};

/// What a UI puts around its pages.
pub(crate) struct Chrome<'a> {
    pub language: Language,
    /// The UI's own stylesheet and script under `/static/`, loaded after `site.css`.
    pub stylesheet: Option<&'static str>,
    pub script: Option<&'static str>,
    /// Where the brand in the header leads (the UI's home).
    pub home: Option<&'static str>,
    /// Message id of the line under the brand: which part of the site this is.
    pub tagline: Option<&'static str>,
    /// The current page, where the language switch comes back to.
    pub here: &'a str,
    /// The signed-in user, shown in the header with a sign-out button.
    pub user: Option<SignedInUser<'a>>,
    /// The menu under the header.
    pub menu: Option<Markup>,
}

/// A signed-in user as the header shows them.
pub(crate) struct SignedInUser<'a> {
    pub email: &'a str,
    /// The session's anti-forgery token, for the sign-out form.
    pub csrf: &'a str,
    /// Where the sign-out form posts.
    pub sign_out: &'static str,
}

impl Chrome<'_> {
    /// No UI's own style, no menu, nobody signed in: for answers given before a UI knows
    /// the request (a refused form).
    pub(crate) fn bare(language: Language) -> Chrome<'static> {
        Chrome {
            language,
            stylesheet: None,
            script: None,
            home: None,
            tagline: None,
            here: "/venues",
            user: None,
            menu: None,
        }
    }
}

/// A message at the top of a page.
pub(crate) enum Notice {
    Error(String),
    Success(String),
    Info(String),
}

/// A notice, announced to screen readers (errors at once, the others politely).
pub(crate) fn notice(notice: &Notice) -> Markup {
    let (class, role, text) = match notice {
        Notice::Error(text) => ("notice error", "alert", text),
        Notice::Success(text) => ("notice success", "status", text),
        Notice::Info(text) => ("notice", "status", text),
    };
    html! { div class=(class) role=(role) { (text) } }
}

/// A whole page: `title` (followed by the site's name) in the browser's tab, `body` in
/// the main area.
pub(crate) fn page(chrome: &Chrome<'_>, title: &str, body: Markup) -> Markup {
    let language = chrome.language;
    let t = |id: &str| language.text(id);
    let other = language.other();
    let brand = html! {
        strong { (t("app-name")) }
        @if let Some(tagline) = chrome.tagline { span { (t(tagline)) } }
    };
    html! {
        (DOCTYPE)
        html lang=(language.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (t("app-name")) }
                link rel="stylesheet" href=(asset_path("site.css"));
                @if let Some(stylesheet) = chrome.stylesheet {
                    link rel="stylesheet" href=(asset_path(stylesheet));
                }
                @if let Some(script) = chrome.script {
                    script src=(asset_path(script)) defer {}
                }
            }
            body {
                a class="skip-link" href="#content" { (t("skip-to-content")) }
                header class="band" {
                    div class="band-inner" {
                        @if let Some(home) = chrome.home {
                            a class="brand" href=(home) { (brand) }
                        } @else {
                            div class="brand" { (brand) }
                        }
                        div class="band-tools" {
                            @if let Some(user) = &chrome.user {
                                span { (language.text_with("signed-in-as", &[("email", user.email.to_owned())])) }
                            }
                            a href=(switch_link(language, chrome.here)) lang=(other.tag()) hreflang=(other.tag()) {
                                (t("language-switch"))
                            }
                            @if let Some(user) = &chrome.user {
                                form class="inline" method="post" action=(user.sign_out) {
                                    (csrf::hidden_field(user.csrf))
                                    button class="link" type="submit" { (t("nav-sign-out")) }
                                }
                            }
                        }
                    }
                }
                @if let Some(menu) = &chrome.menu { (menu) }
                main id="content" tabindex="-1" { (body) }
                footer {
                    (t("app-name"))
                    @if let Some(tagline) = chrome.tagline { " · " (t(tagline)) }
                }
            }
        }
    }
}

/// An HTML answer.
pub(crate) fn html_response(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A page that only says what went wrong, in the bare chrome.
pub(crate) fn error_response(language: Language, status: StatusCode, message: &Notice) -> Response {
    let title = match message {
        Notice::Error(text) | Notice::Success(text) | Notice::Info(text) => text.as_str(),
    };
    let body = html! { div class="card narrow" { (notice(message)) } };
    html_response(status, page(&Chrome::bare(language), title, body))
}
