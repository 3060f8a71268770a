//! The message catalogues of the console and the setup portal: `i18n/en.ftl` and `i18n/ja.ftl`,
//! compiled into the binary. The files use the Project Fluent syntax's plain subset (one message
//! per line, `key = text`, `{ $name }` placeables, `#` comments), so translators work in a
//! format they know; a few dozen lines of our own read it rather than the `fluent-bundle` crate
//! and its dependency tree, because nothing here needs plurals or selectors yet. Error codes are
//! never translated. A test holds both catalogues to the same keys and placeables.
//!
//! The language: `?lang=en|ja` (which the console remembers in the `lanyard_lang` cookie), else
//! that cookie, else the best match of `Accept-Language`, else English.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use std::collections::HashMap;
use std::sync::LazyLock;

pub const LANG_COOKIE: &str = "lanyard_lang";

tokio::task_local! {
    /// The current request's language, set by the request middleware ([`crate::metrics::track`])
    /// so that pages and error pages rendered deep inside handlers speak it.
    pub static CURRENT_LANG: Lang;
    /// The current request's path and query without `lang`, for the pages' language switch.
    pub static CURRENT_HERE: String;
}

/// The path and query of a request without its `lang` parameter (and without a `return_to`
/// that is not a safe local address).
pub fn here_without_lang(path: &str, query: Option<&str>) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(k, _)| k != "lang")
        // The page never echoes a return address it would not follow (an open redirect's bait).
        .filter_map(|(k, v)| match k.as_ref() {
            "return_to" => lanyard_core::validate::return_to(&v).map(|v| (k.into_owned(), v)),
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    if kept.is_empty() {
        return path.to_owned();
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{q}")
}

/// The language switch of the sign-in side's pages: (href, code, name) of each other language,
/// linking to this page with `lang=` (which the `lanyard_lang` cookie then remembers).
pub fn switch_links() -> Vec<(String, &'static str, &'static str)> {
    let Ok(here) = CURRENT_HERE.try_with(Clone::clone) else {
        return Vec::new();
    };
    let current = Lang::current();
    let sep = if here.contains('?') { '&' } else { '?' };
    Lang::ALL
        .into_iter()
        .filter(|l| *l != current)
        .map(|l| {
            (
                format!("{here}{sep}lang={}", l.code()),
                l.code(),
                l.tr().t("lang-name"),
            )
        })
        .collect()
}

/// Middleware for every route: a `?lang=en|ja` answer sets the `lanyard_lang` cookie, so the
/// switch is remembered on the sign-in side as in the console (which sets it itself).
pub async fn remember_lang(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let lang = req.uri().query().and_then(query_lang);
    let mut res = next.run(req).await;
    let Some(l) = lang else { return res };
    let already = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(LANG_COOKIE.as_bytes()));
    let c = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        l.code()
    );
    if !already && let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

const EN: &str = include_str!("../i18n/en.ftl");
const JA: &str = include_str!("../i18n/ja.ftl");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ja => "ja",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "ja" => Some(Self::Ja),
            _ => None,
        }
    }

    /// The best supported language of an `Accept-Language` value (highest q wins; ties keep the
    /// header's order), if any.
    pub fn from_accept_language(value: &str) -> Option<Self> {
        let mut best: Option<(u32, Self)> = None;
        for item in value.split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u32)
                })
                .unwrap_or(0);
            if let Some(l) = Lang::parse(tag)
                && q > 0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The language of a request: `?lang=`, the cookie, `Accept-Language`, English.
    pub fn of_parts(query: Option<&str>, headers: &HeaderMap) -> Self {
        Self::stated(query, headers).unwrap_or_default()
    }

    /// The language a request states, if any: `?lang=` naming English or Japanese, else the
    /// `lanyard_lang` cookie, else an `Accept-Language` naming either. `None` (no choice, or
    /// only other languages) lets an email take the tenant's language.
    pub fn stated(query: Option<&str>, headers: &HeaderMap) -> Option<Self> {
        query
            .and_then(query_lang)
            .or_else(|| Self::stated_by(headers, &CookieJar::from_headers(headers)))
    }

    /// The language from the cookie, else `Accept-Language`, else English.
    pub fn of_request(headers: &HeaderMap, jar: &CookieJar) -> Self {
        Self::stated_by(headers, jar).unwrap_or_default()
    }

    fn stated_by(headers: &HeaderMap, jar: &CookieJar) -> Option<Self> {
        jar.get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .or_else(|| {
                headers
                    .get(axum::http::header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
    }

    pub fn tr(self) -> Tr {
        Tr { lang: self }
    }

    /// The language of the request being handled (English outside a request).
    pub fn current() -> Self {
        CURRENT_LANG.try_with(|l| *l).unwrap_or_default()
    }
}

impl From<Lang> for lanyard_core::mail_text::Lang {
    fn from(l: Lang) -> Self {
        match l {
            Lang::En => Self::En,
            Lang::Ja => Self::Ja,
        }
    }
}

/// The `lang` parameter of a query string, if it names a supported language.
pub fn query_lang(query: &str) -> Option<Lang> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

/// A parsed catalogue: key → text.
fn parse(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim(), v.trim()))
        })
        .collect()
}

static CATALOGUES: LazyLock<[HashMap<&'static str, &'static str>; 2]> =
    LazyLock::new(|| [parse(EN), parse(JA)]);

fn catalogue(lang: Lang) -> Option<&'static HashMap<&'static str, &'static str>> {
    CATALOGUES.get(match lang {
        Lang::En => 0,
        Lang::Ja => 1,
    })
}

/// The translator a template holds: `{{ t.t("key") }}`, `{{ t.f("key", [("name", value)]) }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    /// The message `key`; a key missing from the language falls back to English, then to the
    /// key itself (the catalogue test keeps both from happening).
    pub fn t(&self, key: &str) -> &'static str {
        catalogue(self.lang)
            .and_then(|c| c.get(key))
            .or_else(|| catalogue(Lang::En).and_then(|c| c.get(key)))
            .copied()
            .unwrap_or_else(|| {
                tracing::warn!(key, "message missing from the catalogue");
                "?"
            })
    }

    /// The message `key` with its `{ $name }` placeables filled in.
    pub fn f<const N: usize>(&self, key: &str, args: [(&str, &str); N]) -> String {
        let mut out = self.t(key).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{ ${name} }}"), value);
        }
        out
    }

    /// [`Tr::f`] with one placeable, for templates (which pass arguments by reference).
    pub fn f1(&self, key: &str, name: &str, value: &str) -> String {
        self.f(key, [(name, value)])
    }

    /// [`Tr::f`] with two placeables, for templates.
    pub fn f2(&self, key: &str, a: &str, a_value: &str, b: &str, b_value: &str) -> String {
        self.f(key, [(a, a_value), (b, b_value)])
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// The translator of the request being handled.
    pub fn current() -> Self {
        Lang::current().tr()
    }

    /// The explanation of the error `code` in this language: English keeps `english` (the
    /// error's own message, which may name the value at fault); other languages use the
    /// catalogue's `err-{code}` (dots as dashes), with `{ $detail }` replaced by `english`, and
    /// fall back to `english` when it has none.
    /// The code itself is never translated.
    pub fn explain(&self, code: &str, english: &str) -> String {
        self.explain_key(&format!("err-{}", code.replace('.', "-")), english)
    }

    /// The help sentence of the error `code` (`err-{code}-help`), as [`Tr::explain`] does.
    pub fn explain_help(&self, code: &str, english: &str) -> String {
        self.explain_key(&format!("err-{}-help", code.replace('.', "-")), english)
    }

    /// The help sentence of the error `code` when there is one to show: as
    /// [`Tr::explain_help`], except that a language whose catalogue explains the code without a
    /// separate help sentence (its message already says what to do) shows none rather than the
    /// English one.
    pub fn explain_help_opt(&self, code: &str, english: &str) -> Option<String> {
        let base = format!("err-{}", code.replace('.', "-"));
        if self.lang != Lang::En
            && let Some(c) = catalogue(self.lang)
            && c.contains_key(base.as_str())
            && !c.contains_key(format!("{base}-help").as_str())
        {
            return None;
        }
        Some(self.explain_help(code, english))
    }

    /// An error's message and help sentence (if it has one) in this language.
    pub fn explain_error(&self, e: &lanyard_core::Error) -> (String, Option<String>) {
        let code = e.code();
        (
            self.explain(code, &e.to_string()),
            e.help_text().and_then(|h| self.explain_help_opt(code, &h)),
        )
    }

    fn explain_key(&self, key: &str, english: &str) -> String {
        if self.lang == Lang::En {
            return english.to_owned();
        }
        // `{ $detail }` is the core's English message: the value at fault, the provider's
        // answer (such as `invalid_client`), which a translation cannot know.
        catalogue(self.lang)
            .and_then(|c| c.get(key))
            .map_or_else(|| english.to_owned(), |s| s.replace("{ $detail }", english))
    }
}

/// The request's language, as an extractor.
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Lang::of_parts(parts.uri.query(), &parts.headers)))
    }
}

/// The keys of a catalogue and, per key, its placeables (for the catalogue test).
pub fn shape(lang: Lang) -> Vec<(&'static str, Vec<String>)> {
    let mut out: Vec<_> = catalogue(lang)
        .map(|c| {
            c.iter()
                .map(|(k, v)| {
                    let mut vars: Vec<String> = v
                        .split("{ $")
                        .skip(1)
                        .filter_map(|r| r.split_once(" }").map(|(n, _)| n.to_owned()))
                        .collect();
                    vars.sort();
                    (*k, vars)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod codes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys_and_placeables() {
        let en = shape(Lang::En);
        let ja = shape(Lang::Ja);
        assert!(en.len() > 50, "{}", en.len());
        let en_keys: Vec<_> = en.iter().map(|(k, _)| *k).collect();
        let ja_keys: Vec<_> = ja.iter().map(|(k, _)| *k).collect();
        for k in &en_keys {
            assert!(ja_keys.contains(k), "`{k}` is missing from ja.ftl");
        }
        // An error code's text may be in ja.ftl only: English pages show the core's own
        // message (`Tr::explain`); `codes::every_error_code_has_its_japanese_text` says which
        // codes need both.
        for k in &ja_keys {
            assert!(
                en_keys.contains(k) || k.starts_with("err-"),
                "`{k}` is missing from en.ftl"
            );
        }
        let ja_shared: Vec<_> = ja
            .iter()
            .filter(|(k, _)| en_keys.contains(k))
            .cloned()
            .collect();
        assert_eq!(en, ja_shared, "placeables differ between en.ftl and ja.ftl");
        // Every value is translated text, not empty.
        for l in Lang::ALL {
            for (k, _) in shape(l) {
                assert_ne!(l.tr().t(k), "", "{k} is empty in {}", l.code());
            }
        }
    }

    #[test]
    fn no_key_is_defined_twice() {
        for text in [EN, JA] {
            let mut seen = std::collections::HashSet::new();
            for l in text.lines().map(str::trim) {
                if let Some((k, _)) = l.split_once('=').filter(|_| !l.starts_with('#')) {
                    assert!(seen.insert(k.trim()), "`{}` is defined twice", k.trim());
                }
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(
            Lang::from_accept_language("ja-JP,ja;q=0.9,en;q=0.8"),
            Some(Lang::Ja)
        );
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, ja;q=0.7"),
            Some(Lang::Ja)
        );
        assert_eq!(Lang::from_accept_language("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de, fr;q=0.9"), None);
        assert_eq!(
            Lang::from_accept_language("ja;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language(";;;q=x,,"), None);
        assert_eq!(query_lang("a=1&lang=ja"), Some(Lang::Ja));
        assert_eq!(query_lang("lang=xx"), None);
    }

    /// The pages a person reads outside the console: every word they show comes from the
    /// catalogue (the developer tools, the test IdP and the API reference, stay English).
    #[test]
    fn sign_in_side_templates_hard_code_no_words() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let skip = ["api_docs.html", "dev_idp_pick.html", "dev_idp_post.html"];
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() || skip.contains(&name.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let visible = visible_text(&text);
            // Paths shown as link text (`/t/acme/session`) are addresses, not words.
            let words: Vec<&str> = visible
                .split_whitespace()
                .filter(|token| !token.starts_with('/'))
                .flat_map(|token| token.split(|c: char| !c.is_ascii_alphabetic()))
                .filter(|w| w.len() > 1 && *w != "Lanyard")
                .collect();
            assert!(words.is_empty(), "{name} hard-codes {words:?}");
            checked += 1;
        }
        assert!(checked >= 15, "{checked}");
    }

    /// The text of a template outside tags, `{{ }}`, `{% %}`, `<style>` and `<script>`
    /// (non-ASCII letters read as spaces: only hard-coded English is looked for).
    fn visible_text(t: &str) -> String {
        let mut t = t.to_owned();
        for (open, close) in [("<style>", "</style>"), ("<script", "</script>")] {
            while let Some(a) = t.find(open) {
                let b = t[a..].find(close).map_or(t.len(), |b| a + b + close.len());
                t.replace_range(a..b, "");
            }
        }
        let b = t.as_bytes();
        let mut out = String::new();
        let mut until: Option<&[u8]> = None;
        let mut i = 0;
        while i < b.len() {
            let rest = &b[i..];
            match until {
                None if rest.starts_with(b"{{") => (until, i) = (Some(b"}}".as_slice()), i + 2),
                None if rest.starts_with(b"{%") => (until, i) = (Some(b"%}".as_slice()), i + 2),
                None if rest.starts_with(b"<") => (until, i) = (Some(b">".as_slice()), i + 1),
                None => {
                    out.push(if b[i].is_ascii() { b[i] as char } else { ' ' });
                    i += 1;
                }
                Some(end) if rest.starts_with(end) => (until, i) = (None, i + end.len()),
                Some(_) => i += 1,
            }
        }
        out
    }

    #[test]
    fn placeables_are_filled() {
        let t = Lang::En.tr();
        assert_eq!(
            t.f("setup-links-created", [("hours", "72")]),
            "Setup link created. It is shown once and works for 72 hours."
        );
    }

    #[test]
    fn a_japanese_error_keeps_the_core_detail_and_its_own_action() {
        let ja = Lang::Ja.tr();
        let english = "the identity provider's token endpoint (https://op/token) answered HTTP 401: invalid_client";
        let m = ja.explain("fetch.token.http_error", english);
        assert!(
            m.contains("トークンエンドポイント") && m.contains(english),
            "{m}"
        );
        // The Japanese message says what to do: no English help sentence under it.
        assert_eq!(
            ja.explain_help_opt("fetch.token.http_error", "Check the client secret."),
            None
        );
        // A code with its own help sentence keeps it; English keeps the core's words.
        assert!(
            ja.explain_help_opt("login.throttled", "x")
                .is_some_and(|h| h != "x")
        );
        let en = Lang::En.tr();
        assert_eq!(en.explain("fetch.token.http_error", english), english);
        assert_eq!(
            en.explain_help_opt("fetch.token.http_error", "h")
                .as_deref(),
            Some("h")
        );
    }
}
