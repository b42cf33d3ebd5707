//! `CreateTags` and `DeleteTag`: preset ("meta") tags, account-wide, listed under
//! `QueryType=MetaTag` (spec aliyun.md §3.4).

use std::collections::BTreeMap;

use tagd_core::catalogue::{PresetDelete, PresetKey, PresetValue};
use tagd_core::{AccountId, CoreError, Store, TagService};

use super::error;
use super::{TAG_RULES, region};
use crate::error::AliyunError;
use crate::params::Params;
use crate::render::Node;

/// Most keys per CreateTags, and values per key.
const MAX_KEYS: usize = 10;
const MAX_VALUES: usize = 10;

#[derive(Default)]
struct KeyEntry {
    key: Option<String>,
    description: Option<String>,
    values: BTreeMap<u32, (Option<String>, Option<String>)>,
}

fn index(s: &str) -> Option<u32> {
    let ok = !s.is_empty() && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// `TagKeyValueParamList.N.Key|Description` and `….N.TagValueParamList.M.Value|Description`.
fn parse_entries(params: &Params) -> Result<BTreeMap<u32, KeyEntry>, AliyunError> {
    let mut entries: BTreeMap<u32, KeyEntry> = BTreeMap::new();
    for (name, value) in params.pairs() {
        let Some(rest) = name.strip_prefix("TagKeyValueParamList.") else {
            continue;
        };
        let invalid = || AliyunError::invalid(name);
        let mut parts = rest.split('.');
        let n = parts.next().and_then(index).ok_or_else(invalid)?;
        let entry = entries.entry(n).or_default();
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("Key"), None, ..) => {
                entry.key.get_or_insert_with(|| value.to_owned());
            }
            (Some("Description"), None, ..) => {
                entry.description.get_or_insert_with(|| value.to_owned());
            }
            (Some("TagValueParamList"), Some(m), Some(field), None) => {
                let m = index(m).ok_or_else(invalid)?;
                let slot = entry.values.entry(m).or_default();
                match field {
                    "Value" => {
                        slot.0.get_or_insert_with(|| value.to_owned());
                    }
                    "Description" => {
                        slot.1.get_or_insert_with(|| value.to_owned());
                    }
                    _ => return Err(invalid()),
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(entries)
}

pub async fn create<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    region(params)?;
    let entries = parse_entries(params)?;
    if entries.is_empty() {
        return Err(error::missing("TagKeyValueParamList"));
    }
    if entries.len() > MAX_KEYS {
        return Err(error::TOO_MANY_TAGS);
    }
    let mut presets = Vec::with_capacity(entries.len());
    for entry in entries.into_values() {
        let key = entry.key.ok_or_else(|| error::missing("Key"))?;
        if entry.values.len() > MAX_VALUES {
            return Err(error::TOO_MANY_TAGS);
        }
        let mut values = Vec::with_capacity(entry.values.len());
        for (value, description) in entry.values.into_values() {
            let value = value.ok_or_else(|| error::missing("Value"))?;
            values.push(PresetValue {
                value,
                description: description.unwrap_or_default(),
            });
        }
        presets.push(PresetKey {
            key,
            description: entry.description.unwrap_or_default(),
            values,
        });
    }
    service
        .create_presets(account, presets, &TAG_RULES)
        .await
        .map_err(|e| match e {
            CoreError::InvalidTag { problem, .. } if problem.concerns_key() => {
                error::INVALID_PRESET_KEY
            }
            CoreError::InvalidTag { .. } => error::INVALID_PRESET_VALUE,
            other => error::from_core(&other, |_| Default::default()),
        })?;
    Ok(Vec::new())
}

pub async fn delete<S: Store>(
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    region(params)?;
    let key = params
        .get("Key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| error::missing("Key"))?;
    let value = params.get("Value").filter(|v| !v.is_empty());
    let outcome = service
        .delete_preset(account, key, value)
        .await
        .map_err(|e| error::from_core(&e, |_| Default::default()))?;
    match outcome {
        PresetDelete::Deleted => Ok(Vec::new()),
        PresetDelete::KeyNotFound | PresetDelete::ValueNotFound => Err(error::META_KEY_NOT_FOUND),
        PresetDelete::KeyHasValues => Err(error::META_KEY_HAS_VALUE),
    }
}
