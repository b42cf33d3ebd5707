//! Baidu's dialect through the whole router, in-process: routing next to Alibaba's, requests
//! signed with the crate's own client signer (checked against Baidu's vectors in tagd-bce).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use tagd_bce::query::Query;
use tagd_bce::sign::{self, HeaderSelection, SignRequest};
use tagd_core::TagService;
use tagd_core::admin;
use tagd_core::testkit::MemStore;
use tagd_server::{AppState, router};
use tower::ServiceExt as _;

struct Fixture {
    app: axum::Router,
    key_id: String,
    secret: String,
}

async fn fixture(quota: usize) -> Fixture {
    let store = MemStore::new();
    let root = admin::bootstrap_root(&store)
        .await
        .expect("bootstrap")
        .expect("root");
    let service = Arc::new(TagService::new(store, false).await.expect("service"));
    let state = Arc::new(AppState::with_bce_quota(service, "token".into(), quota));
    Fixture {
        app: router(state, Duration::from_secs(5)),
        key_id: root.key.access_key_id.as_str().to_owned(),
        secret: root.key.secret.expose().to_owned(),
    }
}

/// A request signed as bce-python-sdk signs (default header set, empty signedHeaders).
fn signed(f: &Fixture, method: &str, path: &str, raw_query: &str, body: &str) -> Request<Body> {
    let query = Query::parse(raw_query).expect("query");
    let now = time::OffsetDateTime::now_utc();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert(
        "x-bce-date",
        HeaderValue::from_str(&sign::format_timestamp(now)).expect("date"),
    );
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert("content-length", HeaderValue::from(body.len()));
    let signature = sign::sign(&SignRequest {
        method,
        path,
        query: &query,
        headers: &headers,
        access_key_id: &f.key_id,
        secret: &f.secret,
        timestamp: now,
        expiration_secs: 1800,
        selection: HeaderSelection::Implicit,
    });
    let uri = if raw_query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{raw_query}")
    };
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    request
        .header("authorization", signature.authorization)
        .body(Body::from(body.to_owned()))
        .expect("request")
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (
        status,
        headers,
        String::from_utf8(body.to_vec()).expect("utf-8"),
    )
}

#[tokio::test]
async fn create_bind_and_list_through_the_router() {
    let f = fixture(200).await;
    let create = r#"{"tags":[{"tagKey":"env","tagValue":"prod"}]}"#;
    let (status, headers, body) =
        send(&f.app, signed(&f, "PUT", "/v1/tag", "create", create)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    assert!(headers.get("x-bce-request-id").is_some());
    let bind = r#"{"tagKey":"env","tagValue":"prod","serviceType":"BCC","resources":[{"resourceId":"i-1","serviceType":"BCC","region":"bj"}]}"#;
    let (status, _, _) = send(&f.app, signed(&f, "POST", "/v1/resource", "", bind)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = send(
        &f.app,
        signed(&f, "GET", "/v1/tag/tagResources", "region=bj", ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(
        body,
        r#"{"tagResources":[{"tagKey":"env","tagValue":"prod","resources":[{"resourceType":"BCC","resourceId":"i-1","region":"bj"}]}]}"#
    );
    let (_, _, body) = send(&f.app, signed(&f, "GET", "/v1/tag", "tagKey=none", "")).await;
    assert_eq!(body, r#"{"tags":[]}"#, "the list key is always present");
}

#[tokio::test]
async fn errors_have_the_bce_shape() {
    let f = fixture(1).await;
    let two = r#"{"tags":[{"tagKey":"a","tagValue":"1"},{"tagKey":"b","tagValue":"2"}]}"#;
    let (status, headers, body) = send(&f.app, signed(&f, "PUT", "/v1/tag", "create", two)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["code"], "TagExceptions.LimitExceeded");
    assert_eq!(json["message"], "Limit exceeded for current request.");
    assert_eq!(
        json["requestId"].as_str(),
        headers["x-bce-request-id"].to_str().ok()
    );
    let (_, _, body) = send(&f.app, signed(&f, "GET", "/v1/tag", "", "")).await;
    assert_eq!(body, r#"{"tags":[]}"#, "nothing was created");
    let unsigned = Request::get("/v1/tag")
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&f.app, unsigned).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains(r#""code":"AccessDenied""#), "{body}");
}

#[tokio::test]
async fn a_tampered_request_is_refused() {
    let f = fixture(200).await;
    let mut request = signed(&f, "GET", "/v1/tag", "tagKey=env", "");
    *request.uri_mut() = "/v1/tag?tagKey=team".parse().expect("uri");
    let (status, _, body) = send(&f.app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains(r#""code":"SignatureDoesNotMatch""#), "{body}");
}
