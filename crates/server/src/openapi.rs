//! The OpenAPI 3.1 document served at `/openapi.json`, derived so that it cannot drift
//! from the code: request and answer schemas come from the wire types of the `messages`
//! crate, problem documents from [`crate::problem`] (every `type` URI listed), and each
//! operation from the `#[utoipa::path]` attribute on its handler, next to the code it
//! describes. A route added to a router must be added to [`ApiDocument`] too; the flow
//! test checks that every route of API.md is listed.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::Problem;

/// Every route of the public API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "OpenStopCovid server",
        description = "Codes, key upload (DP-3T GAEN v2), signed GAEN export downloads and venue presence (CWA check-in reports). Every response carries a `Signature` header: an ES256 JWT with `content-hash` (base64 SHA-256 of the body) and `hash-alg` claims, verifiable with /v1/export-public-key. Errors are RFC 9457 problem documents (schema `Problem`), told apart by their `type`.",
    ),
    paths(
        crate::service::healthz,
        crate::service::metrics,
        serve,
        crate::keys::export_public_key,
        crate::codes::issue,
        crate::codes::status,
        crate::codes::verify,
        crate::keys::upload,
        crate::keys::download,
        crate::keys::upload_next_day,
        crate::push::wait_for_keys,
        crate::app_config::serve,
        crate::jobs::serve_export_file,
        crate::citizen_app::index,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuthentication),
)]
pub struct ApiDocument;

/// Upload tokens and authority API keys both travel as `Authorization: Bearer …`.
struct BearerAuthentication;

impl Modify for BearerAuthentication {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDocument::openapi();
    // The presence routes live in private modules; their module lists them.
    document.merge(crate::presence::PresenceDocument::openapi());
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}

#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", body = Object))
)]
pub(crate) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
