//! The landing page (`/`: sign-in by organisation, the API document, health) and the API
//! reference (`/docs/api`): server-rendered from the OpenAPI document, no script (the CSP
//! forbids inline script and nothing is fetched from elsewhere).

use crate::AppState;
use crate::pages::{self, render};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    let reference: Arc<Result<String, String>> = Arc::new(render_reference());
    Router::new()
        .route("/", get(home))
        .route("/signin", get(go_to_sign_in))
        .route(
            "/docs/api",
            get(move || {
                let reference = reference.clone();
                async move {
                    match reference.as_ref() {
                        Ok(html) => html_response(html.clone()),
                        Err(e) => {
                            tracing::error!(error = %e, "API reference failed to render");
                            pages::error_page(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "internal",
                                "The API reference could not be rendered; /api/v1/openapi.json has the document.",
                            )
                        }
                    }
                }
            }),
        )
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    version: &'a str,
    error: Option<&'a str>,
}

async fn home() -> Response {
    render(
        StatusCode::OK,
        &HomePage {
            version: env!("CARGO_PKG_VERSION"),
            error: None,
        },
    )
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    tenant: String,
}

/// The landing page's form: the organisation's sign-in page, for a name a slug can be.
async fn go_to_sign_in(Query(q): Query<SignInQuery>) -> Response {
    let slug = q.tenant.trim().to_ascii_lowercase();
    let valid = !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/t/{slug}/login"))],
        )
            .into_response()
    } else {
        render(
            StatusCode::BAD_REQUEST,
            &HomePage {
                version: env!("CARGO_PKG_VERSION"),
                error: Some(crate::i18n::Tr::current().t("pg-home-bad-tenant")),
            },
        )
    }
}

fn html_response(html: String) -> Response {
    render(StatusCode::OK, &Raw { html: &html })
}

/// A page already rendered (the reference is rendered once, at start).
#[derive(Template)]
#[template(source = "{{ html|safe }}", ext = "html")]
struct Raw<'a> {
    html: &'a str,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ReferencePage {
    title: String,
    version: String,
    tags: Vec<TagGroup>,
    schemas: Vec<SchemaView>,
}

struct TagGroup {
    name: String,
    operations: Vec<OperationView>,
}

struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<(String, String, bool)>,
    request: Option<String>,
    responses: Vec<(String, String, Option<String>)>,
}

struct SchemaView {
    name: String,
    json: String,
}

fn render_reference() -> Result<String, String> {
    let doc = serde_json::to_value(crate::api::openapi()).map_err(|e| e.to_string())?;
    reference_page(&doc).render().map_err(|e| e.to_string())
}

/// The name of the schema a `$ref` (or an array of one) points at.
fn schema_name(v: &Value) -> Option<String> {
    let r = v
        .get("$ref")
        .or_else(|| v.get("items").and_then(|i| i.get("$ref")))?
        .as_str()?;
    let name = r.rsplit('/').next()?.to_owned();
    Some(if v.get("items").is_some() {
        format!("{name}[]")
    } else {
        name
    })
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn reference_page(doc: &Value) -> ReferencePage {
    let mut tags: Vec<TagGroup> = Vec::new();
    let empty = serde_json::Map::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let tag = op
                .get("tags")
                .and_then(|t| t.get(0))
                .and_then(Value::as_str)
                .unwrap_or("other")
                .to_owned();
            let parameters = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            (
                                text(p, "name"),
                                text(p, "in"),
                                p.get("required").and_then(Value::as_bool).unwrap_or(false),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let request = op
                .pointer("/requestBody/content/application~1json/schema")
                .and_then(schema_name);
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|rs| {
                    rs.iter()
                        .map(|(status, r)| {
                            (
                                status.clone(),
                                text(r, "description"),
                                r.pointer("/content/application~1json/schema")
                                    .and_then(schema_name),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let view = OperationView {
                anchor: format!(
                    "{method}-{}",
                    path.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
                ),
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                parameters,
                request,
                responses,
            };
            match tags.iter_mut().find(|g| g.name == tag) {
                Some(g) => g.operations.push(view),
                None => tags.push(TagGroup {
                    name: tag,
                    operations: vec![view],
                }),
            }
        }
    }
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .map(|(name, schema)| SchemaView {
                    name: name.clone(),
                    json: serde_json::to_string_pretty(schema).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    ReferencePage {
        title: doc
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("Lanyard admin API")
            .to_owned(),
        version: doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        tags,
        schemas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation and schema of the real document shows on the page.
    #[test]
    fn the_reference_lists_every_operation_and_schema() {
        let doc = serde_json::to_value(crate::api::openapi()).unwrap();
        let page = reference_page(&doc);
        let ops: usize = page.tags.iter().map(|t| t.operations.len()).sum();
        let expected: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| {
                ["get", "post", "put", "patch", "delete"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .count()
            })
            .sum();
        assert!(expected > 10);
        assert_eq!(ops, expected);
        assert_eq!(
            page.schemas.len(),
            doc["components"]["schemas"].as_object().unwrap().len()
        );
        let html = render_reference().unwrap();
        assert!(html.contains("/api/v1/tenants/{tenant}/roles"));
        assert!(!html.contains("<script"), "no script: the CSP forbids it");
    }
}
