//! Routes a request to its dialect and writes the one log line and the metrics of a request.
//!
//! Routing: Baidu's requests are recognised first, by a `/v1/…` path or a `bce-auth-v1`
//! Authorization header; Alibaba's RPC requests go to `/` (Action in the parameters or
//! `x-acs-action`); anything else is not found.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use tagd_aliyun::Aliyun;
use tagd_bce::api::Bce;
use tagd_core::Store;

use crate::{AppState, MAX_BODY_BYTES};

/// What the request log and metrics need of a handled request.
struct Outcome {
    response: http::Response<bytes::Bytes>,
    request_id: String,
    dialect: &'static str,
    action: &'static str,
    account: Option<String>,
    code: Option<String>,
}

pub async fn dispatch<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    request: Request<Body>,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let bce = Bce::<S>::claims(&parts.uri, &parts.headers);
    if !bce && !Aliyun::<S>::claims(&parts.uri) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    };
    let outcome = if bce {
        let h = state
            .bce
            .handle(&parts.method, &parts.uri, &parts.headers, body)
            .await;
        Outcome {
            response: h.response,
            request_id: h.request_id,
            dialect: "bce",
            action: h.operation.unwrap_or("-"),
            account: h.account,
            code: h.error_code,
        }
    } else {
        let h = state
            .aliyun
            .handle(&parts.method, &parts.uri, &parts.headers, body)
            .await;
        Outcome {
            response: h.response,
            request_id: h.request_id,
            dialect: "aliyun",
            action: h.action.unwrap_or("-"),
            account: h.account,
            code: h.error_code,
        }
    };
    let status = outcome.response.status().as_u16();
    let code = outcome.code.as_deref().unwrap_or("OK");
    let elapsed = started.elapsed();
    tracing::info!(
        target: "tagd::request",
        request_id = %outcome.request_id,
        dialect = outcome.dialect,
        action = outcome.action,
        account = outcome.account.as_deref().unwrap_or("-"),
        status,
        code,
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    metrics::counter!(
        "tagd_requests_total",
        "dialect" => outcome.dialect,
        "action" => outcome.action,
        "code" => code.to_owned()
    )
    .increment(1);
    metrics::histogram!(
        "tagd_request_duration_seconds",
        "dialect" => outcome.dialect,
        "action" => outcome.action
    )
    .record(elapsed.as_secs_f64());
    outcome.response.map(Body::from)
}
