//! `ListTagKeys` and `ListTagValues`: the account's keys and values in use
//! (`QueryType=ResourceTag`, per region) or its preset tags (`QueryType=MetaTag`).

use tagd_core::catalogue::{KeyQuery, TextMatch, ValueQuery};
use tagd_core::{AccountId, Store, TagService, TypeFilter};

use super::error;
use super::{
    Category, NAMESPACE, is_system, next_token, page_size, region, resource_type, text_match,
};
use crate::error::AliyunError;
use crate::params::Params;
use crate::render::Node;

#[derive(Clone, Copy, PartialEq, Eq)]
enum QueryType {
    ResourceTag,
    MetaTag,
}

fn query_type(params: &Params) -> Result<QueryType, AliyunError> {
    match params.get("QueryType") {
        None | Some("") => Ok(QueryType::ResourceTag),
        Some(q) if q.eq_ignore_ascii_case("ResourceTag") => Ok(QueryType::ResourceTag),
        Some(q) if q.eq_ignore_ascii_case("MetaTag") => Ok(QueryType::MetaTag),
        Some(_) => Err(AliyunError::invalid("QueryType")),
    }
}

/// `ResourceType` (canonical) narrows to one type; otherwise every Alibaba type.
fn types(params: &Params) -> Result<TypeFilter, AliyunError> {
    match params.get("ResourceType").filter(|t| !t.is_empty()) {
        None => Ok(TypeFilter::Namespace(NAMESPACE.into())),
        Some(raw) => resource_type(raw).map(TypeFilter::Exact),
    }
}

/// Narrows a key match to the `system` category (keys under `acs:`); `None` when nothing can
/// match.
fn system_keys(matching: TextMatch) -> Option<TextMatch> {
    const PREFIX: &str = "acs:";
    match matching {
        TextMatch::Any => Some(TextMatch::Prefix(PREFIX.into())),
        TextMatch::Exact(k) => k.starts_with(PREFIX).then_some(TextMatch::Exact(k)),
        TextMatch::Prefix(p) if p.starts_with(PREFIX) => Some(TextMatch::Prefix(p)),
        TextMatch::Prefix(p) => PREFIX
            .starts_with(p.as_str())
            .then(|| TextMatch::Prefix(PREFIX.into())),
    }
}

fn key_node(key: &str, description: &str) -> Node {
    let category = if is_system(key) { "system" } else { "custom" };
    Node::Object(vec![
        ("Key", Node::text(key)),
        ("Category", Node::text(category)),
        ("Description", Node::text(description)),
    ])
}

pub async fn keys<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let query_type = query_type(params)?;
    let category = Category::parse(params)?;
    let types = types(params)?;
    let matching = text_match(params, params.get("TagFilter.Key"))?;
    let size = page_size(params, "PageSize", 50)?;
    let token = next_token(params);
    let core = |e: tagd_core::CoreError| error::from_core(&e, |_| Default::default());
    let (keys, next) = match query_type {
        QueryType::ResourceTag => {
            let matching = match category {
                Category::System => system_keys(matching),
                Category::All | Category::Custom => Some(matching),
            };
            match matching {
                None => (Vec::new(), None),
                Some(matching) => {
                    let query = KeyQuery {
                        account: account.clone(),
                        region,
                        types,
                        matching,
                        after: None,
                        limit: 0,
                    };
                    let page = service
                        .list_tag_keys(query, token, size)
                        .await
                        .map_err(core)?;
                    let keys = page
                        .items
                        .iter()
                        .filter(|k| category.admits(k))
                        .map(|k| key_node(k, ""))
                        .collect();
                    (keys, page.next_token)
                }
            }
        }
        // Preset tags are the user's own: custom.
        QueryType::MetaTag if category == Category::System => (Vec::new(), None),
        QueryType::MetaTag => {
            let page = service
                .list_preset_keys(account, matching, token, size)
                .await
                .map_err(core)?;
            let keys = page
                .items
                .iter()
                .map(|k| key_node(&k.key, &k.description))
                .collect();
            (keys, page.next_token)
        }
    };
    Ok(vec![
        ("NextToken", Node::text(next.unwrap_or_default())),
        ("Keys", Node::Object(vec![("Key", Node::List(keys))])),
    ])
}

pub async fn values<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    let region = region(params)?;
    let key = params
        .get("Key")
        .filter(|k| !k.is_empty())
        .ok_or(error::TAG_KEY_MISSING)?;
    let query_type = query_type(params)?;
    let category = Category::parse(params)?;
    let types = types(params)?;
    let matching = text_match(params, params.get("TagFilter.Value"))?;
    let size = page_size(params, "PageSize", 50)?;
    let token = next_token(params);
    let core = |e: tagd_core::CoreError| error::from_core(&e, |_| Default::default());
    let (values, next) = match query_type {
        _ if !category.admits(key) => (Vec::new(), None),
        QueryType::ResourceTag => {
            let query = ValueQuery {
                account: account.clone(),
                region,
                types,
                key: key.to_owned(),
                matching,
                after: None,
                limit: 0,
            };
            let page = service
                .list_tag_values(query, token, size)
                .await
                .map_err(core)?;
            (page.items, page.next_token)
        }
        QueryType::MetaTag => {
            let page = service
                .list_preset_values(account, key, matching, token, size)
                .await
                .map_err(core)?
                .ok_or(error::META_KEY_NOT_FOUND)?;
            (page.items, page.next_token)
        }
    };
    Ok(vec![
        ("NextToken", Node::text(next.unwrap_or_default())),
        (
            "Values",
            Node::Object(vec![(
                "Value",
                Node::List(values.into_iter().map(Node::text).collect()),
            )]),
        ),
    ])
}
