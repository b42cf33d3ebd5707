//! Routes a request to its dialect and writes the one log line and the metrics of a request.
//!
//! Routing: Alibaba's RPC requests go to `/` (Action in the parameters or `x-acs-action`);
//! anything else is not found. (Baidu's `/v1/...` with `bce-auth-v1` joins here later.)

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use tagd_aliyun::Aliyun;
use tagd_core::Store;

use crate::{AppState, MAX_BODY_BYTES};

pub async fn dispatch<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    request: Request<Body>,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    if !Aliyun::<S>::claims(&parts.uri) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    };
    let handled = state
        .aliyun
        .handle(&parts.method, &parts.uri, &parts.headers, body)
        .await;
    let status = handled.response.status().as_u16();
    let action = handled.action.unwrap_or("-");
    let code = handled.error_code.as_deref().unwrap_or("OK");
    let elapsed = started.elapsed();
    tracing::info!(
        target: "tagd::request",
        request_id = %handled.request_id,
        dialect = "aliyun",
        action,
        account = handled.account.as_deref().unwrap_or("-"),
        status,
        code,
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    metrics::counter!("tagd_requests_total", "dialect" => "aliyun", "action" => action, "code" => code.to_owned())
        .increment(1);
    metrics::histogram!("tagd_request_duration_seconds", "dialect" => "aliyun", "action" => action)
        .record(elapsed.as_secs_f64());
    handled.response.map(Body::from)
}
