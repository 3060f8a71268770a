//! What the forms of a site's page do, each through the core function of its admin API call
//! (so it is authorised and audited exactly alike): set the audience of resources (several
//! page paths at once; a change the core warns about is shown for confirmation first, as a
//! dry run), remove a resource, and add, remove or import (CSV) registered contacts.

use super::guard::TenantForm;
use super::posted::{after, value};
use super::sites::{confirm_page, confirmed, site_page, site_url};
use super::{Refusal, error_page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use lanyard_core::Error;
use lanyard_core::content::decide::{Audience, ResourceKind};

/// Every value posted for `name`, in order (the list checkboxes).
fn values(posted: &[(String, String)], name: &str) -> Vec<String> {
    posted
        .iter()
        .filter(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

/// The paths of the textarea: one a line, blank lines skipped.
fn paths(posted: &[(String, String)]) -> Vec<String> {
    value(posted, "paths")
        .lines()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST …/sites/{host}/resources`: kind, paths (one a line; several only for pages),
/// audience and, for SSO + lists, the lists. Without `confirm=yes` it is first run as a dry
/// run; if the core warns (registered contacts lose access), the confirmation page is shown
/// and nothing changes.
pub(crate) async fn set_resources(
    State(s): State<AppState>,
    Path((slug, host)): Path<(String, String)>,
    TenantForm {
        admin,
        tenant,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let Some(kind) = ResourceKind::parse(value(&posted, "kind")) else {
        let e = Error::invalid("kind", "one of page, landing, blog, article");
        return Ok(error_page(lang, &e));
    };
    let Some(audience) = Audience::parse(value(&posted, "audience")) else {
        let e = Error::invalid("audience", "one of public, registration, sso, sso_lists");
        return Ok(error_page(lang, &e));
    };
    let ps = paths(&posted);
    // Lists only count with their audience (the form keeps the boxes of other audiences).
    let lists = if audience == Audience::SsoLists {
        values(&posted, "lists")
    } else {
        Vec::new()
    };
    let ctx = admin.admin.ctx(&meta);
    let back = site_url(&slug, &host);
    let l = &s.lanyard;
    if !confirmed(&posted) {
        match l
            .change_resources(&ctx, &slug, &host, kind, &ps, audience, &lists, true)
            .await
        {
            Ok((_, w)) if !w.is_empty() => {
                return Ok(confirm_page(
                    &s,
                    lang,
                    &admin,
                    &tenant,
                    format!("{back}/resources"),
                    back,
                    &w,
                    &posted,
                ));
            }
            Ok(_) => {}
            Err(e) => return Ok(error_page(lang, &e)),
        }
    }
    let res = l
        .change_resources(&ctx, &slug, &host, kind, &ps, audience, &lists, false)
        .await;
    Ok(after(lang, res, &back, "resources-saved"))
}

/// `POST …/sites/{host}/resources/remove`: removes the resource at `path`.
pub(crate) async fn remove_resource(
    State(s): State<AppState>,
    Path((slug, host)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .remove_resource(
            &admin.admin.ctx(&meta),
            &slug,
            &host,
            value(&posted, "path"),
        )
        .await;
    Ok(after(
        lang,
        res,
        &site_url(&slug, &host),
        "resource-removed",
    ))
}

/// `POST …/sites/{host}/contacts`: registers a contact by email.
pub(crate) async fn add_contact(
    State(s): State<AppState>,
    Path((slug, host)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let res = s
        .lanyard
        .set_contact(
            &admin.admin.ctx(&meta),
            &slug,
            &host,
            value(&posted, "email"),
            true,
        )
        .await;
    Ok(after(lang, res, &site_url(&slug, &host), "contact-added"))
}

/// `POST …/sites/{host}/contacts/remove`: removes a registered contact (their contact
/// sessions end with it).
pub(crate) async fn remove_contact(
    State(s): State<AppState>,
    Path((slug, host)): Path<(String, String)>,
    TenantForm {
        admin,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    let email = value(&posted, "email");
    let res = match s
        .lanyard
        .set_contact(&admin.admin.ctx(&meta), &slug, &host, email, false)
        .await
    {
        Ok(false) => Err(Error::ContentContactNotFound(
            email.chars().take(254).collect(),
        )),
        other => other,
    };
    Ok(after(lang, res, &site_url(&slug, &host), "contact-removed"))
}

/// `POST …/sites/{host}/contacts/import`: imports contacts from the pasted CSV (the API's
/// import); the site page shows how many were added and each refused line.
pub(crate) async fn import_contacts(
    State(s): State<AppState>,
    Path((slug, host)): Path<(String, String)>,
    TenantForm {
        admin,
        tenant,
        lang,
        meta,
        form: posted,
        ..
    }: TenantForm,
) -> Result<Response, Refusal> {
    match s
        .lanyard
        .import_contacts(&admin.admin.ctx(&meta), &slug, &host, value(&posted, "csv"))
        .await
    {
        Ok(imported) => Ok(site_page(
            &s,
            lang,
            &admin,
            &tenant,
            &meta,
            &host,
            None,
            Some(imported),
        )
        .await),
        Err(e) => Ok(error_page(lang, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_one_a_line_and_lists_every_box() {
        let f: Vec<(String, String)> = [
            ("paths", " /a \r\n\n/b\n"),
            ("lists", "x"),
            ("lists", ""),
            ("lists", "y"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(paths(&f), vec!["/a", "/b"]);
        assert_eq!(values(&f, "lists"), vec!["x", "y"]);
    }
}
