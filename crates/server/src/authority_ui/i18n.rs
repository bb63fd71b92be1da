//! French and English: Fluent messages compiled into the binary, the language negotiated from
//! `Accept-Language` and overridden by the visitor's own choice (a cookie set by the switch
//! link).

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};

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

    /// Whether the message exists in this language (used by the completeness test).
    #[cfg(test)]
    pub(crate) fn has(self, id: &str) -> bool {
        // Every argument any message takes, so that formatting itself cannot fail.
        let arguments: HashMap<Cow<'static, str>, FluentValue<'_>> =
            ["email", "time", "max", "min", "days"]
                .into_iter()
                .map(|name| (Cow::Borrowed(name), FluentValue::from("x")))
                .collect();
        LOCALES
            .try_lookup_with_args(&self.identifier(), id, &arguments)
            .is_some()
    }
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
        let english = message_ids(include_str!("../../locales/en/authority.ftl"));
        let french = message_ids(include_str!("../../locales/fr/authority.ftl"));
        assert!(english.len() > 50);
        assert_eq!(
            english, french,
            "the two files list the same messages in the same order"
        );
        for id in &english {
            assert!(Language::French.has(id), "{id} missing in French");
            assert!(Language::English.has(id), "{id} missing in English");
        }
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
