//! `TagResources`, `UntagResources`, `ListTagResources` by ARN. Whole-request problems are
//! errors that change nothing; a resource over its tag limit (or unregistered) is reported in
//! `FailedResources` with HTTP 200 while the others are applied (docs/aliyun-tag-service.md).

use tagd_core::rules::ALIYUN_TAG_LIMITS;
use tagd_core::service::UntagKeys;
use tagd_core::{
    AccountId, ApplyReport, Atomicity, Region, ResourceQuery, ResourceRef, ResourceTags, Store,
    Tag, TagFilter, TagService, TypeFilter, change::ResourceProblem,
};

use super::arn::ArnWriter;
use super::error::{self, QUOTA_PER_RESOURCE, RESOURCE_NOT_FOUND};
use super::{
    Category, NAMESPACE, TAG_RULES, arn, next_token, page_size, region, stream_tags, tags_json,
};
use crate::error::AliyunError;
use crate::error::UNAVAILABLE;
use crate::params::Params;
use crate::render::{Format, Node, Stream, stream_items};

/// `ResourceARN.N`, each checked against the request's region and the caller's account.
fn arns(
    params: &Params,
    region: &Region,
    account: &AccountId,
) -> Result<Vec<ResourceRef>, AliyunError> {
    let raw = params
        .list("ResourceARN")
        .map_err(|_| AliyunError::invalid("ResourceARN.N"))?;
    if raw.len() > ALIYUN_TAG_LIMITS.max_resources {
        return Err(error::TOO_MANY_RESOURCES);
    }
    let mut out = Vec::with_capacity(raw.len());
    for text in &raw {
        let parsed = arn::parse(text).ok_or_else(|| error::arn_format(text))?;
        if parsed.region.as_ref().is_some_and(|r| r != region) {
            return Err(error::arn_region(text));
        }
        if parsed
            .account
            .as_deref()
            .is_some_and(|a| a != account.as_str())
        {
            return Err(error::arn_account(text));
        }
        out.push(ResourceRef {
            region: region.clone(),
            resource_type: parsed.resource_type,
            id: parsed.id,
        });
    }
    Ok(out)
}

/// The `Tags` map, parsed; `None` when absent.
fn tags_param(params: &Params) -> Result<Option<Vec<(String, String)>>, AliyunError> {
    let Some(raw) = params.get("Tags") else {
        return Ok(None);
    };
    match tags_json::parse(raw) {
        Ok(pairs) if pairs.len() > ALIYUN_TAG_LIMITS.max_tags => Err(error::TOO_MANY_TAGS),
        Ok(pairs) => Ok(Some(pairs)),
        Err(tags_json::TagsJsonError::Malformed) => Err(error::INVALID_TAGS),
        Err(tags_json::TagsJsonError::Duplicate(_)) => Err(error::DUPLICATE_KEY),
    }
}

fn failed_resources(account: &AccountId, report: &ApplyReport) -> Vec<(&'static str, Node)> {
    if report.failures.is_empty() {
        return Vec::new();
    }
    let failed = report
        .failures
        .iter()
        .map(|f| {
            let (code, message) = match f.problem {
                ResourceProblem::TagQuotaExceeded => QUOTA_PER_RESOURCE,
                ResourceProblem::NotRegistered => RESOURCE_NOT_FOUND,
            };
            Node::Object(vec![
                ("ResourceARN", Node::text(arn::render(account, &f.resource))),
                (
                    "Result",
                    Node::Object(vec![
                        ("Code", Node::text(code)),
                        ("Message", Node::text(message)),
                    ]),
                ),
            ])
        })
        .collect();
    vec![(
        "FailedResources",
        Node::Object(vec![("FailedResource", Node::List(failed))]),
    )]
}

pub async fn tag<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let resources = arns(params, &region, account)?;
    if resources.is_empty() {
        return Err(error::missing("ResourceARN"));
    }
    let pairs = tags_param(params)?.ok_or_else(|| error::missing("Tags"))?;
    // The core checks the tags against the namespace's rules, which take the empty value the
    // RDS API allows; this service's are stricter. Checked in the core's order (each key, then
    // its value), after everything the core checks before the tags.
    for (key, value) in &pairs {
        TAG_RULES
            .check_key(key)
            .and_then(|()| TAG_RULES.check_value(value))
            .map_err(|problem| error::from_rule(problem, key, value))?;
    }
    let tags: Vec<Tag> = pairs
        .iter()
        .map(|(k, v)| Tag::new(k.clone(), v.clone()))
        .collect();
    let report = service
        .tag_resources(
            account,
            resources,
            tags,
            &ALIYUN_TAG_LIMITS,
            Atomicity::PerResource,
        )
        .await
        .map_err(|e| error::from_core(&e, |i| pairs.get(i).cloned().unwrap_or_default()))?;
    Ok(failed_resources(account, &report))
}

pub async fn untag<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let resources = arns(params, &region, account)?;
    if resources.is_empty() {
        return Err(error::missing("ResourceARN"));
    }
    let keys = params
        .list("TagKey")
        .map_err(|_| AliyunError::invalid("TagKey.N"))?;
    if keys.is_empty() {
        return Err(error::TAG_KEY_MISSING);
    }
    if keys.len() > ALIYUN_TAG_LIMITS.max_untag_keys {
        return Err(error::TOO_MANY_TAGS);
    }
    let report = service
        .untag_resources(
            account,
            resources,
            UntagKeys::Keys(keys.clone()),
            &ALIYUN_TAG_LIMITS,
            Atomicity::PerResource,
        )
        .await
        .map_err(|e| {
            error::from_core(&e, |i| {
                (keys.get(i).cloned().unwrap_or_default(), String::new())
            })
        })?;
    Ok(failed_resources(account, &report))
}

pub async fn list<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
    format: Format,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let resources = arns(params, &region, account)?;
    let filters = tags_param(params)?.unwrap_or_default();
    let category = Category::parse(params)?;
    let size = page_size(params, "PageSize", 50)?;
    let query = ResourceQuery {
        account: account.clone(),
        region,
        types: TypeFilter::Namespace(NAMESPACE.into()),
        ids: resources
            .into_iter()
            .map(|r| (r.resource_type, r.id))
            .collect(),
        tags: filters
            .into_iter()
            .map(|(key, value)| TagFilter::pair(key, value))
            .collect(),
        start: None,
        limit: 0,
    };
    let page = service
        .list_resources(query, next_token(params), size)
        .await
        .map_err(|e| error::from_core(&e, |_| Default::default()))?;
    // Up to 1,000 resources of up to 20 tags: rendered straight into text, not as a tree.
    // An ARN and its item's punctuation, then each tag's text and its field names.
    let estimate: usize = page
        .items
        .iter()
        .map(|found| {
            128 + found
                .tags
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>()
        })
        .sum();
    let mut items = Stream::with_capacity(format, estimate);
    items.begin_list("TagResources");
    let account = account.clone();
    let render = move |out: &mut Stream, found: &[ResourceTags]| {
        let mut arns = ArnWriter::new(&account);
        for found in found {
            if !found.tags.iter().any(|(k, _)| category.admits(k)) {
                continue;
            }
            out.begin_item("TagResources");
            out.text("ResourceARN", arns.arn(&found.resource));
            let tags = found.tags.iter().filter(|(k, _)| category.admits(k));
            stream_tags(out, tags, true);
            out.end_item("TagResources");
        }
    };
    stream_items(&mut items, page.items, render)
        .await
        .map_err(|_| UNAVAILABLE)?;
    items.end_list();
    Ok(vec![
        ("NextToken", Node::text(page.next_token.unwrap_or_default())),
        ("TagResources", items.finish()),
    ])
}
