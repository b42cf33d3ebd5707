//! Requests the server refuses before a dialect reads them (a body over the limit or not
//! readable, no answer within the request timeout) are answered in that dialect's error shape,
//! as its SDKs read errors (aliyun.md §1.6, bce.md §3.1), not as bare text.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use http::{Request, StatusCode};
use http_body::Frame;
use tagd_core::TagService;
use tagd_core::admin;
use tagd_core::testkit::MemStore;
use tagd_server::{AppState, MAX_BODY_BYTES, router};
use tower::ServiceExt as _;

async fn app(timeout: Duration) -> axum::Router {
    let store = MemStore::new();
    admin::bootstrap_root(&store).await.expect("bootstrap");
    let service = Arc::new(TagService::new(store, false).await.expect("service"));
    router(Arc::new(AppState::new(service, "token".into())), timeout)
}

/// A body that never ends (the client stalls), or fails (the connection broke mid-body).
enum Misbehaving {
    Stalled,
    Broken,
}

impl http_body::Body for Misbehaving {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match *self {
            Misbehaving::Stalled => Poll::Pending,
            Misbehaving::Broken => Poll::Ready(Some(Err(std::io::Error::other("reset")))),
        }
    }
}

struct Answer {
    status: StatusCode,
    content_type: String,
    request_id_header: Option<String>,
    body: String,
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let request_id_header = header("x-bce-request-id");
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    Answer {
        status,
        content_type,
        request_id_header,
        body: String::from_utf8(body.to_vec()).expect("utf-8"),
    }
}

fn json(answer: &Answer) -> serde_json::Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
}

const ALIYUN_QUERY: &str =
    "Action=TagResources&Version=2014-08-15&Format=JSON&RegionId=cn-hangzhou";

fn aliyun(query: &str, body: Body) -> Request<Body> {
    Request::post(format!("/?{query}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .expect("request")
}

fn bce(body: Body) -> Request<Body> {
    Request::put("/v1/tag?create")
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .expect("request")
}

fn too_large() -> Body {
    Body::from(vec![b'a'; MAX_BODY_BYTES + 1])
}

/// The Alibaba error body of §1.6: every field, the code, and the product of the action.
fn assert_aliyun_error(answer: &Answer, status: u16, code: &str, message_part: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
    assert!(
        answer.content_type.starts_with("application/json"),
        "{}",
        answer.content_type
    );
    let body = json(answer);
    assert_eq!(body["Code"], code);
    assert_eq!(body["HostId"], "rds.aliyuncs.com");
    let message = body["Message"].as_str().expect("Message");
    assert!(message.contains(message_part), "{message}");
    let id = body["RequestId"].as_str().expect("RequestId");
    assert!(!id.is_empty());
    let recommend = body["Recommend"].as_str().expect("Recommend");
    assert!(recommend.contains(&format!("q={code}")), "{recommend}");
}

/// The BCE error body of §3.1, its requestId equal to the `x-bce-request-id` header.
fn assert_bce_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
    assert_eq!(answer.content_type, "application/json; charset=utf-8");
    let body = json(answer);
    assert_eq!(body["code"], code);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    let id = body["requestId"].as_str().expect("requestId");
    assert_eq!(answer.request_id_header.as_deref(), Some(id));
}

#[tokio::test]
async fn a_body_over_the_limit_gets_the_dialects_error() {
    let app = app(Duration::from_secs(5)).await;
    let answer = send(&app, aliyun(ALIYUN_QUERY, too_large())).await;
    assert_aliyun_error(
        &answer,
        400,
        "InvalidParameter",
        &MAX_BODY_BYTES.to_string(),
    );
    let xml = send(
        &app,
        aliyun("Action=TagResources&Version=2014-08-15", too_large()),
    )
    .await;
    assert_eq!(xml.status, StatusCode::BAD_REQUEST);
    assert!(
        xml.content_type.starts_with("text/xml"),
        "{}",
        xml.content_type
    );
    assert!(
        xml.body.contains("<Error>") && xml.body.contains("<Code>InvalidParameter</Code>"),
        "no Format: XML, {}",
        xml.body
    );
    let tag_service = send(
        &app,
        aliyun(
            "Action=TagResources&Version=2018-08-28&Format=JSON",
            too_large(),
        ),
    )
    .await;
    assert_eq!(json(&tag_service)["HostId"], "tag.aliyuncs.com");
    let answer = send(&app, bce(too_large())).await;
    assert_bce_error(&answer, 400, "InvalidHTTPRequest");
}

#[tokio::test]
async fn a_body_that_breaks_off_gets_the_dialects_error() {
    let app = app(Duration::from_secs(5)).await;
    let answer = send(&app, aliyun(ALIYUN_QUERY, Body::new(Misbehaving::Broken))).await;
    assert_aliyun_error(&answer, 400, "InvalidParameter", "could not be read");
    let answer = send(&app, bce(Body::new(Misbehaving::Broken))).await;
    assert_bce_error(&answer, 400, "InvalidHTTPRequest");
}

#[tokio::test]
async fn a_request_past_the_timeout_gets_the_dialects_unavailable() {
    let app = app(Duration::from_millis(50)).await;
    let answer = send(&app, aliyun(ALIYUN_QUERY, Body::new(Misbehaving::Stalled))).await;
    assert_aliyun_error(&answer, 503, "ServiceUnavailable", "temporary failure");
    let answer = send(&app, bce(Body::new(Misbehaving::Stalled))).await;
    assert_bce_error(&answer, 503, "ServiceUnavailable");
    // tagd's own routes keep their own timeout and shape.
    let health = send(
        &app,
        Request::get("/healthz")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok\n")
    );
}
