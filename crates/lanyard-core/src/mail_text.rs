//! The emails Lanyard writes about accounts (welcome, single sign-on invitation, password
//! reset) in English and Japanese. The language travels with the request that caused the mail
//! ([`crate::RequestMeta::lang`]): the person signing in for a welcome, the administrator's
//! request for invitations and resets; a request that states no language, and a mail written
//! with no request, take the tenant's language ([`Lang::for_mail`]). Bodies are plain text; the values put into them
//! (organisation, connection and user names, links) are never translated.

/// The language of an email: that of the request that caused it (its `Accept-Language`,
/// or the switch the pages remember), else the tenant's ([`Lang::for_mail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    /// The first of English and Japanese the header prefers (by q-value, then order); English
    /// when it names neither.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.unwrap_or("").split(',').take(32) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ja") => Lang::Ja,
                Some("en") => Lang::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The code of the language (`en`, `ja`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// The language of an email for `tenant`: the one the causing request stated, else the
    /// tenant's (also for emails written with no request at all).
    pub fn for_mail(stated: Option<Lang>, tenant: &crate::model::Tenant) -> Self {
        stated.unwrap_or(tenant.language)
    }

    /// The language named by its code (`en`, `ja`), or `tenant.language_invalid`.
    pub fn from_code(code: &str) -> crate::error::Result<Self> {
        match code {
            "en" => Ok(Lang::En),
            "ja" => Ok(Lang::Ja),
            other => Err(crate::Error::TenantLanguageInvalid(
                other.chars().take(32).collect(),
            )),
        }
    }
}

/// The stored form of a tenant's language.
impl TryFrom<String> for Lang {
    type Error = crate::Error;

    fn try_from(code: String) -> crate::error::Result<Self> {
        Self::from_code(&code)
    }
}

/// The welcome email after a just-in-time account creation: confirm the email address.
pub struct Welcome<'a> {
    pub tenant: &'a str,
    pub username: &'a str,
    pub connection: &'a str,
    /// Whether the organisation requires the confirmation before the next sign-in.
    pub must_confirm: bool,
    pub url: &'a str,
}

/// Why a password reset was sent.
pub enum ResetReason<'a> {
    /// The connection the user signed in through was turned off or removed.
    ConnectionOff { connection: &'a str, removed: bool },
    /// An administrator disconnected the account from the connection.
    Disconnected { connection: &'a str },
}

impl ResetReason<'_> {
    /// The reason as a sentence (the audit log keeps the English one).
    pub fn sentence(&self, lang: Lang, tenant: &str) -> String {
        match (lang, self) {
            (
                Lang::En,
                ResetReason::ConnectionOff {
                    connection,
                    removed,
                },
            ) => format!(
                "Signing in to {tenant} through {connection} was {} by your administrator.",
                if *removed { "removed" } else { "turned off" }
            ),
            (Lang::En, ResetReason::Disconnected { connection }) => format!(
                "Your administrator disconnected your account from single sign-on ({connection})."
            ),
            (
                Lang::Ja,
                ResetReason::ConnectionOff {
                    connection,
                    removed,
                },
            ) => format!(
                "{connection} による {tenant} へのサインインは、管理者によって{}。",
                if *removed {
                    "削除されました"
                } else {
                    "無効にされました"
                }
            ),
            (Lang::Ja, ResetReason::Disconnected { connection }) => format!(
                "管理者があなたのアカウントとシングルサインオン ({connection}) の連携を解除しました。"
            ),
        }
    }
}

impl Lang {
    /// Subject and body of the welcome email.
    pub fn welcome_mail(self, w: &Welcome<'_>) -> (String, String) {
        let Welcome {
            tenant,
            username,
            connection,
            must_confirm,
            url,
        } = *w;
        match self {
            Lang::En => {
                let must = if must_confirm {
                    "You can sign in once you have confirmed your email address:"
                } else {
                    "Please confirm your email address:"
                };
                (
                    format!("Welcome to {tenant}: confirm your email"),
                    format!(
                        "Welcome to {tenant}.\n\nYour account `{username}` was created when you first signed in with {connection}.\n{must}\n\n{url}\n\nThe link works for 7 days; signing in again after that sends a new one. If you did not sign in, tell your administrator.\n"
                    ),
                )
            }
            Lang::Ja => {
                let must = if must_confirm {
                    "メールアドレスを確認すると、サインインできるようになります:"
                } else {
                    "メールアドレスを確認してください:"
                };
                (
                    format!("{tenant} へようこそ: メールアドレスの確認"),
                    format!(
                        "{tenant} へようこそ。\n\n{connection} で初めてサインインしたときに、アカウント `{username}` が作成されました。\n{must}\n\n{url}\n\nリンクは 7 日間有効です。期限が過ぎた後にもう一度サインインすると、新しいリンクが送られます。サインインした覚えがない場合は、管理者に知らせてください。\n"
                    ),
                )
            }
        }
    }

    /// Subject and body of the invitation to connect an account to single sign-on.
    pub fn invitation_mail(
        self,
        tenant: &str,
        connection: &str,
        username: &str,
        url: &str,
    ) -> (String, String) {
        match self {
            Lang::En => (
                format!("{tenant}: connect your account to single sign-on"),
                format!(
                    "{tenant} now signs in with single sign-on ({connection}).\n\nConnect your account `{username}` by signing in once through this link:\n\n{url}\n\nAfter that your password no longer works and you sign in with {connection} instead. If now is not a good time, you can come back to this link later.\n"
                ),
            ),
            Lang::Ja => (
                format!("{tenant}: アカウントをシングルサインオンに連携してください"),
                format!(
                    "{tenant} はシングルサインオン ({connection}) でサインインするようになりました。\n\n次のリンクから一度サインインして、アカウント `{username}` を連携してください:\n\n{url}\n\n連携後はパスワードが使えなくなり、代わりに {connection} でサインインします。今都合が悪ければ、後でこのリンクに戻ってきても構いません。\n"
                ),
            ),
        }
    }

    /// Subject and body of a password reset sent because of `why`.
    pub fn reset_mail(
        self,
        why: &ResetReason<'_>,
        tenant: &str,
        username: &str,
        url: &str,
    ) -> (String, String) {
        let why = why.sentence(self, tenant);
        match self {
            Lang::En => (
                format!("{tenant}: choose a password to keep access"),
                format!(
                    "{why}\n\nTo keep signing in to {tenant} as `{username}`, choose a password here:\n\n{url}\n\nThe link works for 3 days.\n"
                ),
            ),
            Lang::Ja => (
                format!("{tenant}: アクセスを続けるにはパスワードを設定してください"),
                format!(
                    "{why}\n\n`{username}` として {tenant} へのサインインを続けるには、こちらでパスワードを設定してください:\n\n{url}\n\nリンクは 3 日間有効です。\n"
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn welcome(lang: Lang, must_confirm: bool) -> (String, String) {
        lang.welcome_mail(&Welcome {
            tenant: "Acme",
            username: "jo",
            connection: "Okta",
            must_confirm,
            url: "https://sso.test/t/acme/confirm/T",
        })
    }

    #[test]
    fn every_mail_carries_its_values_in_both_languages() {
        for l in [Lang::En, Lang::Ja] {
            let (subject, body) = welcome(l, true);
            assert!(subject.contains("Acme"), "{l:?}");
            for v in ["`jo`", "Okta", "https://sso.test/t/acme/confirm/T", "7"] {
                assert!(body.contains(v), "{l:?} welcome lacks {v}: {body}");
            }
            let (subject, body) = l.invitation_mail("Acme", "Okta", "jo", "https://u/invite/T");
            assert!(subject.contains("Acme"), "{l:?}");
            for v in ["`jo`", "Okta", "https://u/invite/T"] {
                assert!(body.contains(v), "{l:?} invitation lacks {v}: {body}");
            }
            let why = ResetReason::Disconnected { connection: "Okta" };
            let (subject, body) = l.reset_mail(&why, "Acme", "jo", "https://u/reset/T");
            assert!(subject.contains("Acme"), "{l:?}");
            for v in ["`jo`", "Okta", "https://u/reset/T", "3"] {
                assert!(body.contains(v), "{l:?} reset lacks {v}: {body}");
            }
        }
    }

    #[test]
    fn japanese_mails_are_japanese() {
        assert_eq!(
            welcome(Lang::Ja, true).0,
            "Acme へようこそ: メールアドレスの確認"
        );
        assert!(
            welcome(Lang::Ja, true)
                .1
                .contains("サインインできるようになります")
        );
        assert!(
            !welcome(Lang::Ja, false)
                .1
                .contains("サインインできるようになります")
        );
        assert!(
            Lang::Ja
                .invitation_mail("Acme", "Okta", "jo", "u")
                .1
                .contains("シングルサインオン (Okta)")
        );
        let off = ResetReason::ConnectionOff {
            connection: "Okta",
            removed: true,
        };
        assert!(
            Lang::Ja
                .reset_mail(&off, "Acme", "jo", "u")
                .1
                .starts_with("Okta による Acme へのサインインは、管理者によって削除されました。")
        );
    }

    #[test]
    fn english_mails_are_unchanged() {
        assert_eq!(
            welcome(Lang::En, false).0,
            "Welcome to Acme: confirm your email"
        );
        assert!(
            welcome(Lang::En, false)
                .1
                .contains("Please confirm your email address:")
        );
        let off = ResetReason::ConnectionOff {
            connection: "Okta",
            removed: false,
        };
        assert_eq!(
            off.sentence(Lang::En, "Acme"),
            "Signing in to Acme through Okta was turned off by your administrator."
        );
        assert_eq!(Lang::default(), Lang::En);
        assert_eq!(Lang::Ja.code(), "ja");
    }
}
