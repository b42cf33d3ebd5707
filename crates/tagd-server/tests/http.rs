//! The whole router in-process (`oneshot`, no socket): routing, signed Alibaba requests against
//! a `MemStore`, and the admin API's guard.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use http::{Request, StatusCode};
use tagd_core::TagService;
use tagd_core::admin;
use tagd_core::testkit::MemStore;
use tagd_server::{AppState, router};
use tower::ServiceExt as _;

const TOKEN: &str = "test-admin-token";

struct Fixture {
    app: axum::Router,
    key_id: String,
    secret: String,
}

async fn fixture() -> Fixture {
    let store = MemStore::new();
    let root = admin::bootstrap_root(&store)
        .await
        .expect("bootstrap")
        .expect("new root");
    let service = Arc::new(TagService::new(store, false).await.expect("service"));
    let state = Arc::new(AppState::new(service, TOKEN.into()));
    Fixture {
        app: router(state, Duration::from_secs(5)),
        key_id: root.key.access_key_id.as_str().to_owned(),
        secret: root.key.secret.expose().to_owned(),
    }
}

fn v1_query(f: &Fixture, action: &str, format: Option<&str>, api: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Version".into(), "2014-08-15".into()),
        ("AccessKeyId".into(), f.key_id.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        (
            "SignatureNonce".into(),
            uuid::Uuid::new_v4().simple().to_string(),
        ),
        (
            "Timestamp".into(),
            tagd_aliyun::sign::format_timestamp(time::OffsetDateTime::now_utc()),
        ),
    ];
    if let Some(format) = format {
        params.push(("Format".into(), format.into()));
    }
    params.extend(api.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    tagd_aliyun::sign::v1::signed_query("POST", &params, &f.secret)
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, String, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).expect("utf-8"),
    )
}

fn post(query: &str) -> Request<Body> {
    Request::post(format!("/?{query}"))
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn healthz_and_unknown_paths() {
    let f = fixture().await;
    let (status, _, body) = send(
        &f.app,
        Request::get("/healthz").body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let (status, _, _) = send(
        &f.app,
        Request::get("/nope").body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signed_tag_then_list_in_json_and_xml() {
    let f = fixture().await;
    let api = [
        ("RegionId", "cn-hangzhou"),
        ("ResourceType", "INSTANCE"),
        ("ResourceId.1", "rm-one"),
        ("Tag.1.Key", "env"),
        ("Tag.1.Value", "prod"),
    ];
    let (status, content_type, body) = send(
        &f.app,
        post(&v1_query(&f, "TagResources", Some("JSON"), &api)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type, "application/json;charset=utf-8");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(json["RequestId"].as_str().is_some_and(|id| id.len() == 36));

    let list = [
        ("RegionId", "cn-hangzhou"),
        ("ResourceType", "INSTANCE"),
        ("Tag.1.Key", "env"),
    ];
    let (status, content_type, body) =
        send(&f.app, post(&v1_query(&f, "ListTagResources", None, &list))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        content_type, "text/xml;charset=utf-8",
        "XML is the default format"
    );
    assert!(body.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListTagResourcesResponse><RequestId>"
    ));
    assert!(body.contains("<NextToken></NextToken><TagResources><TagResource><ResourceId>rm-one</ResourceId><ResourceType>ALIYUN::RDS::INSTANCE</ResourceType><TagKey>env</TagKey><TagValue>prod</TagValue></TagResource></TagResources>"), "{body}");
}

#[tokio::test]
async fn a_replayed_request_is_refused_and_changes_nothing() {
    let f = fixture().await;
    let api = [
        ("RegionId", "cn-hangzhou"),
        ("ResourceType", "INSTANCE"),
        ("ResourceId.1", "rm-r"),
        ("Tag.1.Key", "a"),
    ];
    let query = v1_query(&f, "TagResources", Some("JSON"), &api);
    let (status, _, _) = send(&f.app, post(&query)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = send(&f.app, post(&query)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("\"Code\":\"SignatureNonceUsed\""), "{body}");
}

#[tokio::test]
async fn a_tampered_request_gets_the_server_string_to_sign() {
    let f = fixture().await;
    let api = [
        ("RegionId", "cn-hangzhou"),
        ("ResourceType", "INSTANCE"),
        ("ResourceId.1", "rm-t"),
        ("Tag.1.Key", "a"),
    ];
    let query = v1_query(&f, "TagResources", Some("JSON"), &api).replace("rm-t", "rm-u");
    let (status, _, body) = send(&f.app, post(&query)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["Code"], "SignatureDoesNotMatch");
    let message = json["Message"].as_str().expect("message");
    let server_sts = message.split(':').nth(1).expect("a colon");
    assert!(
        server_sts.starts_with("POST&%2F&AccessKeyId%3D"),
        "{message}"
    );
    assert!(
        server_sts.contains("rm-u"),
        "the server signed what it received"
    );
}

fn admin_request(
    method: &str,
    path: &str,
    token: Option<&str>,
    peer: Option<&str>,
    body: &str,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("/admin/v1{path}"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let mut request = builder.body(Body::from(body.to_owned())).expect("request");
    if let Some(peer) = peer {
        let addr: SocketAddr = peer.parse().expect("addr");
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    request
}

#[tokio::test]
async fn the_admin_api_wants_loopback_and_the_token() {
    let f = fixture().await;
    let body = r#"{"name":"team"}"#;
    let (status, _, _) = send(
        &f.app,
        admin_request(
            "POST",
            "/accounts",
            Some(TOKEN),
            Some("10.1.2.3:5000"),
            body,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not loopback");
    let (status, _, _) = send(
        &f.app,
        admin_request(
            "POST",
            "/accounts",
            Some("wrong"),
            Some("127.0.0.1:5000"),
            body,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(
        &f.app,
        admin_request("POST", "/accounts", None, Some("127.0.0.1:5000"), body),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, created) = send(
        &f.app,
        admin_request(
            "POST",
            "/accounts",
            Some(TOKEN),
            Some("127.0.0.1:5000"),
            body,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).expect("json");
    for field in ["account_id", "access_key_id", "access_key_secret"] {
        assert!(
            created[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    let key = created["access_key_id"].as_str().expect("key");
    let path = format!("/keys/{key}/disable");
    let (status, _, _) = send(
        &f.app,
        admin_request("POST", &path, Some(TOKEN), Some("[::1]:5000"), ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(
        &f.app,
        admin_request(
            "POST",
            "/keys/LTAInope/disable",
            Some(TOKEN),
            Some("127.0.0.1:1"),
            "",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
