//! Helpers of the users, settings and audit pages: reading a posted form, and the one-line
//! "done" notice a page shows after a redirect (`?done=key`, only from a fixed list, so a link
//! cannot make the console say anything else). The session and CSRF checks are `guard`'s.

use super::error_page;
use crate::i18n::{Lang, Tr};
use axum::response::{IntoResponse, Redirect, Response};
use lanyard_core::Error;

/// A posted form as its (name, value) pairs, in order.
pub(crate) type Posted = Vec<(String, String)>;

/// The last value posted for `name` (a checkbox's `true` follows its hidden `false`), or "".
pub(crate) fn value<'a>(posted: &'a [(String, String)], name: &str) -> &'a str {
    posted
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// A checkbox (with its hidden `false`): `Some(true|false)` when posted, else `None`.
pub(crate) fn checkbox(posted: &[(String, String)], name: &str) -> Option<bool> {
    posted
        .iter()
        .any(|(k, _)| k == name)
        .then(|| value(posted, name) == "true")
}

/// The notices a page may show after an action.
const DONE: &[&str] = &[
    "user-saved",
    "federation-saved",
    "federation-removed",
    "session-revoked",
    "sessions-revoked",
    "token-revoked",
    "password-change-required",
    "invitation-sent",
    "settings-saved",
    "domain-claimed",
    "domain-checked",
    "domain-verified",
    "domain-deleted",
    // Private content: sites and lists.
    "site-created",
    "site-saved",
    "resources-saved",
    "resource-removed",
    "contact-added",
    "contact-removed",
    "list-created",
    "list-renamed",
    "list-deleted",
    "member-added",
    "member-removed",
    "app-saved",
    "app-deleted",
];

/// The notice for `?done=key`, translated; unknown keys show nothing.
pub(crate) fn done_notice(t: Tr, key: Option<&str>) -> Option<&'static str> {
    let key = key?;
    DONE.contains(&key).then(|| t.t(&format!("done-{key}")))
}

/// After an action: back to `to` with its notice, or the error page with the code.
pub(crate) fn after<T>(lang: Lang, res: Result<T, Error>, to: &str, done: &str) -> Response {
    match res {
        Ok(_) => {
            let sep = if to.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{to}{sep}done={done}")).into_response()
        }
        Err(e) => error_page(lang, &e),
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Posted {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_last_value_wins_and_checkboxes_read_their_hidden_false() {
        let f = p(&[("a", "1"), ("b", "false"), ("b", "true"), ("c", "false")]);
        assert_eq!(value(&f, "a"), "1");
        assert_eq!(value(&f, "zz"), "");
        assert_eq!(checkbox(&f, "b"), Some(true));
        assert_eq!(checkbox(&f, "c"), Some(false));
        assert_eq!(checkbox(&f, "d"), None);
    }

    #[test]
    fn only_listed_notices_are_shown() {
        let t = Lang::En.tr();
        assert_eq!(
            done_notice(t, Some("session-revoked")),
            Some("Session ended.")
        );
        assert_eq!(done_notice(t, Some("<script>")), None);
        assert_eq!(done_notice(t, None), None);
    }
}
