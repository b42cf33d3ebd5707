//! The admin API (`/admin/v1/...`): accounts, keys and registered resources, for the `tagd`
//! CLI while a server holds the embedded store.
//!
//! Only loopback peers are served, and each call must carry `Authorization: Bearer <token>`,
//! where the token is generated at start and written to `<data-dir>/admin.json` (mode 0600):
//! whoever can read the data directory can administer the server, nobody else.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use http::StatusCode;
use http::request::Parts;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tagd_core::admin::{self, AdminError, NewAccount};
use tagd_core::{Account, Credential, Region, ResourceId, ResourceRef, ResourceType, Store};

use crate::AppState;

/// A new account and its first key, or a new key: what `--json` prints.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyJson {
    pub account_id: String,
    pub access_key_id: String,
    pub access_key_secret: String,
}

impl From<&NewAccount> for KeyJson {
    fn from(made: &NewAccount) -> Self {
        KeyJson::from(&made.key)
    }
}

impl From<&Credential> for KeyJson {
    fn from(key: &Credential) -> Self {
        Self {
            account_id: key.account_id.as_str().to_owned(),
            access_key_id: key.access_key_id.as_str().to_owned(),
            access_key_secret: key.secret.expose().to_owned(),
        }
    }
}

/// A key without its secret, as listed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyInfoJson {
    pub access_key_id: String,
    pub account_id: String,
    pub enabled: bool,
    pub created_at: u64,
}

impl From<&Credential> for KeyInfoJson {
    fn from(key: &Credential) -> Self {
        Self {
            access_key_id: key.access_key_id.as_str().to_owned(),
            account_id: key.account_id.as_str().to_owned(),
            enabled: key.enabled,
            created_at: key.created_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountJson {
    pub account_id: String,
    pub name: String,
    pub root: bool,
    pub created_at: u64,
}

impl From<&Account> for AccountJson {
    fn from(account: &Account) -> Self {
        Self {
            account_id: account.id.as_str().to_owned(),
            name: account.name.clone(),
            root: account.root,
            created_at: account.created_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateAccountBody {
    pub name: String,
}

/// One resource of one account, for register / deregister.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResourceBody {
    pub account_id: String,
    pub region: String,
    /// Canonical type, e.g. `ALIYUN::RDS::INSTANCE`.
    pub resource_type: String,
    pub resource_id: String,
}

impl ResourceBody {
    /// The resource named, or what is wrong with the name.
    pub fn resource(&self) -> Result<ResourceRef, String> {
        let region = Region::parse(&self.region)
            .ok_or_else(|| format!("invalid region {:?}", self.region))?;
        let resource_type =
            ResourceType::parse_canonical(&self.resource_type).ok_or_else(|| {
                format!(
                    "invalid resource type {:?} (want e.g. ALIYUN::RDS::INSTANCE)",
                    self.resource_type
                )
            })?;
        let id = ResourceId::parse(&self.resource_id)
            .ok_or_else(|| format!("invalid resource id {:?}", self.resource_id))?;
        Ok(ResourceRef {
            region,
            resource_type,
            id,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeregisteredJson {
    pub was_registered: bool,
}

/// An admin error: a status and a message, as JSON `{"error": …}`.
pub struct AdminFailure(StatusCode, String);

impl IntoResponse for AdminFailure {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<AdminError> for AdminFailure {
    fn from(err: AdminError) -> Self {
        let status = match &err {
            AdminError::NoSuchAccount(_) | AdminError::NoSuchKey(_) => StatusCode::NOT_FOUND,
            AdminError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AdminError::Store(tagd_core::StoreError::Conflict(_)) => StatusCode::CONFLICT,
            AdminError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        AdminFailure(status, err.to_string())
    }
}

pub fn router<S: Store>() -> Router<Arc<AppState<S>>> {
    Router::new()
        .route(
            "/accounts",
            post(create_account::<S>).get(list_accounts::<S>),
        )
        .route(
            "/accounts/{id}/keys",
            post(create_key::<S>).get(list_keys::<S>),
        )
        .route("/keys/{id}/disable", post(disable_key::<S>))
        .route("/resources/register", post(register::<S>))
        .route("/resources/deregister", post(deregister::<S>))
}

/// Proof that a request may use the admin API: a loopback peer with the right bearer token.
/// Every admin handler takes it first, so none can forget the check.
pub struct AdminAuth;

impl<S: Store> FromRequestParts<Arc<AppState<S>>> for AdminAuth {
    type Rejection = AdminFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState<S>>,
    ) -> Result<Self, AdminFailure> {
        let loopback = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback());
        if !loopback {
            return Err(AdminFailure(
                StatusCode::FORBIDDEN,
                "the admin API is served to loopback peers only".into(),
            ));
        }
        let presented = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(presented.as_bytes().ct_eq(state.admin_token.as_bytes())) {
            return Err(AdminFailure(
                StatusCode::UNAUTHORIZED,
                "missing or wrong admin token".into(),
            ));
        }
        Ok(AdminAuth)
    }
}

async fn create_account<S: Store>(
    _auth: AdminAuth,
    State(state): State<Arc<AppState<S>>>,
    Json(body): Json<CreateAccountBody>,
) -> Result<Json<KeyJson>, AdminFailure> {
    let made = admin::create_account(state.service.store(), &body.name, false).await?;
    Ok(Json(KeyJson::from(&made)))
}

async fn list_accounts<S: Store>(
    _auth: AdminAuth,
    State(state): State<Arc<AppState<S>>>,
) -> Result<Json<Vec<AccountJson>>, AdminFailure> {
    let accounts = state
        .service
        .store()
        .list_accounts()
        .await
        .map_err(AdminError::from)?;
    Ok(Json(accounts.iter().map(AccountJson::from).collect()))
}

async fn create_key<S: Store>(
    _auth: AdminAuth,
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<KeyJson>, AdminFailure> {
    let key = admin::create_key(state.service.store(), &id).await?;
    Ok(Json(KeyJson::from(&key)))
}

async fn list_keys<S: Store>(
    _auth: AdminAuth,
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<KeyInfoJson>>, AdminFailure> {
    let keys = admin::list_keys(state.service.store(), &id).await?;
    Ok(Json(keys.iter().map(KeyInfoJson::from).collect()))
}

async fn disable_key<S: Store>(
    _auth: AdminAuth,
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<KeyInfoJson>, AdminFailure> {
    let key = admin::disable_key(state.service.store(), &id).await?;
    state.service.forget_credential(&key.access_key_id);
    Ok(Json(KeyInfoJson::from(&key)))
}

async fn register<S: Store>(
    _auth: AdminAuth,
    State(state): State<Arc<AppState<S>>>,
    Json(body): Json<ResourceBody>,
) -> Result<Json<serde_json::Value>, AdminFailure> {
    let resource = body
        .resource()
        .map_err(|m| AdminFailure(StatusCode::BAD_REQUEST, m))?;
    admin::register_resource(state.service.store(), &body.account_id, &resource).await?;
    Ok(Json(serde_json::json!({})))
}

async fn deregister<S: Store>(
    _auth: AdminAuth,
    State(state): State<Arc<AppState<S>>>,
    Json(body): Json<ResourceBody>,
) -> Result<Json<DeregisteredJson>, AdminFailure> {
    let resource = body
        .resource()
        .map_err(|m| AdminFailure(StatusCode::BAD_REQUEST, m))?;
    let was_registered =
        admin::deregister_resource(state.service.store(), &body.account_id, &resource).await?;
    Ok(Json(DeregisteredJson { was_registered }))
}
