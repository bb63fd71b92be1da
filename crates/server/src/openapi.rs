//! The OpenAPI 3 description of every route, written by hand (it is the public contract
//! of API.md, and a generator would need annotations on every handler).

use axum::Json;
use serde_json::{Value, json};

fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

/// The document served at `/openapi.json`.
pub fn document() -> Value {
    let bearer = json!([{"bearer": []}]);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "OpenStopCovid server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Codes, key upload (DP-3T GAEN v2) and signed GAEN export downloads. Every response carries a `Signature` header: an ES256 JWT with `content-hash` (base64 SHA-256 of the body) and `hash-alg` claims, verifiable with /v1/export-public-key. Errors are RFC 9457 problem documents."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {"type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "integer"}, "detail": {"type": "string"}}},
                "CheckInProtectedReport": {"type": "object", "required": ["locationIdHash", "iv", "encryptedCheckInRecord", "mac"], "properties": {
                    "locationIdHash": {"type": "string", "format": "byte", "description": "SHA-256 of the location id, 32 bytes"},
                    "iv": {"type": "string", "format": "byte", "description": "16 bytes"},
                    "encryptedCheckInRecord": {"type": "string", "format": "byte", "description": "AES-256-CBC of a CheckInRecord, a multiple of 16 bytes up to 64"},
                    "mac": {"type": "string", "format": "byte", "description": "HMAC-SHA256 over iv and ciphertext, 32 bytes"}}},
                "CheckInUpload": {"type": "object", "required": ["checkInProtectedReports"], "properties": {
                    "checkInProtectedReports": {"type": "array", "minItems": 1, "maxItems": 300, "items": {"$ref": "#/components/schemas/CheckInProtectedReport"}},
                    "fake": {"type": "integer", "enum": [0, 1]}}},
                "GaenKey": {"type": "object", "required": ["keyData", "rollingStartNumber", "rollingPeriod", "fake"], "properties": {
                    "keyData": {"type": "string", "format": "byte", "description": "16 bytes, base64"},
                    "rollingStartNumber": {"type": "integer", "minimum": 0},
                    "rollingPeriod": {"type": "integer", "minimum": 1, "maximum": 144},
                    "fake": {"type": "integer", "enum": [0, 1]}}}
            }
        },
        "paths": {
            "/healthz": {"get": {"summary": "200 when the store is reachable", "responses": {
                "200": {"description": "healthy", "content": {"text/plain": {}}},
                "503": problem_response("the database does not answer")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
                "200": {"description": "Prometheus text format", "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {
                "200": {"description": "OpenAPI 3", "content": {"application/json": {}}}}}},
            "/v1/export-public-key": {"get": {"summary": "PEM (SubjectPublicKeyInfo) of the key that signs export files and responses", "responses": {
                "200": {"description": "PEM", "content": {"application/x-pem-file": {}}}}}},
            "/v1/authority/codes": {"post": {"summary": "Issue a one-time code (12 digits, Verhoeff check digit)", "security": bearer,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "onsetDate": {"type": "string", "format": "date"}}}}}},
                "responses": {
                    "201": {"description": "issued", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "id": {"type": "string"}, "code": {"type": "string", "pattern": "^[0-9]{12}$"},
                        "expiresAt": {"type": "string", "format": "date-time"}}}}}},
                    "400": problem_response("bad onset date or body"),
                    "401": problem_response("missing or unknown API key")}}},
            "/v1/authority/codes/{id}": {"get": {"summary": "Status of an issued code", "security": bearer,
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "status", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "id": {"type": "string"}, "status": {"type": "string", "enum": ["unused", "used", "expired"]},
                        "expiresAt": {"type": "string", "format": "date-time"}}}}}},
                    "401": problem_response("missing or unknown API key"),
                    "404": problem_response("no such code")}}},
            "/v1/codes/verify": {"post": {"summary": "Trade a code for an upload token (ES256 JWT, at most 60 minutes)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code"], "properties": {
                    "code": {"type": "string"}, "fake": {"type": "boolean"}}}}}},
                "responses": {
                    "200": {"description": "token", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "accessToken": {"type": "string"}}}}}},
                    "404": problem_response("unknown, used or expired code"),
                    "429": problem_response("too many checks")}}},
            "/v2/gaen/exposed": {
                "post": {"summary": "Upload exactly 30 keys (real and fake: 1 padding)", "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["gaenKeys", "delayedKeyDate"], "properties": {
                        "gaenKeys": {"type": "array", "minItems": 30, "maxItems": 30, "items": {"$ref": "#/components/schemas/GaenKey"}},
                        "delayedKeyDate": {"type": "integer", "description": "rolling start of today's key, uploaded tomorrow"}}}}}},
                    "responses": {
                        "200": {"description": "stored; the next-day token is in the Authorization header and the body",
                            "content": {"application/json": {"schema": {"type": "object", "properties": {"nextDayToken": {"type": "string"}}}}}},
                        "400": problem_response("invalid keys"),
                        "401": problem_response("missing, invalid or expired token"),
                        "403": problem_response("token already used or of another scope"),
                        "413": problem_response("body too large")}},
                "get": {"summary": "Signed GAEN export zip of the keys released since lastKeyBundleTag",
                    "parameters": [{"name": "lastKeyBundleTag", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}}],
                    "responses": {
                        "200": {"description": "export zip; new tag in x-key-bundle-tag", "content": {"application/zip": {}}},
                        "204": {"description": "nothing new; new tag in x-key-bundle-tag"},
                        "400": problem_response("bad tag")}}},
            "/v1/gaen/exposednextday": {"post": {"summary": "Upload yesterday's key with the next-day token", "security": bearer,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["delayedKey"], "properties": {
                    "delayedKey": {"$ref": "#/components/schemas/GaenKey"}}}}}},
                "responses": {
                    "200": {"description": "stored"},
                    "400": problem_response("invalid key"),
                    "401": problem_response("missing, invalid or expired token"),
                    "403": problem_response("token already used or of another scope")}}},
            "/v1/checkins": {"post": {"summary": "Upload a positive visitor's protected check-in reports (same token as the keys; one use)", "security": bearer,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckInUpload"}}}},
                "responses": {
                    "200": {"description": "stored (nothing for fake: 1)", "content": {"application/json": {}}},
                    "400": problem_response("malformed reports: base64, sizes, more than 300 reports"),
                    "401": problem_response("missing, invalid or expired token"),
                    "403": problem_response("token already used for check-ins or of another scope"),
                    "413": problem_response("body too large")}}},
            "/v1/venues/warnings": {"post": {"summary": "A venue owner warns their guests of one time window (reports made by the owner's client with presence::warn_on_behalf; token from an authority code; at most 20 reports)", "security": bearer,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckInUpload"}}}},
                "responses": {
                    "200": {"description": "stored (nothing for fake: 1)", "content": {"application/json": {}}},
                    "400": problem_response("malformed reports"),
                    "401": problem_response("missing, invalid or expired token"),
                    "403": problem_response("token already used for a venue warning")}}},
            "/v1/warnings": {"get": {"summary": "Check-in reports published after the hour `since` (hours since 1970-01-01), up to the last complete hour; keep the `x-warnings-until` header (= intervalNumber) as the next `since`",
                "parameters": [
                    {"name": "since", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}},
                    {"name": "format", "in": "query", "required": false, "schema": {"type": "string", "enum": ["protobuf", "json"]}, "description": "or send Accept: application/json"}],
                "responses": {
                    "200": {"description": "a TraceWarningPackage (CWA pt/trace_warning.proto: 1 intervalNumber = until, 2 region, 4 checkInProtectedReports) or its JSON form; header x-warnings-until",
                        "content": {
                            "application/x-protobuf": {},
                            "application/json": {"schema": {"type": "object", "properties": {
                                "since": {"type": "integer"}, "intervalNumber": {"type": "integer"}, "region": {"type": "string"},
                                "checkInProtectedReports": {"type": "array", "items": {"$ref": "#/components/schemas/CheckInProtectedReport"}}}}}}},
                    "400": problem_response("bad cursor or format")}}},
            "/v1/push/keys": {"get": {"summary": "Long poll: answers as soon as a download from lastKeyBundleTag would bring keys, or after waitSeconds (default 60, at most 300)",
                "parameters": [
                    {"name": "lastKeyBundleTag", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "waitSeconds", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 300}}],
                "responses": {
                    "200": {"description": "whether new keys are out", "content": {"application/json": {"schema": {"type": "object", "required": ["newKeys", "keyBundleTag"], "properties": {
                        "newKeys": {"type": "boolean"}, "keyBundleTag": {"type": "integer"}}}}}},
                    "400": problem_response("bad tag or wait")}}},
            "/app/": {"get": {"summary": "The citizen web app (static files in the binary); `{public_url}/app/?v=1#<venue payload>` is the URL in our venue QR codes",
                "responses": {
                    "200": {"description": "the app's page", "content": {"text/html": {}}},
                    "304": {"description": "not modified (ETag)"}}}},
            "/v1/exports/{file}": {"get": {"summary": "Daily export files (`<day>.zip`) and their list (`index.txt`), with ETag",
                "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "the file"},
                    "304": {"description": "not modified"},
                    "404": problem_response("no such file")}}}
        }
    })
}

pub(crate) async fn serve() -> Json<Value> {
    Json(document())
}
