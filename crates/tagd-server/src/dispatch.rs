//! Routes a request to its dialect and writes the one log line and the metrics of a request.
//!
//! Routing: Baidu's requests are recognised first, by a `/v1/…` path or a `bce-auth-v1`
//! Authorization header; Alibaba's RPC requests go to `/` (Action in the parameters or
//! `x-acs-action`); anything else is not found.

use std::sync::Arc;
use std::time::{Duration, Instant};

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

impl From<tagd_bce::api::Handled> for Outcome {
    fn from(h: tagd_bce::api::Handled) -> Self {
        Outcome {
            response: h.response,
            request_id: h.request_id,
            dialect: "bce",
            action: h.operation.unwrap_or("-"),
            account: h.account,
            code: h.error_code,
        }
    }
}

impl From<tagd_aliyun::Handled> for Outcome {
    fn from(h: tagd_aliyun::Handled) -> Self {
        Outcome {
            response: h.response,
            request_id: h.request_id,
            dialect: "aliyun",
            action: h.action.unwrap_or("-"),
            account: h.account,
            code: h.error_code,
        }
    }
}

/// Hands a request to its dialect and logs it. Every answer to a dialect's request is in that
/// dialect's shape, also when the body is refused (over [`MAX_BODY_BYTES`], or unreadable) or
/// no answer is ready within `timeout` (the body's arrival included).
pub async fn dispatch<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    request: Request<Body>,
    timeout: Duration,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let bce = Bce::<S>::claims(&parts.uri, &parts.headers);
    if !bce && !Aliyun::<S>::claims(&parts.uri) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    // A body announced over the limit is refused before it is read: a client waiting on
    // `Expect: 100-continue` then gets the error instead of an invitation to send it all.
    let announced_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64);
    let handle = async {
        let read = if announced_too_large {
            Err(None)
        } else {
            to_bytes(body, MAX_BODY_BYTES).await.map_err(Some)
        };
        let body = match read {
            Ok(body) => body,
            Err(err) => {
                let too_large = err.is_none_or(is_over_limit);
                let mut refused: Outcome = if bce {
                    state.bce.body_refused().into()
                } else {
                    let limit = too_large.then_some(MAX_BODY_BYTES);
                    state
                        .aliyun
                        .body_refused(&parts.uri, &parts.headers, limit)
                        .into()
                };
                // What is left of the body is not read, so the connection cannot carry
                // another request: say so (bce.md §1.5: a keep-alive client would reuse it).
                refused.response.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
                return refused;
            }
        };
        if bce {
            let h = state
                .bce
                .handle(&parts.method, &parts.uri, &parts.headers, body)
                .await;
            Outcome::from(h)
        } else {
            let h = state
                .aliyun
                .handle(&parts.method, &parts.uri, &parts.headers, body)
                .await;
            Outcome::from(h)
        }
    };
    let outcome = match tokio::time::timeout(timeout, handle).await {
        Ok(outcome) => outcome,
        Err(_) if bce => state.bce.timed_out().into(),
        Err(_) => state.aliyun.timed_out(&parts.uri, &parts.headers).into(),
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

/// Whether a body read failed on the size limit (not on the connection or its framing).
fn is_over_limit(err: axum::Error) -> bool {
    err.into_inner()
        .downcast_ref::<http_body_util::LengthLimitError>()
        .is_some()
}
