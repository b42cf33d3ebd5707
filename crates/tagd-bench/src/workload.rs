//! What each request of a run does. A workload is a variant of [`Workload`] plus one function
//! that builds its next [`Operation`]; signing and sending are the same for all of them
//! ([`crate::request`]).
//!
//! To add one: a variant, its name, and a builder here. A batch workload (50 resources × 20
//! tags) is another builder; a weighted mix is a variant that draws one of the others per request;
//! another dialect (Baidu BCE) is a new [`Operation`] variant with its own signer.

use clap::ValueEnum;
use serde::Serialize;

/// The RDS API version every RDS tag action is called with.
pub const RDS_VERSION: &str = "2014-08-15";
/// `ResourceType` of every RDS call (the instances of the pool).
pub const RESOURCE_TYPE: &str = "INSTANCE";

/// The tag keys of W1, with the values each one draws from.
pub const W1_TAG_KEYS: [&str; 5] = ["env", "team", "app", "owner", "cost"];
/// The values of the `env` tag, also what `list-tag` filters on.
pub const ENV_VALUES: [&str; 4] = ["prod", "staging", "dev", "test"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// `GET /healthz`, unsigned: the HTTP ceiling of client and server.
    Healthz,
    /// W1: RDS `TagResources`, one resource of the pool × the five W1 tags.
    Tag,
    /// RDS `ListTagResources` of one resource of the pool (`ResourceId.1`).
    ListId,
    /// RDS `ListTagResources` by `Tag.1` = `env`=<value>, following `NextToken` to the end; each
    /// page is one request.
    ListTag,
    /// RDS `UntagResources` of the `cost` tag from one resource of the pool.
    Untag,
}

/// One request, before signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// An unsigned `GET` of this path.
    Get(&'static str),
    /// A signed Alibaba RPC call.
    Rpc(RpcCall),
}

/// An Alibaba RPC call: the action and its own parameters, without the common ones
/// (`AccessKeyId`, `Timestamp`, `SignatureNonce`, `RegionId`, …), which the signer adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcCall {
    pub action: &'static str,
    pub version: &'static str,
    pub params: Vec<(String, String)>,
}

impl Workload {
    /// The name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Tag => "tag",
            Self::ListId => "list-id",
            Self::ListTag => "list-tag",
            Self::Untag => "untag",
        }
    }

    /// Whether the requests are signed (and so need credentials and a resource pool).
    pub fn is_signed(self) -> bool {
        !matches!(self, Self::Healthz)
    }

    /// Whether a successful response can name a next page, which is then fetched before the
    /// workload builds a new operation.
    pub fn paginates(self) -> bool {
        matches!(self, Self::ListTag)
    }

    /// The next operation of this workload.
    pub fn operation(self, pool: ResourcePool, rng: &mut Rng) -> Operation {
        match self {
            Self::Healthz => Operation::Get("/healthz"),
            Self::Tag => Operation::Rpc(tag_one_resource(pool, rng)),
            Self::ListId => Operation::Rpc(list_by_id(pool, rng)),
            Self::ListTag => Operation::Rpc(list_by_env_tag(rng)),
            Self::Untag => Operation::Rpc(untag_cost(pool, rng)),
        }
    }
}

/// W1: `TagResources` of one pool resource with the five W1 tags and small random values.
fn tag_one_resource(pool: ResourcePool, rng: &mut Rng) -> RpcCall {
    let mut params = rds_params(pool.pick(rng));
    for (index, key) in W1_TAG_KEYS.iter().enumerate() {
        let value = match *key {
            "env" => ENV_VALUES[rng.below(ENV_VALUES.len())].to_owned(),
            "team" => format!("team-{}", rng.below(8)),
            "app" => format!("app-{}", rng.below(32)),
            "owner" => format!("user-{}", rng.below(64)),
            _ => format!("cc-{}", rng.below(16)),
        };
        let n = index + 1;
        params.push((format!("Tag.{n}.Key"), (*key).to_owned()));
        params.push((format!("Tag.{n}.Value"), value));
    }
    rds_call("TagResources", params)
}

fn list_by_id(pool: ResourcePool, rng: &mut Rng) -> RpcCall {
    rds_call("ListTagResources", rds_params(pool.pick(rng)))
}

fn list_by_env_tag(rng: &mut Rng) -> RpcCall {
    let value = ENV_VALUES[rng.below(ENV_VALUES.len())];
    let params = vec![
        ("ResourceType".to_owned(), RESOURCE_TYPE.to_owned()),
        ("Tag.1.Key".to_owned(), "env".to_owned()),
        ("Tag.1.Value".to_owned(), value.to_owned()),
    ];
    rds_call("ListTagResources", params)
}

fn untag_cost(pool: ResourcePool, rng: &mut Rng) -> RpcCall {
    let mut params = rds_params(pool.pick(rng));
    params.push(("TagKey.1".to_owned(), "cost".to_owned()));
    rds_call("UntagResources", params)
}

/// `ResourceType` and `ResourceId.1`, what every single-resource RDS call starts with.
fn rds_params(resource_id: String) -> Vec<(String, String)> {
    vec![
        ("ResourceType".to_owned(), RESOURCE_TYPE.to_owned()),
        ("ResourceId.1".to_owned(), resource_id),
    ]
}

fn rds_call(action: &'static str, params: Vec<(String, String)>) -> RpcCall {
    RpcCall {
        action,
        version: RDS_VERSION,
        params,
    }
}

/// The same call for the page named by `next_token` (an empty token means the last page was
/// read: `None`).
pub fn next_page(call: &RpcCall, next_token: &str) -> Option<RpcCall> {
    if next_token.is_empty() {
        return None;
    }
    let mut next = call.clone();
    next.params.retain(|(name, _)| name != "NextToken");
    next.params
        .push(("NextToken".to_owned(), next_token.to_owned()));
    Some(next)
}

/// The resource ids the workloads pick from: `rm-bench000000` up to `size - 1`.
#[derive(Clone, Copy, Debug)]
pub struct ResourcePool {
    pub size: u32,
}

impl ResourcePool {
    pub fn id(self, index: u32) -> String {
        format!("rm-bench{index:06}")
    }

    /// A uniformly chosen id of the pool.
    pub fn pick(self, rng: &mut Rng) -> String {
        let index = u32::try_from(rng.below(self.size as usize)).unwrap_or(0);
        self.id(index)
    }
}

/// A small, fast PRNG (xorshift64*): the workloads only need cheap spread, not security.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // xorshift must not start at zero.
        Self(seed | 1)
    }

    /// Seeded from the OS, a different sequence per connection.
    pub fn from_entropy() -> Self {
        let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
        Self::new(high ^ low)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (`bound` > 0); the modulo bias is negligible for small bounds.
    pub fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0);
        let bound = bound.max(1) as u64;
        usize::try_from(self.next_u64() % bound).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param<'a>(call: &'a RpcCall, name: &str) -> Option<&'a str> {
        call.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn w1_tags_one_pool_resource_with_five_tags() {
        let mut rng = Rng::new(7);
        let Operation::Rpc(call) = Workload::Tag.operation(ResourcePool { size: 10 }, &mut rng)
        else {
            panic!("tag is an rpc call");
        };
        assert_eq!(call.action, "TagResources");
        assert_eq!(param(&call, "ResourceType"), Some("INSTANCE"));
        let id = param(&call, "ResourceId.1").unwrap();
        assert!(id.starts_with("rm-bench00000"), "{id}");
        for (index, key) in W1_TAG_KEYS.iter().enumerate() {
            assert_eq!(param(&call, &format!("Tag.{}.Key", index + 1)), Some(*key));
            assert!(param(&call, &format!("Tag.{}.Value", index + 1)).is_some());
        }
        assert_eq!(param(&call, "Tag.6.Key"), None);
    }

    #[test]
    fn pool_picks_stay_in_the_pool() {
        let pool = ResourcePool { size: 3 };
        let mut rng = Rng::new(1);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(pool.pick(&mut rng));
        }
        let expected: std::collections::BTreeSet<String> = (0..3).map(|i| pool.id(i)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn next_page_replaces_the_token_and_stops_on_empty() {
        let mut rng = Rng::new(3);
        let first = list_by_env_tag(&mut rng);
        let second = next_page(&first, "t1").unwrap();
        let third = next_page(&second, "t2").unwrap();
        assert_eq!(param(&third, "NextToken"), Some("t2"));
        assert_eq!(third.params.len(), first.params.len() + 1);
        assert_eq!(next_page(&third, ""), None);
    }
}
