//! Reading a request's cookies and writing ours, locked down the same way everywhere.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

/// The value of cookie `name` in a request, if any.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// A `Set-Cookie` value for one of our cookies, sent back only for pages under `path`;
/// `max_age_seconds` 0 deletes it. Scripts never read our cookies (`HttpOnly`) and they
/// travel only over HTTPS (`Secure`).
pub(crate) fn set_cookie(
    name: &'static str,
    value: &str,
    path: &'static str,
    max_age_seconds: i64,
    same_site: SameSite,
) -> HeaderValue {
    let cookie = Cookie::build((name, value.to_owned()))
        .path(path)
        .http_only(true)
        .secure(true)
        .same_site(same_site)
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_the_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; osc_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, "osc_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "osc_sign_in"), None);
    }

    #[test]
    fn our_cookies_are_locked_down() {
        let value = set_cookie("osc_session", "abc", "/authority", 60, SameSite::Strict);
        let text = value.to_str().expect("ascii");
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/authority",
            "Max-Age=60",
        ] {
            assert!(text.contains(attribute), "{text} lacks {attribute}");
        }
    }
}
