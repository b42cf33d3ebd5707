//! Alibaba Cloud resource names: `[arn:]acs:<product>:<region|*>:<account|*>:<type>/<id>`
//! (spec aliyun.md §3.1, docs/aliyun-tag-service.md). Any well-formed product and type map to
//! the canonical type `ALIYUN::<PRODUCT>::<TYPE>`.

use tagd_core::{AccountId, Region, ResourceId, ResourceRef, ResourceType};

/// A parsed ARN; `None` region or account stands for `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn {
    pub resource_type: ResourceType,
    pub region: Option<Region>,
    pub account: Option<String>,
    pub id: ResourceId,
}

fn is_code(s: &str, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Parses both forms (`arn:acs:…` and the older `acs:…`).
pub fn parse(raw: &str) -> Option<Arn> {
    let rest = raw.strip_prefix("arn:").unwrap_or(raw);
    let rest = rest.strip_prefix("acs:")?;
    let mut parts = rest.splitn(4, ':');
    let (product, region, account, tail) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (kind, id) = tail.split_once('/')?;
    if !is_code(product, b"-") || !is_code(kind, b"-_") {
        return None;
    }
    let region = match region {
        "*" => None,
        r => Some(Region::parse(r)?),
    };
    let account = match account {
        "*" => None,
        a if !a.is_empty() && a.len() <= 32 && a.bytes().all(|b| b.is_ascii_digit()) => {
            Some(a.to_owned())
        }
        _ => return None,
    };
    Some(Arn {
        resource_type: ResourceType::new(super::NAMESPACE, product, kind)?,
        region,
        account,
        id: ResourceId::parse(id)?,
    })
}

/// The canonical ARN of a resource: lower-case product and type, real region and account.
pub fn render(account: &AccountId, resource: &ResourceRef) -> String {
    let mut out = String::new();
    push_prefix(account, resource, &mut out);
    out.push_str(resource.id.as_str());
    out
}

/// `arn:acs:<product>:<region>:<account>:<type>/`, everything of an ARN but the id.
fn push_prefix(account: &AccountId, resource: &ResourceRef, out: &mut String) {
    let product = resource.resource_type.product();
    let kind = resource.resource_type.kind();
    let (region, account) = (resource.region.as_str(), account.as_str());
    out.reserve(12 + product.len() + region.len() + account.len() + kind.len());
    out.push_str("arn:acs:");
    out.extend(product.chars().map(|c| c.to_ascii_lowercase()));
    out.push(':');
    out.push_str(region);
    out.push(':');
    out.push_str(account);
    out.push(':');
    out.extend(kind.chars().map(|c| c.to_ascii_lowercase()));
    out.push('/');
}

/// Renders the ARNs of a listing into one buffer. A listing comes in (type, id) order, so the
/// part before the id is rendered again only when the type or region changes.
pub struct ArnWriter<'a> {
    account: &'a AccountId,
    text: String,
    /// The type and region `text` starts with, and the length of that prefix.
    prefix: Option<(ResourceRef, usize)>,
}

impl<'a> ArnWriter<'a> {
    pub fn new(account: &'a AccountId) -> Self {
        Self {
            account,
            text: String::new(),
            prefix: None,
        }
    }

    /// The ARN of `resource`, valid until the next call.
    pub fn arn(&mut self, resource: &ResourceRef) -> &str {
        match &self.prefix {
            Some((last, len))
                if last.resource_type == resource.resource_type
                    && last.region == resource.region =>
            {
                self.text.truncate(*len);
            }
            _ => {
                self.text.clear();
                push_prefix(self.account, resource, &mut self.text);
                self.prefix = Some((resource.clone(), self.text.len()));
            }
        }
        self.text.push_str(resource.id.as_str());
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_wildcards() {
        let a = parse("arn:acs:rds:cn-hangzhou:123:instance/rm-1").expect("valid");
        assert_eq!(a.resource_type.as_str(), "ALIYUN::RDS::INSTANCE");
        assert_eq!(a.region.as_ref().map(Region::as_str), Some("cn-hangzhou"));
        assert_eq!(a.account.as_deref(), Some("123"));
        assert_eq!(a.id.as_str(), "rm-1");
        let b = parse("acs:ECS:*:*:Instance/i-bp1").expect("valid");
        assert_eq!(b.resource_type.as_str(), "ALIYUN::ECS::INSTANCE");
        assert_eq!((b.region, b.account), (None, None));
        let c = parse("acs:oss:*:1:bucket/my-bucket/with/slash").expect("valid");
        assert_eq!(c.id.as_str(), "my-bucket/with/slash");
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "rm-1",
            "arn:aws:rds:us-east-1:1:db:x",
            "acs:rds:cn-hangzhou:123:instance",
            "acs:rds:cn-hangzhou:123:instance/",
            "acs:rds:CN_X:123:instance/rm-1",
            "acs:rds:cn-hangzhou:12a:instance/rm-1",
            "acs::cn-hangzhou:1:instance/rm-1",
            "acs:rds:cn-hangzhou:1:in stance/rm-1",
            "acs:rds:cn-hangzhou:1:instance/rm 1",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn renders_canonically() {
        let account = AccountId::parse("1234567890123456").expect("id");
        let arn = parse("acs:RDS:*:*:INSTANCE/rm-1").expect("valid");
        let resource = ResourceRef {
            region: Region::parse("cn-hangzhou").expect("region"),
            resource_type: arn.resource_type,
            id: arn.id,
        };
        assert_eq!(
            render(&account, &resource),
            "arn:acs:rds:cn-hangzhou:1234567890123456:instance/rm-1"
        );
    }

    #[test]
    fn the_writer_renders_what_render_renders_across_types_and_regions() {
        let account = AccountId::parse("1234567890123456").expect("id");
        let resources: Vec<ResourceRef> = [
            "acs:rds:cn-hangzhou:*:instance/rm-1",
            "acs:rds:cn-hangzhou:*:instance/rm-22",
            "acs:ecs:cn-hangzhou:*:instance/i-1",
            "acs:ecs:cn-beijing:*:instance/i-1",
            "acs:ecs:cn-beijing:*:instance/i",
        ]
        .iter()
        .map(|text| {
            let arn = parse(text).expect("valid");
            ResourceRef {
                region: arn.region.expect("region"),
                resource_type: arn.resource_type,
                id: arn.id,
            }
        })
        .collect();
        let mut writer = ArnWriter::new(&account);
        for resource in &resources {
            assert_eq!(writer.arn(resource), render(&account, resource));
        }
    }
}
