//! RDS 2014-08-15 tag actions: `TagResources`, `UntagResources`, `ListTagResources`
//! (spec aliyun.md §2 and §6 items 7–9; the seed `aliyun-rds-TagResources.txt` for errors).
//! This module only translates: every rule is the core's.

use tagd_core::rules::ALIYUN_RDS_LIMITS;
use tagd_core::service::UntagKeys;
use tagd_core::{
    AccountId, Atomicity, Region, ResourceId, ResourceQuery, ResourceRef, ResourceType, Store, Tag,
    TagFilter, TagService, TypeFilter,
};

use crate::error::{self, AliyunError};
use crate::params::{Params, TagParam};
use crate::render::{Format, Node, Stream};

/// Rows per `ListTagResources` page (tagd's rule: Alibaba documents no page size).
pub const LIST_PAGE_ROWS: usize = 50;

/// The RDS resource types that can carry tags.
pub const RESOURCE_TYPES: [&str; 5] = [
    "INSTANCE",
    "CUSTOM",
    "CUSTOMDEPLOYMENTSET",
    "CUSTOMDISK",
    "CUSTOMSNAPSHOT",
];

/// The actions of this family, spelled as the vendor does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdsAction {
    TagResources,
    UntagResources,
    ListTagResources,
}

impl RdsAction {
    /// Matches case-insensitively: Terraform calls `UnTagResources`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::TagResources,
            Self::UntagResources,
            Self::ListTagResources,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::TagResources => "TagResources",
            Self::UntagResources => "UntagResources",
            Self::ListTagResources => "ListTagResources",
        }
    }
}

/// Runs one action for `account` and returns the response body (without `RequestId`).
pub async fn run<S: Store>(
    action: RdsAction,
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
    format: Format,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    match action {
        RdsAction::TagResources => tag_resources(params, account, service).await,
        RdsAction::UntagResources => untag_resources(params, account, service).await,
        RdsAction::ListTagResources => list_tag_resources(params, account, service, format).await,
    }
}

fn region(params: &Params) -> Result<Region, AliyunError> {
    let raw = params
        .get("RegionId")
        .ok_or_else(|| AliyunError::null_parameter("RegionId"))?;
    Region::parse(raw).ok_or_else(|| AliyunError::invalid("RegionId"))
}

fn resource_type(params: &Params) -> Result<ResourceType, AliyunError> {
    let raw = params
        .get("ResourceType")
        .ok_or_else(|| AliyunError::null_parameter("ResourceType"))?;
    let at = RESOURCE_TYPES
        .iter()
        .position(|t| t.eq_ignore_ascii_case(raw))
        .ok_or(error::RESOURCE_TYPE_NOT_FOUND)?;
    built_types()
        .get(at)
        .cloned()
        .flatten()
        .ok_or(error::RESOURCE_TYPE_NOT_FOUND)
}

/// [`RESOURCE_TYPES`] as `ALIYUN::RDS::…` types, built once: building one per call (a format
/// and four allocations) was ~2% of the request threads' CPU in an in-process `TagResources`.
fn built_types() -> &'static [Option<ResourceType>] {
    static BUILT: std::sync::OnceLock<Vec<Option<ResourceType>>> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        RESOURCE_TYPES
            .iter()
            .map(|kind| ResourceType::new("ALIYUN", "RDS", kind))
            .collect()
    })
}

/// `ResourceId.N`, counted before each id is checked.
fn resource_ids(params: &Params) -> Result<Vec<ResourceId>, AliyunError> {
    let raw = params
        .list("ResourceId")
        .map_err(|_| AliyunError::invalid("ResourceId.N"))?;
    if raw.len() > ALIYUN_RDS_LIMITS.max_resources {
        return Err(error::TOO_MANY_RESOURCES);
    }
    raw.iter()
        .map(|id| ResourceId::parse(id).ok_or_else(|| AliyunError::invalid("ResourceId.N")))
        .collect()
}

fn tag_params(params: &Params) -> Result<Vec<TagParam>, AliyunError> {
    let tags = params
        .tag_list("Tag")
        .map_err(|_| AliyunError::invalid("Tag.N"))?;
    if tags.len() > ALIYUN_RDS_LIMITS.max_tags {
        return Err(error::TOO_MANY_TAGS);
    }
    Ok(tags)
}

fn refs(region: &Region, t: &ResourceType, ids: Vec<ResourceId>) -> Vec<ResourceRef> {
    ids.into_iter()
        .map(|id| ResourceRef {
            region: region.clone(),
            resource_type: t.clone(),
            id,
        })
        .collect()
}

async fn tag_resources<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let rtype = resource_type(params)?;
    let ids = resource_ids(params)?;
    let tag_params = tag_params(params)?;
    if !tag_params.iter().any(|t| t.key.is_some()) {
        return Err(error::TAGS_MISSING);
    }
    let mut tags = Vec::with_capacity(tag_params.len());
    for t in tag_params {
        // A value without its key is a blank key (the key is what the request lacks).
        let key = t.key.ok_or(error::KEY_BLANK)?;
        tags.push(Tag {
            key,
            value: t.value.unwrap_or_default(),
        });
    }
    let resources = refs(&region, &rtype, ids);
    service
        .tag_resources(
            account,
            resources,
            tags,
            &ALIYUN_RDS_LIMITS,
            Atomicity::AllOrNothing,
        )
        .await
        .map_err(|e| error::from_core(&e))?;
    Ok(Vec::new())
}

/// `All=true|True` (Python sends `str(True)`); `false` counts as absent (§6 item 14).
fn parse_all(params: &Params) -> Result<bool, AliyunError> {
    match params.get("All") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v.is_empty() => Ok(false),
        Some(_) => Err(AliyunError::invalid("All")),
    }
}

async fn untag_resources<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let rtype = resource_type(params)?;
    let ids = resource_ids(params)?;
    let keys = params
        .list("TagKey")
        .map_err(|_| AliyunError::invalid("TagKey.N"))?;
    let all = parse_all(params)?;
    // `All` takes effect only when no TagKey.N is given [doc].
    let keys = match (keys.is_empty(), all) {
        (false, _) => UntagKeys::Keys(keys),
        (true, true) => UntagKeys::All,
        (true, false) => return Err(error::TAG_KEY_MISSING),
    };
    let resources = refs(&region, &rtype, ids);
    service
        .untag_resources(
            account,
            resources,
            keys,
            &ALIYUN_RDS_LIMITS,
            Atomicity::AllOrNothing,
        )
        .await
        .map_err(|e| error::from_core(&e))?;
    Ok(Vec::new())
}

async fn list_tag_resources<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
    format: Format,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let rtype = resource_type(params)?;
    let ids = resource_ids(params)?;
    let mut filters = Vec::new();
    for t in tag_params(params)? {
        let key = t
            .key
            .filter(|k| !k.trim().is_empty())
            .ok_or(error::KEY_BLANK)?;
        filters.push(TagFilter::new(key, t.value));
    }
    if ids.is_empty() && filters.is_empty() {
        return Err(AliyunError::missing("ResourceId.N or Tag.N.Key"));
    }
    let token = params.get("NextToken").filter(|t| !t.is_empty());
    let query = ResourceQuery {
        account: account.clone(),
        region,
        types: TypeFilter::Exact(rtype.clone()),
        ids: ids.into_iter().map(|id| (rtype.clone(), id)).collect(),
        tags: filters,
        start: None,
        limit: 0,
    };
    let page = service
        .list_tag_rows(query, token, LIST_PAGE_ROWS)
        .await
        .map_err(|e| error::from_core(&e))?;
    // Up to LIST_PAGE_ROWS rows: rendered straight into text, not as a tree.
    let mut rows = Stream::new(format);
    rows.begin_list("TagResource");
    for row in &page.items {
        rows.begin_item("TagResource");
        rows.text("ResourceId", row.id.as_str());
        rows.text("ResourceType", row.resource_type.as_str());
        rows.text("TagKey", &row.key);
        rows.text("TagValue", &row.value);
        rows.end_item("TagResource");
    }
    rows.end_list();
    Ok(vec![
        ("NextToken", Node::text(page.next_token.unwrap_or_default())),
        (
            "TagResources",
            Node::Object(vec![("TagResource", rows.finish())]),
        ),
    ])
}
