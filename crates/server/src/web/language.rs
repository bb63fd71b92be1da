//! French and English for every page: the Fluent messages of both UIs compiled into the
//! binary (`locales/{en,fr}/{site,authority,venues}.ftl`), and the visitor's language: a
//! `?lang=` in the address, else their own choice (a cookie set by the switch link, for
//! the whole site), else their browser's `Accept-Language`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use cookie::SameSite;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};
use serde::Deserialize;

use super::cookies;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Fluent wraps arguments in Unicode isolation marks for mixed-direction text; both our
        // languages are left-to-right, and the marks would end up inside copied codes.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Name of the cookie that remembers a visitor's explicit language choice.
pub(crate) const LANGUAGE_COOKIE: &str = "osc_lang";
/// How long the language choice is remembered.
const LANGUAGE_COOKIE_SECONDS: i64 = 365 * 86_400;
/// Where the switch link leads when it is not told where the visitor came from.
const DEFAULT_NEXT_PAGE: &str = "/venues";

/// The languages the UI speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    English,
    French,
}

impl Language {
    /// The BCP 47 tag, as written in `lang=` attributes and the language cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::French => "fr",
        }
    }

    /// The language a visitor switches to with the header link.
    pub fn other(self) -> Language {
        match self {
            Language::English => Language::French,
            Language::French => Language::English,
        }
    }

    /// Reads a tag such as `fr`, `fr-CA` or `en-GB`; `None` for languages we do not speak.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Language::French),
            "en" => Some(Language::English),
            _ => None,
        }
    }

    /// Picks the visitor's preferred language we speak from an `Accept-Language` header
    /// (quality values honoured, malformed entries ignored); English when none matches.
    pub fn negotiate(accept_language: Option<&str>) -> Language {
        let Some(header) = accept_language else {
            return Language::English;
        };
        let mut best: Option<(f32, usize, Language)> = None;
        for (position, entry) in header.split(',').enumerate().take(32) {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default();
            let quality = parts
                .find_map(|parameter| parameter.trim().strip_prefix("q="))
                .map_or(Some(1.0), |value| value.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite() && *q > 0.0 && *q <= 1.0);
            let (Some(quality), Some(language)) = (quality, Language::from_tag(tag)) else {
                continue;
            };
            // Higher quality wins; on a tie the earlier entry wins.
            let better = match best {
                None => true,
                Some((best_quality, _, _)) => quality > best_quality,
            };
            if better {
                best = Some((quality, position, language));
            }
        }
        best.map_or(Language::English, |(_, _, language)| language)
    }

    fn identifier(self) -> LanguageIdentifier {
        match self {
            Language::English => langid!("en"),
            Language::French => langid!("fr"),
        }
    }

    /// The translated message `id`.
    pub fn text(self, id: &str) -> String {
        LOCALES.lookup(&self.identifier(), id)
    }

    /// The translated message `id` with its named arguments filled in.
    pub fn text_with(self, id: &str, arguments: &[(&'static str, String)]) -> String {
        let arguments: HashMap<Cow<'static, str>, FluentValue<'_>> = arguments
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.clone())))
            .collect();
        LOCALES.lookup_with_args(&self.identifier(), id, &arguments)
    }

    /// The visitor's language: `?lang=`, else their remembered choice, else their browser's.
    pub fn of_request(parts: &Parts) -> Language {
        let chosen_in_address = parts.uri.query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .and_then(Language::from_tag)
        });
        chosen_in_address
            .or_else(|| {
                cookies::cookie(&parts.headers, LANGUAGE_COOKIE)
                    .and_then(|tag| Language::from_tag(&tag))
            })
            .unwrap_or_else(|| {
                Language::negotiate(
                    parts
                        .headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|value| value.to_str().ok()),
                )
            })
    }

    /// Whether the message exists in this language (used by the completeness test).
    #[cfg(test)]
    pub(crate) fn has(self, id: &str) -> bool {
        // Every argument any message takes, so that formatting itself cannot fail.
        let arguments: HashMap<Cow<'static, str>, FluentValue<'_>> = [
            "email",
            "time",
            "max",
            "min",
            "days",
            "version",
            "reference",
            "earliest",
            "today",
            "page", // the physicians' pages
            "length",
            "room",
            "day",
            "from",
            "to",
            "hotline",
            "advice",
            "name",
            "phone",
            "count",
            "minutes",
            "level", // the venue owners' pages
        ]
        .into_iter()
        .map(|name| (Cow::Borrowed(name), FluentValue::from("x")))
        .collect();
        LOCALES
            .try_lookup_with_args(&self.identifier(), id, &arguments)
            .is_some()
    }
}

/// Handlers take the visitor's language as an argument.
impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Language::of_request(parts))
    }
}

#[derive(Deserialize)]
pub(crate) struct NextPage {
    next: Option<String>,
}

/// Whether `next` is one of our own pages: anything else would make the switch link an
/// open redirect.
fn is_own_page(next: &str) -> bool {
    next.starts_with('/')
        && !next.contains("//")
        && next
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.'))
}

/// `GET /language/{tag}?next=/page`: remembers the chosen language for a year, for every
/// page of the site, and goes back to the page the visitor was on.
pub(crate) async fn choose_language(
    Path(tag): Path<String>,
    Query(query): Query<NextPage>,
) -> Response {
    let language = Language::from_tag(&tag).unwrap_or(Language::English);
    let next = query
        .next
        .filter(|next| is_own_page(next))
        .unwrap_or_else(|| DEFAULT_NEXT_PAGE.to_owned());
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookies::set_cookie(
            LANGUAGE_COOKIE,
            language.tag(),
            "/",
            LANGUAGE_COOKIE_SECONDS,
            SameSite::Lax,
        ),
    );
    response
}

/// The switch link of a page: to the other language, back to `here`.
pub(crate) fn switch_link(language: Language, here: &str) -> String {
    format!("/language/{}?next={here}", language.other().tag())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_ids(file: &str) -> Vec<String> {
        file.lines()
            .filter(|line| !line.starts_with('#') && !line.starts_with(' '))
            .filter_map(|line| line.split_once(" = ").map(|(id, _)| id.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_message_exists_in_both_languages() {
        let catalogues = [
            (
                include_str!("../../locales/en/site.ftl"),
                include_str!("../../locales/fr/site.ftl"),
            ),
            (
                include_str!("../../locales/en/authority.ftl"),
                include_str!("../../locales/fr/authority.ftl"),
            ),
            (
                include_str!("../../locales/en/venues.ftl"),
                include_str!("../../locales/fr/venues.ftl"),
            ),
        ];
        let mut count = 0;
        for (english, french) in catalogues {
            let english = message_ids(english);
            let french = message_ids(french);
            assert_eq!(
                english, french,
                "the two files list the same messages in the same order"
            );
            for id in &english {
                assert!(Language::French.has(id), "{id} missing in French");
                assert!(Language::English.has(id), "{id} missing in English");
            }
            count += english.len();
        }
        assert!(count > 80);
    }

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = axum::http::Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("a valid request").into_parts().0
    }

    #[test]
    fn the_address_then_the_cookie_then_the_browser_choose() {
        let browser = ("accept-language", "fr-FR,fr;q=0.9");
        let cookie = ("cookie", "osc_lang=en");
        assert_eq!(
            Language::of_request(&parts("/venues", &[browser])),
            Language::French
        );
        assert_eq!(
            Language::of_request(&parts("/venues", &[browser, cookie])),
            Language::English
        );
        assert_eq!(
            Language::of_request(&parts("/venues?x=1&lang=fr", &[browser, cookie])),
            Language::French
        );
        assert_eq!(
            Language::of_request(&parts("/venues", &[])),
            Language::English
        );
    }

    #[test]
    fn the_switch_link_goes_back_only_to_our_own_pages() {
        assert!(is_own_page("/authority/codes"));
        assert!(is_own_page("/venues"));
        assert!(!is_own_page("//evil.example/authority/"));
        assert!(!is_own_page("https://evil.example/"));
        assert!(!is_own_page("/authority/x?next=https://evil.example"));
        assert_eq!(
            switch_link(Language::French, "/venues"),
            "/language/en?next=/venues"
        );
    }

    #[test]
    fn french_and_english_differ_and_take_arguments() {
        assert_eq!(Language::English.text("sign-in-button"), "Sign in");
        assert_eq!(Language::French.text("sign-in-button"), "Se connecter");
        assert_eq!(
            Language::French.text_with("signed-in-as", &[("email", "a@b.fr".into())]),
            "Connecté·e : a@b.fr"
        );
    }

    #[test]
    fn negotiation_follows_accept_language() {
        assert_eq!(Language::negotiate(None), Language::English);
        assert_eq!(
            Language::negotiate(Some("fr-FR,fr;q=0.9")),
            Language::French
        );
        assert_eq!(
            Language::negotiate(Some("de-DE, fr;q=0.5, en;q=0.4")),
            Language::French
        );
        assert_eq!(
            Language::negotiate(Some("fr;q=0.3, en-GB;q=0.8")),
            Language::English
        );
        assert_eq!(Language::negotiate(Some("de, it")), Language::English);
        assert_eq!(
            Language::negotiate(Some("fr;q=abc, en;q=0")),
            Language::English
        );
        assert_eq!(Language::negotiate(Some(";;;,,=,q=")), Language::English);
    }
}
