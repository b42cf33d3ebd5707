//! `ListResourcesByTag` (spec aliyun.md §3.5): resources of one canonical type carrying a key
//! (with a value, when given).

use tagd_core::{AccountId, ResourceQuery, Store, TagFilter, TagService, TypeFilter};

use super::error;
use super::{next_token, page_size, region, resource_type, stream_tags};
use crate::error::AliyunError;
use crate::params::Params;
use crate::render::{Format, Node, Stream};

fn include_all_tags(params: &Params) -> Result<bool, AliyunError> {
    match params.get("IncludeAllTags") {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(AliyunError::invalid("IncludeAllTags")),
    }
}

pub async fn list<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
    format: Format,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let raw_type = params
        .get("ResourceType")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| error::missing("ResourceType"))?;
    let resource_type = resource_type(raw_type)?;
    let key = params
        .get("TagFilter.Key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| error::missing("TagFilter.Key"))?;
    let value = params.get("TagFilter.Value").filter(|v| !v.is_empty());
    match params.get("FuzzyType") {
        None | Some("") => {}
        Some(f) if f.eq_ignore_ascii_case("EQUAL") => {}
        Some(_) => return Err(error::FUZZY_NOT_SUPPORTED),
    }
    let all_tags = include_all_tags(params)?;
    let size = page_size(params, "MaxResult", 50)?;
    let query = ResourceQuery {
        account: account.clone(),
        region,
        types: TypeFilter::Exact(resource_type),
        ids: Vec::new(),
        tags: vec![TagFilter::new(key, value)],
        start: None,
        limit: 0,
    };
    let page = service
        .list_resources(query, next_token(params), size)
        .await
        .map_err(|e| error::from_core(&e, |_| Default::default()))?;
    let mut resources = Stream::new(format);
    resources.begin_list("Resources");
    for found in &page.items {
        resources.begin_item("Resources");
        resources.text("ResourceId", found.resource.id.as_str());
        let tags = found.tags.iter().filter(|(k, _)| all_tags || *k == key);
        stream_tags(&mut resources, tags, false);
        resources.end_item("Resources");
    }
    resources.end_list();
    Ok(vec![
        ("NextToken", Node::text(page.next_token.unwrap_or_default())),
        ("Resources", resources.finish()),
    ])
}
