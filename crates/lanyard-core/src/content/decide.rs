//! The forward-auth decision, pure: which resource a request names (host and path, most
//! specific first), and what its audience, the site's SSO setting, the visitor and their list
//! memberships make of it. No store, no clock: the flow in `content/mod.rs` gathers the facts.

/// What kind of content a resource rule covers; only a blog's rule covers paths below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Page,
    Landing,
    Blog,
    Article,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Landing => "landing",
            Self::Blog => "blog",
            Self::Article => "article",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "page" => Some(Self::Page),
            "landing" => Some(Self::Landing),
            "blog" => Some(Self::Blog),
            "article" => Some(Self::Article),
            _ => None,
        }
    }
}

/// Who may read a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public,
    /// Contacts who registered (emailed one-time link).
    Registration,
    /// Anyone signed in through the site's SSO connection.
    Sso,
    /// Signed in through SSO and, by verified email, on one of the resource's lists.
    SsoLists,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Registration => "registration",
            Self::Sso => "sso",
            Self::SsoLists => "sso_lists",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Self::Public),
            "registration" => Some(Self::Registration),
            "sso" => Some(Self::Sso),
            "sso_lists" => Some(Self::SsoLists),
            _ => None,
        }
    }

    /// What the audience means while the site's SSO is `sso_enabled`: with SSO off,
    /// SSO-required content is public and list content is inaccessible (`None`). The stored
    /// audience is kept, so turning SSO on again restores it.
    pub fn effective(self, sso_enabled: bool) -> Option<Self> {
        match (self, sso_enabled) {
            (Self::Sso, false) => Some(Self::Public),
            (Self::SsoLists, false) => None,
            (a, _) => Some(a),
        }
    }
}

/// One rule as the matcher sees it.
pub trait Rule {
    fn kind(&self) -> ResourceKind;
    fn path(&self) -> &str;
}

/// Whether a blog rule at `prefix` covers `path`: the blog itself or anything below it.
fn under(prefix: &str, path: &str) -> bool {
    let p = prefix.trim_end_matches('/');
    p.is_empty() || path == p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
}

/// The rule that decides `path`: an exact match of any kind first, then the blog with the
/// longest prefix covering the path. Query and fragment are not part of the path.
pub fn match_resource<'a, R: Rule>(rules: &'a [R], path: &str) -> Option<&'a R> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if let Some(r) = rules.iter().find(|r| r.path() == path) {
        return Some(r);
    }
    // `/secret/` is often the same page as `/secret` (a static site's directory index).
    let bare = path.trim_end_matches('/');
    if let Some(r) = rules
        .iter()
        .find(|r| !bare.is_empty() && r.path().trim_end_matches('/') == bare)
    {
        return Some(r);
    }
    rules
        .iter()
        .filter(|r| r.kind() == ResourceKind::Blog && under(r.path(), path))
        .max_by_key(|r| r.path().trim_end_matches('/').len())
}

/// How a visitor signed in on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitorKind {
    /// Through the site's SSO connection (a Lanyard session of a user).
    Sso,
    /// A registered contact, through an emailed one-time link (no user account).
    Contact,
}

/// The signed-in visitor, as far as the decision needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub kind: VisitorKind,
    /// The user's id, or `contact:{id}` for a registered contact.
    pub user_id: String,
    /// Verified (IdP-vouched or confirmed) email, case folded; `None` if there is none.
    pub email: Option<String>,
    pub role: Option<String>,
    /// Ids of the lists of this site's tenant the email is on.
    pub lists: Vec<String>,
}

/// Why a request is refused outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The host is no site of any tenant.
    UnknownSite,
    /// Signed in, but on none of the resource's lists.
    NotOnList,
    /// List-restricted content while the site's SSO is off.
    SsoOff,
}

impl DenyReason {
    /// The refusal (stable code and message) this reason answers with.
    pub fn refusal(self) -> super::codes::Refusal {
        use super::codes::Refusal;
        match self {
            Self::UnknownSite => Refusal::UnknownSite,
            Self::NotOnList => Refusal::NotOnList,
            Self::SsoOff => Refusal::SsoOff,
        }
    }

    pub fn code(self) -> &'static str {
        self.refusal().code()
    }
}

/// Which sign-in a visitor without a session is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInKind {
    Sso,
    Registration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through; `Some` when it was gated and the visitor is known.
    Allow(Option<Visitor>),
    SignIn(SignInKind),
    Deny(DenyReason),
}

/// Whether the decision needs the visitor at all: public (effective) content never looks up a
/// session, nor does content that is inaccessible to everyone.
pub fn needs_visitor(audience: Audience, sso_enabled: bool) -> bool {
    !matches!(
        audience.effective(sso_enabled),
        Some(Audience::Public) | None
    )
}

/// The decision for a resource of `audience` with `lists` on a site whose SSO is
/// `sso_enabled`, for `visitor` (signed in on this site) or nobody.
pub fn decide(
    audience: Audience,
    lists: &[String],
    sso_enabled: bool,
    visitor: Option<Visitor>,
) -> Decision {
    match audience.effective(sso_enabled) {
        None => Decision::Deny(DenyReason::SsoOff),
        Some(Audience::Public) => Decision::Allow(None),
        Some(Audience::Registration) => match visitor {
            Some(v) => Decision::Allow(Some(v)),
            None => Decision::SignIn(SignInKind::Registration),
        },
        // A registered contact reaches registration content only: SSO content still needs SSO.
        Some(Audience::Sso) => match visitor {
            Some(v) if v.kind == VisitorKind::Sso => Decision::Allow(Some(v)),
            _ => Decision::SignIn(SignInKind::Sso),
        },
        Some(Audience::SsoLists) => match visitor {
            None => Decision::SignIn(SignInKind::Sso),
            Some(v) if v.kind == VisitorKind::Contact => Decision::SignIn(SignInKind::Sso),
            Some(v) if v.email.is_some() && v.lists.iter().any(|l| lists.contains(l)) => {
                Decision::Allow(Some(v))
            }
            Some(_) => Decision::Deny(DenyReason::NotOnList),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    struct R(ResourceKind, &'static str);
    impl Rule for R {
        fn kind(&self) -> ResourceKind {
            self.0
        }
        fn path(&self) -> &str {
            self.1
        }
    }

    #[test]
    fn matching_is_exact_first_then_longest_blog_prefix() {
        use ResourceKind::*;
        let rules = [
            R(Blog, "/blog"),
            R(Blog, "/blog/internal/"),
            R(Page, "/blog/launch"),
            R(Page, "/pricing"),
            R(Article, "/kb/reset"),
            R(Landing, "/promo"),
        ];
        let cases: &[(&str, Option<&str>)] = &[
            ("/pricing", Some("/pricing")),
            ("/pricing?x=1", Some("/pricing")),
            ("/pricing/more", None), // a page covers only itself
            ("/blog", Some("/blog")),
            ("/blog/post-1", Some("/blog")),
            ("/blog/launch", Some("/blog/launch")), // exact beats the blog
            ("/blog/internal/x", Some("/blog/internal/")),
            ("/blogger", None), // a prefix only at a segment boundary
            ("/kb/reset", Some("/kb/reset")),
            ("/kb/other", None), // no whole-knowledge-base rule
            ("/promo", Some("/promo")),
            ("/", None),
            // A trailing slash names the same page (a static site serves `/x/` for `/x`).
            ("/pricing/", Some("/pricing")),
            ("/blog/launch/", Some("/blog/launch")),
            ("/kb/reset/", Some("/kb/reset")),
        ];
        for (path, want) in cases {
            assert_eq!(match_resource(&rules, path).map(|r| r.1), *want, "{path}");
        }
    }

    fn visitor(on: &[&str]) -> Visitor {
        Visitor {
            kind: VisitorKind::Sso,
            user_id: "u1".into(),
            email: Some("ann@acme.example".into()),
            role: Some("standard".into()),
            lists: on.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn every_audience_sso_setting_and_visitor() {
        use Audience::*;
        use Decision::*;
        let lists = vec!["L1".to_owned(), "L2".to_owned()];
        #[derive(Clone, Copy, Debug)]
        enum V {
            None,
            Off,   // signed in, on no list
            On,    // signed in, on L2
            Other, // signed in, on another list
        }
        let mk = |v: V| match v {
            V::None => None,
            V::Off => Some(visitor(&[])),
            V::On => Some(visitor(&["L2"])),
            V::Other => Some(visitor(&["L9"])),
        };
        // (audience, sso on, visitor, expected)
        let allow = |v: V| Allow(mk(v));
        let table: Vec<(Audience, bool, V, Decision)> = vec![
            (Public, true, V::None, Allow(None)),
            (Public, true, V::On, Allow(None)),
            (Public, false, V::None, Allow(None)),
            (Public, false, V::On, Allow(None)),
            (
                Registration,
                true,
                V::None,
                SignIn(SignInKind::Registration),
            ),
            (Registration, true, V::Off, allow(V::Off)),
            (
                Registration,
                false,
                V::None,
                SignIn(SignInKind::Registration),
            ),
            (Registration, false, V::Off, allow(V::Off)),
            (Sso, true, V::None, SignIn(SignInKind::Sso)),
            (Sso, true, V::Off, allow(V::Off)),
            (Sso, true, V::On, allow(V::On)),
            // SSO off: SSO-required content is public (no visitor needed or passed on)
            (Sso, false, V::None, Allow(None)),
            (Sso, false, V::On, Allow(None)),
            (SsoLists, true, V::None, SignIn(SignInKind::Sso)),
            (SsoLists, true, V::Off, Deny(DenyReason::NotOnList)),
            (SsoLists, true, V::Other, Deny(DenyReason::NotOnList)),
            (SsoLists, true, V::On, allow(V::On)),
            // SSO off: list content is inaccessible to everyone, even members
            (SsoLists, false, V::None, Deny(DenyReason::SsoOff)),
            (SsoLists, false, V::Off, Deny(DenyReason::SsoOff)),
            (SsoLists, false, V::On, Deny(DenyReason::SsoOff)),
        ];
        for (aud, sso, v, want) in table {
            assert_eq!(
                decide(aud, &lists, sso, mk(v)),
                want,
                "{aud:?} sso={sso} {v:?}"
            );
        }
    }

    #[test]
    fn a_registered_contact_reaches_registration_content_only() {
        let mut c = visitor(&["L1"]);
        c.kind = VisitorKind::Contact;
        c.user_id = "contact:c1".into();
        let lists = ["L1".to_owned()];
        assert_eq!(
            decide(Audience::Registration, &lists, true, Some(c.clone())),
            Decision::Allow(Some(c.clone()))
        );
        for aud in [Audience::Sso, Audience::SsoLists] {
            assert_eq!(
                decide(aud, &lists, true, Some(c.clone())),
                Decision::SignIn(SignInKind::Sso),
                "{aud:?}"
            );
        }
        // SSO off: SSO content is public for everyone, list content closed for everyone.
        assert_eq!(
            decide(Audience::Sso, &lists, false, Some(c.clone())),
            Decision::Allow(None)
        );
        assert_eq!(
            decide(Audience::SsoLists, &lists, false, Some(c)),
            Decision::Deny(DenyReason::SsoOff)
        );
    }

    #[test]
    fn a_member_without_an_email_is_not_on_the_list() {
        let mut v = visitor(&["L1"]);
        v.email = None;
        assert_eq!(
            decide(Audience::SsoLists, &["L1".to_owned()], true, Some(v)),
            Decision::Deny(DenyReason::NotOnList)
        );
    }

    #[test]
    fn sso_off_then_on_restores_the_stored_audience() {
        for a in [
            Audience::Public,
            Audience::Registration,
            Audience::Sso,
            Audience::SsoLists,
        ] {
            assert_eq!(a.effective(true), Some(a));
            assert_eq!(Audience::parse(a.as_str()), Some(a));
        }
        assert!(!needs_visitor(Audience::Sso, false));
        assert!(!needs_visitor(Audience::SsoLists, false));
        assert!(needs_visitor(Audience::SsoLists, true));
        assert!(!needs_visitor(Audience::Public, true));
    }
}
