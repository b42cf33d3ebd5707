//! Baidu's Tag API served: authenticate (bce-auth-v1, before routing: spec bce.md §3.4), route,
//! translate to the core's explicit-catalogue operations, answer in BCE's shapes (§1.5, §3.1).
//!
//! How Baidu's model sits in tagd (docs/design.md, "Baidu"): resources are
//! `BCE::<SERVICETYPE>::RESOURCE` in the region the request names; the catalogue is Baidu's own
//! (namespace `BCE`), account-wide, with numeric tag ids and a quota; binding a tag that is not
//! in the catalogue creates it (as `createAndAssign` does), under the quota.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri, header};
use tagd_core::namespace::CatalogueScope;
use tagd_core::rules::BCE_RULES;
use tagd_core::{
    AccessKeyId, AccountId, CoreError, Region, ResourceId, ResourceRef, ResourceType, Store, Tag,
    TagFilter, TagRuleError, TagService,
};
use time::OffsetDateTime;

use crate::dto::{self, BodyError};
use crate::error::{self as codes, BceError};
use crate::query::{self, Operation, Query};
use crate::sign::{self, AuthError, ReceivedRequest};

/// The default number of catalogue tags an account may hold (Baidu's documented default).
pub const DEFAULT_QUOTA: usize = 200;

/// A handled request: the response and what the request log needs.
pub struct Handled {
    pub response: Response<Bytes>,
    pub request_id: String,
    pub operation: Option<&'static str>,
    pub account: Option<String>,
    pub error_code: Option<String>,
}

/// The dialect.
pub struct Bce<S> {
    service: Arc<TagService<S>>,
    quota: usize,
    clock: fn() -> OffsetDateTime,
}

impl<S: Store> Bce<S> {
    pub fn new(service: Arc<TagService<S>>, quota: usize) -> Self {
        Self {
            service,
            quota,
            clock: OffsetDateTime::now_utc,
        }
    }

    /// Whether a request is Baidu's: a `/v1/…` path or a `bce-auth-v1` Authorization header
    /// (Alibaba's always go to `/` with `Action`).
    pub fn claims(uri: &Uri, headers: &HeaderMap) -> bool {
        let bce_auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("bce-auth-v1/"));
        uri.path().starts_with("/v1/") || uri.path() == "/v1" || bce_auth
    }

    fn scope(&self) -> CatalogueScope<'static> {
        CatalogueScope {
            rules: &BCE_RULES,
            quota: self.quota,
        }
    }

    /// Handles one request completely; errors are rendered in BCE's shape.
    pub async fn handle(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Handled {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut handled = Handled {
            response: Response::new(Bytes::new()),
            request_id,
            operation: None,
            account: None,
            error_code: None,
        };
        let outcome = self.run(method, uri, headers, &body, &mut handled).await;
        handled.response = match outcome {
            Ok(Some(json)) => respond(StatusCode::OK, Some(json), &handled.request_id),
            Ok(None) => {
                let mut response = respond(StatusCode::OK, None, &handled.request_id);
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(write_content_type(handled.operation)),
                );
                response
            }
            Err(err) => {
                handled.error_code = Some(err.code.to_string());
                error_response(&err, &handled.request_id)
            }
        };
        handled
    }

    /// The answer to a request whose body the server could not take (too large, or not
    /// readable as sent): 400 `InvalidHTTPRequest`, "There was an error in the body of your HTTP
    /// request." (§3.4), with the error body and request id of §3.1.
    pub fn body_refused(&self) -> Handled {
        Self::refused(&codes::INVALID_HTTP_REQUEST.into())
    }

    /// The answer to a request the server gave up on after its request timeout: 503
    /// `ServiceUnavailable` (§3.4: a transient fault; the SDKs retry it).
    pub fn timed_out(&self) -> Handled {
        Self::refused(&codes::SERVICE_UNAVAILABLE.into())
    }

    fn refused(err: &BceError) -> Handled {
        let request_id = uuid::Uuid::new_v4().to_string();
        Handled {
            response: error_response(err, &request_id),
            error_code: Some(err.code.to_string()),
            request_id,
            operation: None,
            account: None,
        }
    }

    async fn run(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        handled: &mut Handled,
    ) -> Result<Option<Vec<u8>>, BceError> {
        let auth = sign::authorization_from_headers(headers).map_err(|e| BceError::from(&e))?;
        let key_id = AccessKeyId::parse(auth.access_key_id).ok_or(codes::INVALID_ACCESS_KEY_ID)?;
        let credential = self
            .service
            .credential(&key_id)
            .await
            .map_err(|e| core_error(&e))?
            .filter(|c| c.enabled)
            .ok_or(codes::INVALID_ACCESS_KEY_ID)?;
        // §4.4: the time window (step 3) comes before the request is rebuilt from what was
        // received (step 4), so an expired request is `RequestExpired` even if its URI is not
        // decodable.
        let now = (self.clock)();
        sign::check_time(&auth, now).map_err(|e| BceError::from(&e))?;
        let path = query::decode_path(uri.path()).map_err(|e| BceError::from(&e))?;
        let query = Query::parse(uri.query().unwrap_or("")).map_err(|e| BceError::from(&e))?;
        let received = ReceivedRequest {
            method: method.as_str(),
            path: &path,
            query: &query,
            headers,
        };
        sign::verify(&received, &auth, credential.secret.expose(), now)
            .map_err(|e: AuthError| BceError::from(&e))?;
        handled.account = Some(credential.account_id.as_str().to_owned());
        let operation =
            query::route(method.as_str(), &path, &query).map_err(|e| BceError::from(&e))?;
        handled.operation = Some(operation.name());
        self.dispatch(operation, body, &credential.account_id).await
    }

    async fn dispatch(
        &self,
        operation: Operation,
        body: &[u8],
        account: &AccountId,
    ) -> Result<Option<Vec<u8>>, BceError> {
        let service = &self.service;
        let scope = self.scope();
        match operation {
            Operation::CreateTags | Operation::DeleteTags => {
                let request: dto::TagsRequest = parse(body)?;
                let tags = core_tags(&request.tags);
                let result = if operation == Operation::CreateTags {
                    service.catalogue_create(account, scope, tags).await
                } else {
                    service.catalogue_delete(account, scope, tags).await
                };
                result.map_err(|e| core_error(&e))?;
                Ok(None)
            }
            Operation::UserTagList(filter) => {
                let found = service
                    .catalogue_list(
                        account,
                        scope,
                        filter.tag_key.as_deref(),
                        filter.tag_value.as_deref(),
                    )
                    .await
                    .map_err(|e| core_error(&e))?;
                let tags = found
                    .iter()
                    .map(|t| dto::Tag::new(&t.key, &t.value))
                    .collect();
                Ok(Some(dto::render(&dto::TagsResult { tags })))
            }
            Operation::TagsResources(filter) => self.tag_resources(account, filter).await.map(Some),
            Operation::CreateAssociationsByTag | Operation::DeleteAssociationsByTag => {
                let request: dto::AssociationsByTagRequest = parse(body)?;
                let tag = Tag::new(request.tag_key.clone(), request.tag_value.clone());
                // tagKey and tagValue come before the resources in the body (§2).
                check_tags_in_body_order(scope, std::slice::from_ref(&tag))?;
                let mut resources = Vec::with_capacity(request.resources.len());
                for r in &request.resources {
                    let service_type = if r.service_type.is_empty() {
                        &request.service_type
                    } else {
                        &r.service_type
                    };
                    resources.push(resource_ref(service_type, &r.region, &r.resource_id)?);
                }
                let result = if operation == Operation::CreateAssociationsByTag {
                    service.catalogue_bind(account, scope, tag, resources).await
                } else {
                    service
                        .catalogue_unbind(account, scope, tag, resources)
                        .await
                };
                result.map_err(|e| core_error(&e))?;
                Ok(None)
            }
            Operation::DeleteTagAssociation => {
                let request: dto::DeleteTagAssociationRequest = parse(body)?;
                let r = &request.resource;
                let resource = resource_ref(&r.service_type, &r.region, &r.resource_id)?;
                service
                    .catalogue_clear(account, scope, resource)
                    .await
                    .map_err(|e| core_error(&e))?;
                Ok(None)
            }
            Operation::CreateAndAssign => {
                let request: dto::CreateAndAssignTagRequest = parse(body)?;
                if request.resources.is_empty() {
                    return Err(codes::INAPPROPRIATE_JSON.into());
                }
                let mut replace = Vec::with_capacity(request.resources.len());
                for r in &request.resources {
                    // A resource's fields, then its tags, then the next resource (§2).
                    let resource = resource_ref(&r.service_type, &r.region, &r.resource_id)?;
                    let tags = core_tags(&r.tags);
                    check_replacement_set_in_body_order(scope, &tags)?;
                    replace.push((resource, tags, r.resource_uuid.clone()));
                }
                service
                    .catalogue_replace(account, scope, replace)
                    .await
                    .map_err(|e| core_error(&e))?;
                Ok(None)
            }
            Operation::QueryFullList {
                strong_association, ..
            } => {
                let request: dto::FullTagListRequest = if body.iter().all(u8::is_ascii_whitespace) {
                    dto::FullTagListRequest::default()
                } else {
                    parse(body)?
                };
                self.full_list(account, &request, strong_association)
                    .await
                    .map(Some)
            }
        }
    }

    /// `GET /v1/tag/tagResources`: each matching catalogue tag with the resources bound to it;
    /// tags with no (remaining) resource are left out.
    async fn tag_resources(
        &self,
        account: &AccountId,
        filter: query::TagResourcesFilter,
    ) -> Result<Vec<u8>, BceError> {
        let scope = self.scope();
        let tags = self
            .service
            .catalogue_list(
                account,
                scope,
                filter.tags.tag_key.as_deref(),
                filter.tags.tag_value.as_deref(),
            )
            .await
            .map_err(|e| core_error(&e))?;
        let region = match filter.region.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => match Region::parse(r) {
                Some(region) => Some(region),
                None => return Ok(dto::render(&dto::TagsAssociationWithResources::default())),
            },
            None => None,
        };
        // Narrow the read by the index as far as the filters allow (key, or key and value).
        let key_filter = filter
            .tags
            .tag_key
            .as_ref()
            .map(|k| TagFilter::new(k.clone(), filter.tags.tag_value.clone()));
        let found = self
            .service
            .catalogue_resources(
                account,
                scope,
                region.as_ref(),
                key_filter.into_iter().collect(),
            )
            .await
            .map_err(|e| core_error(&e))?;
        let wanted_type = filter.resource_type.as_deref().filter(|t| !t.is_empty());
        let mut by_tag: BTreeMap<(&str, &str), Vec<dto::TagResource>> = BTreeMap::new();
        for r in &found {
            let service_type = service_type_of(&r.resource.resource_type);
            if wanted_type.is_some_and(|t| !t.eq_ignore_ascii_case(service_type)) {
                continue;
            }
            for (k, v) in r.tags.iter() {
                by_tag.entry((k, v)).or_default().push(dto::TagResource {
                    resource_type: service_type.to_owned(),
                    resource_id: r.resource.id.as_str().to_owned(),
                    region: r.resource.region.as_str().to_owned(),
                });
            }
        }
        let mut entries = Vec::new();
        for tag in &tags {
            if let Some(resources) = by_tag.remove(&(tag.key.as_str(), tag.value.as_str())) {
                entries.push(dto::TagAssociationWithResources {
                    tag_key: tag.key.clone(),
                    tag_value: tag.value.clone(),
                    resources,
                });
            }
        }
        Ok(dto::render(&dto::TagsAssociationWithResources {
            tag_resources: entries,
        }))
    }

    /// `queryFullList`: one row per binding; with `strongAssociation=false` and no
    /// resource-side filter, also one row per catalogue tag that has no binding.
    async fn full_list(
        &self,
        account: &AccountId,
        request: &dto::FullTagListRequest,
        strong: bool,
    ) -> Result<Vec<u8>, BceError> {
        let scope = self.scope();
        let key = request.tag_key.as_deref().filter(|k| !k.is_empty());
        let value = request.tag_value.as_deref().filter(|v| !v.is_empty());
        let catalogue = self
            .service
            .catalogue_list(account, scope, key, value)
            .await
            .map_err(|e| core_error(&e))?;
        let ids: BTreeMap<(&str, &str), u64> = catalogue
            .iter()
            .map(|t| ((t.key.as_str(), t.value.as_str()), t.id))
            .collect();
        let filters: Vec<TagFilter> = key.map(|k| TagFilter::new(k, value)).into_iter().collect();
        let mut found = Vec::new();
        if request.regions.is_empty() {
            found = self
                .service
                .catalogue_resources(account, scope, None, filters)
                .await
                .map_err(|e| core_error(&e))?;
        } else {
            // Each region is read once however often the list names it: a binding matches when
            // its region is in the list, and gives one row (§2.9).
            let regions: std::collections::BTreeSet<&str> =
                request.regions.iter().map(String::as_str).collect();
            for name in regions {
                if let Some(region) = Region::parse(name) {
                    let mut in_region = self
                        .service
                        .catalogue_resources(account, scope, Some(&region), filters.clone())
                        .await
                        .map_err(|e| core_error(&e))?;
                    found.append(&mut in_region);
                }
            }
        }
        let mut rows = Vec::new();
        let mut bound: std::collections::BTreeSet<(&str, &str)> = std::collections::BTreeSet::new();
        for r in &found {
            let service_type = service_type_of(&r.resource.resource_type);
            if !request.service_types.is_empty()
                && !request
                    .service_types
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(service_type))
            {
                continue;
            }
            if !request.resource_ids.is_empty()
                && !request
                    .resource_ids
                    .iter()
                    .any(|id| id == r.resource.id.as_str())
            {
                continue;
            }
            for (k, v) in r.tags.iter() {
                if key.is_some_and(|want| want != k) || value.is_some_and(|want| want != v) {
                    continue;
                }
                let Some((&(ck, cv), &tag_id)) = ids.get_key_value(&(k, v)) else {
                    continue;
                };
                bound.insert((ck, cv));
                rows.push(full_row(
                    account,
                    Some((&r.resource, service_type, r.tags.uuid().unwrap_or(""))),
                    k,
                    v,
                    tag_id,
                ));
            }
        }
        let resource_filtered = !request.regions.is_empty()
            || !request.service_types.is_empty()
            || !request.resource_ids.is_empty();
        if !strong && !resource_filtered {
            for tag in &catalogue {
                if !bound.contains(&(tag.key.as_str(), tag.value.as_str())) {
                    rows.push(full_row(account, None, &tag.key, &tag.value, tag.id));
                }
            }
        }
        Ok(dto::render(&dto::TagAssociationFulls {
            tag_association_fulls: rows,
        }))
    }
}

/// One queryFullList row: a binding of `resource` (with its service type and uuid), or an
/// unbound catalogue tag.
fn full_row(
    account: &AccountId,
    resource: Option<(&ResourceRef, &str, &str)>,
    key: &str,
    value: &str,
    tag_id: u64,
) -> dto::TagAssociationFull {
    let (resource_id, resource_uuid, region, service_type) = match resource {
        Some((r, t, uuid)) => (
            r.id.as_str().to_owned(),
            uuid.to_owned(),
            r.region.as_str().to_owned(),
            t.to_owned(),
        ),
        None => (String::new(), String::new(), String::new(), String::new()),
    };
    dto::TagAssociationFull {
        account_id: account.as_str().to_owned(),
        resource_id,
        resource_uuid,
        region,
        service_type,
        tag_id: i64::try_from(tag_id).unwrap_or(i64::MAX),
        tag_key: key.to_owned(),
        tag_value: value.to_owned(),
        association_type: 0,
    }
}

/// `BCE::<SERVICETYPE>::RESOURCE` → `<SERVICETYPE>`.
fn service_type_of(t: &ResourceType) -> &str {
    t.product()
}

fn resource_ref(
    service_type: &str,
    region: &str,
    resource_id: &str,
) -> Result<ResourceRef, BceError> {
    let inappropriate = || BceError::from(codes::INAPPROPRIATE_JSON);
    let resource_type =
        ResourceType::new("BCE", service_type, "RESOURCE").ok_or_else(inappropriate)?;
    let region = Region::parse(region).ok_or_else(inappropriate)?;
    let id = ResourceId::parse(resource_id).ok_or_else(inappropriate)?;
    Ok(ResourceRef {
        region,
        resource_type,
        id,
    })
}

/// The namespace's key and value rules (the core's, not a copy) over `tags`, checked where the
/// tags stand in the body, so that the first fault in body order is the one reported (§2: a
/// bad tag before a bad resource that follows it). The core checks them again when it applies.
fn check_tags_in_body_order(scope: CatalogueScope<'_>, tags: &[Tag]) -> Result<(), BceError> {
    for (index, tag) in tags.iter().enumerate() {
        check_tag(scope, index, tag)?;
    }
    Ok(())
}

/// A createAndAssign resource's tags in body order: each tag's key and value, then whether an
/// earlier tag of the set gave its key another value (the core refuses such a set, see
/// docs/baidu.md; it is the fault of the tag that names the second value, so a bad tag after it
/// does not hide it, §2). The core checks the set again when it applies.
fn check_replacement_set_in_body_order(
    scope: CatalogueScope<'_>,
    tags: &[Tag],
) -> Result<(), BceError> {
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for (index, tag) in tags.iter().enumerate() {
        check_tag(scope, index, tag)?;
        let seen = *values.entry(&tag.key).or_insert(&tag.value);
        if seen != tag.value {
            let key = tag.key.clone();
            return Err(core_error(&CoreError::DuplicateTagKey { key }));
        }
    }
    Ok(())
}

/// One tag's key, then its value, under the namespace's rules.
fn check_tag(scope: CatalogueScope<'_>, index: usize, tag: &Tag) -> Result<(), BceError> {
    scope
        .rules
        .check_key(&tag.key)
        .and_then(|()| scope.rules.check_value(&tag.value))
        .map_err(|problem| core_error(&CoreError::InvalidTag { index, problem }))
}

fn core_tags(tags: &[dto::Tag]) -> Vec<Tag> {
    tags.iter()
        .map(|t| Tag::new(t.tag_key.clone(), t.tag_value.clone()))
        .collect()
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BceError> {
    dto::parse_body(body).map_err(|e: BodyError| BceError::from(&e))
}

/// The core's errors in Baidu's words (§3.2 for tags, §3.4 for the rest).
fn core_error(err: &CoreError) -> BceError {
    match err {
        CoreError::NoTags => codes::TAG_EMPTY.into(),
        CoreError::InvalidTag {
            problem: TagRuleError::KeyBlank,
            ..
        } => codes::TAG_KEY_EMPTY.into(),
        CoreError::InvalidTag { problem, .. } if problem.concerns_key() => {
            codes::TAG_KEY_INVALID.into()
        }
        CoreError::InvalidTag { .. } => codes::TAG_VALUE_INVALID.into(),
        CoreError::CatalogueFull => codes::TAG_LIMIT_EXCEEDED.into(),
        // Baidu documents no per-resource limit or registry; tagd's own limits answer as the
        // account quota does (413) and a missing resource as an inappropriate request.
        CoreError::TagQuotaExceeded { .. }
        | CoreError::TooManyTags { .. }
        | CoreError::TooManyResources { .. } => codes::TAG_LIMIT_EXCEEDED.into(),
        CoreError::NoResources
        | CoreError::ResourceNotFound { .. }
        | CoreError::DuplicateTagKey { .. } => codes::INAPPROPRIATE_JSON.into(),
        CoreError::InvalidPageToken => codes::INVALID_URI.into(),
        CoreError::Store(tagd_core::StoreError::Unavailable(_)) => {
            codes::SERVICE_UNAVAILABLE.into()
        }
        CoreError::Store(_) => codes::INTERNAL_ERROR.into(),
    }
}

/// The Content-Type of a write's empty answer, as Baidu's own service sends it (§1.5): plain
/// text for the catalogue's create (the seed's response) and delete, JSON for the resource
/// operations (bind's documented response). No SDK reads it, but bce-python-sdk keeps it in
/// the response's metadata, where a missing one is an `AttributeError`.
fn write_content_type(operation: Option<&str>) -> &'static str {
    match operation {
        Some("CreateTags" | "DeleteTags") => "text/plain; charset=utf-8",
        _ => "application/json; charset=utf-8",
    }
}

/// `err` as the wire carries it (§3.1): its status, its JSON body, the request id header.
fn error_response(err: &BceError, request_id: &str) -> Response<Bytes> {
    let mut response = respond(err.status_code(), Some(err.body(request_id)), request_id);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(codes::ERROR_CONTENT_TYPE),
    );
    response
}

fn respond(status: StatusCode, body: Option<Vec<u8>>, request_id: &str) -> Response<Bytes> {
    let has_body = body.is_some();
    let mut response = Response::new(Bytes::from(body.unwrap_or_default()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if has_body {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(sign::REQUEST_ID_HEADER, id);
    }
    response
}
