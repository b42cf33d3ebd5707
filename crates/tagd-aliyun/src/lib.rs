//! Alibaba Cloud RPC dialect of tagd (`shared/spec/aliyun.md`): requests to `/` dispatched on
//! (Version, Action), signed with V1 or V3, answered in JSON or XML. It depends on `http` and
//! the core, never on the server framework.

pub mod auth;
pub mod error;
pub mod nonce;
pub mod params;
pub mod rds;
pub mod render;
pub mod sign;
pub mod tagsvc;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, Uri};
use tagd_core::{Store, TagService};
use time::OffsetDateTime;

use crate::auth::{Scheme, SignedRequest};
use crate::error::AliyunError;
use crate::nonce::NonceCache;
use crate::params::Params;
use crate::rds::RdsAction;
use crate::render::{Format, Node, Product};
use crate::tagsvc::TagAction;

/// RDS 2014-08-15.
pub const RDS_VERSION: &str = "2014-08-15";
/// The Tag service, 2018-08-28.
pub const TAG_VERSION: &str = "2018-08-28";

/// A handled request: the response and what the request log needs.
pub struct Handled {
    pub response: Response<Bytes>,
    pub request_id: String,
    /// The action as the vendor spells it, once recognised.
    pub action: Option<&'static str>,
    pub account: Option<String>,
    /// The error code, for a failed request.
    pub error_code: Option<String>,
}

/// The dialect: the tag service plus what authentication keeps between requests.
pub struct Aliyun<S> {
    service: Arc<TagService<S>>,
    nonces: NonceCache,
    clock: fn() -> OffsetDateTime,
}

/// An action of one of the API families on `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Rds(RdsAction),
    Tag(TagAction),
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Rds(a) => a.name(),
            Action::Tag(a) => a.name(),
        }
    }
}

/// What a request resolved to before authentication.
struct Route {
    action: Action,
    product: Product,
}

impl<S: Store> Aliyun<S> {
    pub fn new(service: Arc<TagService<S>>) -> Self {
        Self {
            service,
            nonces: NonceCache::new(),
            clock: OffsetDateTime::now_utc,
        }
    }

    /// The same, with another clock (tests).
    pub fn with_clock(service: Arc<TagService<S>>, clock: fn() -> OffsetDateTime) -> Self {
        Self {
            service,
            nonces: NonceCache::new(),
            clock,
        }
    }

    /// Whether a request belongs to this dialect: anything on `/`.
    pub fn claims(uri: &Uri) -> bool {
        uri.path() == "/"
    }

    /// Handles one request completely; never fails (errors are rendered in the dialect's shape).
    pub async fn handle(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Handled {
        let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
        let scheme = auth::scheme_of(headers);
        let is_form = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        let query = uri.query().unwrap_or("");
        let form_body = is_form.then_some(&body[..]);
        // V1 signs query and body together; only V3 with a form body needs the query alone
        // (V3 signs the query, the body only through its hash).
        let parsed = Params::parse(query, form_body).and_then(|all| {
            let query_only = if is_form && scheme == Scheme::V3 {
                Params::parse(query, None)?
            } else {
                Params::default()
            };
            Ok((all, query_only))
        });
        let format = match (&parsed, scheme) {
            (_, Scheme::V3) => Format::Json,
            (Ok((all, _)), Scheme::V1) => Format::from_param(all.get("Format")),
            (Err(_), Scheme::V1) => {
                Format::from_param(params::first_readable(query, form_body, "Format").as_deref())
            }
        };
        let mut handled = Handled {
            response: Response::new(Bytes::new()),
            request_id,
            action: None,
            account: None,
            error_code: None,
        };
        let Ok((all, query_only)) = parsed else {
            let err = AliyunError::invalid("QueryString");
            return self.fail(handled, &err, format, render::RDS);
        };
        let route = match route(&all, headers, scheme) {
            Ok(route) => route,
            Err((err, product)) => return self.fail(handled, &err, format, product),
        };
        handled.action = Some(route.action.name());
        // The RPC APIs are GET and POST on `/` (§1.1, §6 item 1); the gateway's answer to
        // another method is its "check your url and method".
        if method != Method::GET && method != Method::POST {
            return self.fail(handled, &error::ACTION_NOT_FOUND, format, route.product);
        }
        let request = SignedRequest {
            method,
            path: uri.path(),
            query: if is_form { &query_only } else { &all },
            all: &all,
            headers,
            body: &body,
        };
        let now = (self.clock)();
        let credential = match auth::authenticate(&request, &self.service, &self.nonces, now).await
        {
            Ok(credential) => credential,
            Err(err) => return self.fail(handled, &err, format, route.product),
        };
        handled.account = Some(credential.account_id.as_str().to_owned());
        let account = &credential.account_id;
        let result = match route.action {
            Action::Rds(action) => rds::run(action, &all, account, &self.service, format).await,
            Action::Tag(action) => tagsvc::run(action, &all, account, &self.service, format).await,
        };
        match result {
            Ok(mut fields) => {
                fields.insert(0, ("RequestId", Node::text(handled.request_id.clone())));
                let root = format!("{}Response", route.action.name());
                handled.response = render::respond(
                    200,
                    format,
                    &root,
                    &Node::Object(fields),
                    &handled.request_id,
                );
                handled
            }
            Err(err) => self.fail(handled, &err, format, route.product),
        }
    }

    /// The answer to a request whose body the server could not take: over `limit` bytes
    /// (`Some`), or not readable as sent (`None`). 400 `InvalidParameter`, with the error body of
    /// §1.6 in the request's format.
    pub fn body_refused(&self, uri: &Uri, headers: &HeaderMap, limit: Option<usize>) -> Handled {
        let message = match limit {
            Some(limit) => format!(
                "The specified parameter \"Body\" is not valid: the request body is larger than \
                 {limit} bytes."
            ),
            None => "The specified parameter \"Body\" is not valid: the request body could not \
                     be read."
                .to_owned(),
        };
        let err = AliyunError {
            status: 400,
            code: "InvalidParameter".into(),
            message: message.into(),
        };
        self.refuse(uri, headers, &err)
    }

    /// The answer to a request the server gave up on after its request timeout: 503
    /// `ServiceUnavailable` (§1.7), in the request's format.
    pub fn timed_out(&self, uri: &Uri, headers: &HeaderMap) -> Handled {
        self.refuse(uri, headers, &error::UNAVAILABLE)
    }

    /// `err` for a request the server refused before this dialect read it: the format and the
    /// product come from what the query and the headers say (a V1 body is not there).
    fn refuse(&self, uri: &Uri, headers: &HeaderMap, err: &AliyunError) -> Handled {
        let scheme = auth::scheme_of(headers);
        let query = uri.query().unwrap_or("");
        let format = match scheme {
            Scheme::V3 => Format::Json,
            Scheme::V1 => {
                Format::from_param(params::first_readable(query, None, "Format").as_deref())
            }
        };
        let route = Params::parse(query, None)
            .ok()
            .map(|params| route(&params, headers, scheme));
        let (action, product) = match route {
            Some(Ok(route)) => (Some(route.action.name()), route.product),
            Some(Err((_, product))) => (None, product),
            None => (None, render::RDS),
        };
        let handled = Handled {
            response: Response::new(Bytes::new()),
            request_id: uuid::Uuid::new_v4().to_string().to_uppercase(),
            action,
            account: None,
            error_code: None,
        };
        self.fail(handled, err, format, product)
    }

    fn fail(
        &self,
        mut handled: Handled,
        err: &AliyunError,
        format: Format,
        product: Product,
    ) -> Handled {
        handled.response = render::error_response(err, format, product, &handled.request_id);
        handled.error_code = Some(err.code.to_string());
        handled
    }
}

/// Resolves (Version, Action): from the parameters for V1, from the headers for V3 (§1.1).
/// Each comes from what its scheme signs: the `x-acs-*` headers every SDK also sends are not
/// signed under V1, so they never choose a V1 request's action (§1.2: `Action` is required).
fn route(
    params: &Params,
    headers: &HeaderMap,
    scheme: Scheme,
) -> Result<Route, (AliyunError, Product)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (action, version) = match scheme {
        Scheme::V1 => (params.get("Action"), params.get("Version")),
        Scheme::V3 => (header("x-acs-action"), header("x-acs-version")),
    };
    let action = action.ok_or_else(|| (AliyunError::missing("Action"), render::RDS))?;
    let version = version.ok_or_else(|| (AliyunError::missing("Version"), render::RDS))?;
    match version {
        RDS_VERSION => match RdsAction::parse(action) {
            Some(action) => Ok(Route {
                action: Action::Rds(action),
                product: render::RDS,
            }),
            None => Err((error::ACTION_NOT_FOUND, render::RDS)),
        },
        TAG_VERSION => match TagAction::parse(action) {
            Some(action) => Ok(Route {
                action: Action::Tag(action),
                product: render::TAG,
            }),
            None => Err((error::ACTION_NOT_FOUND, render::TAG)),
        },
        _ => Err((error::INVALID_VERSION, render::RDS)),
    }
}
