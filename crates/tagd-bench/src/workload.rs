//! What each request of a run does. A workload is a variant of [`Workload`] plus one function
//! that builds its next [`Operation`]; signing and sending are the same for all of them
//! ([`crate::request`]).
//!
//! To add one: a variant, its name, and a builder here. Another dialect (Baidu BCE) is a new
//! [`Operation`] variant with its own signer.

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
    /// W2: RDS `TagResources`, 50 resources of the bulk pool (`rm-bulk…`) × 20 tags.
    TagBatch,
    /// W3: RDS `ListTagResources` of one resource of the pool (`ResourceId.1`).
    ListId,
    /// W4: RDS `ListTagResources` by `Tag.1` = the target key=value (from `--manifest` or
    /// `--tag-key/--tag-value`; `env=<random>` without either), following `NextToken` to the
    /// end; each page is one request.
    ListTag,
    /// "Find resources by one tag", as the moto comparison runs it: the Tag service's
    /// `ListTagResources` (2018-08-28) with `Tags={"<key>":"<value>"}` (the same target as
    /// `list-tag`) and `PageSize=1000`, following `NextToken` to the end. Each item is a
    /// resource with its tags, as RGTA `GetResources` answers.
    FindTag,
    /// W5: 80% reads, 20% writes: 60% `list-id`, 20% the first page of `list-tag`, 15% `tag`,
    /// 5% `untag`.
    Mix,
    /// W6: RDS `UntagResources` of the `cost` tag from one resource of the pool.
    Untag,
    /// Baidu: bind `env=<one of 8 values>` to one pool resource (`POST /v1/resource`,
    /// serviceType `BCC`, region `bj`), bce-auth-v1 signed as bce-python-sdk signs. The
    /// catalogue tag is created on first bind (8 tags: far below the 200-tag quota).
    BceBind,
    /// Baidu: `GET /v1/tag/tagResources?tagKey=env&tagValue=<one of the 8>&region=bj`.
    BceTagResources,
}

/// W5's operations and their weights (percent): reads 80, writes 20.
pub const MIX: [(MixOp, u32); 4] = [
    (MixOp::ListId, 60),
    (MixOp::ListTagPage, 20),
    (MixOp::Tag, 15),
    (MixOp::Untag, 5),
];

/// One kind of request of the W5 mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MixOp {
    ListId,
    /// The first page only of a `list-tag` listing.
    ListTagPage,
    Tag,
    Untag,
}

impl MixOp {
    #[cfg(test)]
    pub fn is_read(self) -> bool {
        matches!(self, Self::ListId | Self::ListTagPage)
    }

    /// Draws one operation with the weights of [`MIX`].
    pub fn pick(rng: &mut Rng) -> Self {
        let total: u32 = MIX.iter().map(|(_, weight)| weight).sum();
        let mut draw = u32::try_from(rng.below(total as usize)).unwrap_or(0);
        for (op, weight) in MIX {
            if draw < weight {
                return op;
            }
            draw -= weight;
        }
        MIX[MIX.len() - 1].0
    }
}

/// One request, before signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// An unsigned `GET` of this path.
    Get(&'static str),
    /// A signed Alibaba RPC call.
    Rpc(RpcCall),
    /// A bce-auth-v1 signed Baidu call.
    Bce(BceCall),
}

/// One Baidu request: method, path, query (a `None` value is a bare flag) and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BceCall {
    pub method: &'static str,
    pub path: &'static str,
    pub query: Vec<(String, Option<String>)>,
    pub body: String,
    pub label: &'static str,
}

impl Operation {
    /// What the request is, for the per-kind latency breakdown (`list-id`, `tag`, …).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Get(_) => "healthz",
            Self::Rpc(call) => call.label,
            Self::Bce(call) => call.label,
        }
    }
}

/// An Alibaba RPC call: the action and its own parameters, without the common ones
/// (`AccessKeyId`, `Timestamp`, `SignatureNonce`, `RegionId`, …), which the signer adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcCall {
    pub action: &'static str,
    pub version: &'static str,
    pub params: Vec<(String, String)>,
    /// The kind of request, for the latency breakdown (a workload name).
    pub label: &'static str,
}

/// Which pool resource a request picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolOrder {
    /// Uniformly at random, with random tag values.
    Random,
    /// Request k takes resource k mod pool (batch k takes 50 from 50k), and `tag` writes the
    /// deterministic values of [`fixed_w1_tags`]: with `--requests N` every resource is written
    /// once, as `bench/compare.py` does on moto.
    Sequential,
}

/// Everything a workload draws from besides its random generator.
#[derive(Clone, Debug)]
pub struct Targets {
    pub pool: ResourcePool,
    pub order: PoolOrder,
    /// The `Tag.1.Key` / `Tag.1.Value` of `list-tag` and of the mix's list page; `None`: a
    /// random `env` value.
    pub list_filter: Option<(String, String)>,
}

impl Targets {
    /// The pool index request `ticket` works on.
    fn index(&self, rng: &mut Rng, ticket: u64) -> u32 {
        match self.order {
            PoolOrder::Random => self.pool.pick_index(rng),
            PoolOrder::Sequential => {
                u32::try_from(ticket % u64::from(self.pool.size.max(1))).unwrap_or(0)
            }
        }
    }
}

impl Workload {
    /// The name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Tag => "tag",
            Self::TagBatch => "tag-batch",
            Self::ListId => "list-id",
            Self::ListTag => "list-tag",
            Self::FindTag => "find-tag",
            Self::Mix => "mix",
            Self::Untag => "untag",
            Self::BceBind => "bce-bind",
            Self::BceTagResources => "bce-tag-resources",
        }
    }

    /// Whether the requests are signed (and so need credentials and a resource pool).
    pub fn is_signed(self) -> bool {
        !matches!(self, Self::Healthz)
    }

    /// Whether a successful response can name a next page, which is then fetched before the
    /// workload builds a new operation.
    pub fn paginates(self) -> bool {
        matches!(self, Self::ListTag | Self::FindTag)
    }

    /// Tags written per successful request (0 for reads; for the mix, none is counted).
    pub fn tags_per_call(self) -> u64 {
        match self {
            Self::Tag => W1_TAG_KEYS.len() as u64,
            Self::TagBatch => (BATCH_RESOURCES * BATCH_TAGS) as u64,
            _ => 0,
        }
    }

    /// The next operation of this workload; `ticket` numbers the operations of the run.
    pub fn operation(self, targets: &Targets, rng: &mut Rng, ticket: u64) -> Operation {
        match self {
            Self::Healthz => Operation::Get("/healthz"),
            Self::Tag => Operation::Rpc(tag_one_resource(targets, rng, ticket)),
            Self::TagBatch => Operation::Rpc(tag_batch(targets, rng, ticket)),
            Self::ListId => Operation::Rpc(list_by_id(targets, rng, ticket)),
            Self::ListTag => Operation::Rpc(list_by_tag(targets, rng, "list-tag")),
            Self::FindTag => Operation::Rpc(find_by_tag(targets, rng)),
            Self::Untag => Operation::Rpc(untag_cost(targets, rng, ticket)),
            Self::BceBind => Operation::Bce(bce_bind(targets, rng, ticket)),
            Self::BceTagResources => Operation::Bce(bce_tag_resources(rng)),
            Self::Mix => Operation::Rpc(match MixOp::pick(rng) {
                MixOp::ListId => list_by_id(targets, rng, ticket),
                MixOp::ListTagPage => list_by_tag(targets, rng, "list-tag-page"),
                MixOp::Tag => tag_one_resource(targets, rng, ticket),
                MixOp::Untag => untag_cost(targets, rng, ticket),
            }),
        }
    }
}

/// The values of the Baidu workloads' `env` tag.
pub const BCE_ENV_VALUES: [&str; 8] =
    ["prod", "staging", "dev", "test", "qa", "perf", "demo", "ci"];

/// Baidu bind: one pool resource gets `env=<value>` (replacing its previous value).
fn bce_bind(targets: &Targets, rng: &mut Rng, ticket: u64) -> BceCall {
    let index = targets.index(rng, ticket);
    let value = BCE_ENV_VALUES[rng.below(BCE_ENV_VALUES.len())];
    let body = serde_json::json!({
        "tagKey": "env",
        "tagValue": value,
        "serviceType": "BCC",
        "resources": [{"resourceId": targets.pool.id(index), "serviceType": "BCC", "region": "bj"}],
    });
    BceCall {
        method: "POST",
        path: "/v1/resource",
        query: Vec::new(),
        body: body.to_string(),
        label: "bce-bind",
    }
}

/// Baidu query: the resources bound to one `env` value in `bj`.
fn bce_tag_resources(rng: &mut Rng) -> BceCall {
    let value = BCE_ENV_VALUES[rng.below(BCE_ENV_VALUES.len())];
    let query = vec![
        ("tagKey".to_owned(), Some("env".to_owned())),
        ("tagValue".to_owned(), Some(value.to_owned())),
        ("region".to_owned(), Some("bj".to_owned())),
    ];
    BceCall {
        method: "GET",
        path: "/v1/tag/tagResources",
        query,
        body: String::new(),
        label: "bce-tag-resources",
    }
}

/// Resources per W2 call (the RDS per-call limit).
pub const BATCH_RESOURCES: usize = 50;
/// Tags per W2 call (the RDS per-call and per-resource limit).
pub const BATCH_TAGS: usize = 20;

/// The W1 tags resource `index` gets in sequential order: fixed by the index, so another
/// client (moto's, in `bench/compare.py`) can write the same. `cost=cc-<k>` matches exactly 1%
/// of a pool whose size is a multiple of 100.
pub fn fixed_w1_tags(index: u32) -> [(&'static str, String); 5] {
    [
        (
            "env",
            ENV_VALUES[index as usize % ENV_VALUES.len()].to_owned(),
        ),
        ("team", format!("team-{}", index % 8)),
        ("app", format!("app-{}", index % 32)),
        ("owner", format!("user-{}", index % 1000)),
        ("cost", format!("cc-{}", index % 100)),
    ]
}

/// W1: `TagResources` of one pool resource with the five W1 tags.
fn tag_one_resource(targets: &Targets, rng: &mut Rng, ticket: u64) -> RpcCall {
    let index = targets.index(rng, ticket);
    let mut params = rds_params(targets.pool.id(index));
    let tags = match targets.order {
        PoolOrder::Sequential => fixed_w1_tags(index),
        PoolOrder::Random => [
            ("env", ENV_VALUES[rng.below(ENV_VALUES.len())].to_owned()),
            ("team", format!("team-{}", rng.below(8))),
            ("app", format!("app-{}", rng.below(32))),
            ("owner", format!("user-{}", rng.below(64))),
            ("cost", format!("cc-{}", rng.below(100))),
        ],
    };
    const NAMES: [(&str, &str); 5] = [
        ("Tag.1.Key", "Tag.1.Value"),
        ("Tag.2.Key", "Tag.2.Value"),
        ("Tag.3.Key", "Tag.3.Value"),
        ("Tag.4.Key", "Tag.4.Value"),
        ("Tag.5.Key", "Tag.5.Value"),
    ];
    for ((key_name, value_name), (key, value)) in NAMES.into_iter().zip(tags) {
        params.push((key_name.to_owned(), key.to_owned()));
        params.push((value_name.to_owned(), value));
    }
    rds_call("TagResources", params, "tag")
}

/// W2: `TagResources` of 50 consecutive resources of the bulk pool × 20 tags `bulk-00` …
/// `bulk-19`, each with a random value (so every call really changes the index).
fn tag_batch(targets: &Targets, rng: &mut Rng, ticket: u64) -> RpcCall {
    let size = u64::from(targets.pool.size.max(1));
    let first = match targets.order {
        PoolOrder::Random => rng.next_u64() % size,
        PoolOrder::Sequential => (ticket * BATCH_RESOURCES as u64) % size,
    };
    let mut params = vec![("ResourceType".to_owned(), RESOURCE_TYPE.to_owned())];
    for n in 0..BATCH_RESOURCES.min(targets.pool.size as usize) {
        let index = (first + n as u64) % size;
        params.push((format!("ResourceId.{}", n + 1), bulk_id(index)));
    }
    for n in 0..BATCH_TAGS {
        params.push((format!("Tag.{}.Key", n + 1), format!("bulk-{n:02}")));
        params.push((
            format!("Tag.{}.Value", n + 1),
            format!("b-{}", rng.below(1000)),
        ));
    }
    rds_call("TagResources", params, "tag-batch")
}

/// The id of W2's bulk resource `index` (a pool apart from the dataset's, whose resources may
/// already carry 20 tags).
pub fn bulk_id(index: u64) -> String {
    format!("rm-bulk{index:06}")
}

fn list_by_id(targets: &Targets, rng: &mut Rng, ticket: u64) -> RpcCall {
    let index = targets.index(rng, ticket);
    rds_call(
        "ListTagResources",
        rds_params(targets.pool.id(index)),
        "list-id",
    )
}

/// The key=value the listings filter on: the target, or a random `env` value.
fn list_target(targets: &Targets, rng: &mut Rng) -> (String, String) {
    match &targets.list_filter {
        Some((key, value)) => (key.clone(), value.clone()),
        None => (
            "env".to_owned(),
            ENV_VALUES[rng.below(ENV_VALUES.len())].to_owned(),
        ),
    }
}

fn list_by_tag(targets: &Targets, rng: &mut Rng, label: &'static str) -> RpcCall {
    let (key, value) = list_target(targets, rng);
    let params = vec![
        ("ResourceType".to_owned(), RESOURCE_TYPE.to_owned()),
        ("Tag.1.Key".to_owned(), key),
        ("Tag.1.Value".to_owned(), value),
    ];
    rds_call("ListTagResources", params, label)
}

/// The Tag service's version, and its largest `PageSize`.
pub const TAG_SERVICE_VERSION: &str = "2018-08-28";
const TAG_SERVICE_PAGE: &str = "1000";

fn find_by_tag(targets: &Targets, rng: &mut Rng) -> RpcCall {
    let (key, value) = list_target(targets, rng);
    let filter = serde_json::json!({ key: value }).to_string();
    RpcCall {
        action: "ListTagResources",
        version: TAG_SERVICE_VERSION,
        params: vec![
            ("Tags".to_owned(), filter),
            ("PageSize".to_owned(), TAG_SERVICE_PAGE.to_owned()),
        ],
        label: "find-tag",
    }
}

fn untag_cost(targets: &Targets, rng: &mut Rng, ticket: u64) -> RpcCall {
    let index = targets.index(rng, ticket);
    let mut params = rds_params(targets.pool.id(index));
    params.push(("TagKey.1".to_owned(), "cost".to_owned()));
    rds_call("UntagResources", params, "untag")
}

/// `ResourceType` and `ResourceId.1`, what every single-resource RDS call starts with.
fn rds_params(resource_id: String) -> Vec<(String, String)> {
    vec![
        ("ResourceType".to_owned(), RESOURCE_TYPE.to_owned()),
        ("ResourceId.1".to_owned(), resource_id),
    ]
}

fn rds_call(action: &'static str, params: Vec<(String, String)>, label: &'static str) -> RpcCall {
    RpcCall {
        action,
        version: RDS_VERSION,
        params,
        label,
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
    /// The same ids `tagd-bench load` creates ([`crate::dataset::resource_id`]).
    pub fn id(self, index: u32) -> String {
        crate::dataset::resource_id(u64::from(index))
    }

    /// A uniformly chosen index of the pool.
    pub fn pick_index(self, rng: &mut Rng) -> u32 {
        u32::try_from(rng.below(self.size.max(1) as usize)).unwrap_or(0)
    }

    #[cfg(test)]
    /// A uniformly chosen id of the pool.
    pub fn pick(self, rng: &mut Rng) -> String {
        self.id(self.pick_index(rng))
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

    fn targets(size: u32, order: PoolOrder) -> Targets {
        Targets {
            pool: ResourcePool { size },
            order,
            list_filter: None,
        }
    }

    fn rpc(workload: Workload, targets: &Targets, rng: &mut Rng, ticket: u64) -> RpcCall {
        match workload.operation(targets, rng, ticket) {
            Operation::Rpc(call) => call,
            Operation::Get(path) => panic!("{path} is not an rpc call"),
            Operation::Bce(call) => panic!("{} is not an rpc call", call.path),
        }
    }

    #[test]
    fn w1_tags_one_pool_resource_with_five_tags() {
        let mut rng = Rng::new(7);
        let Operation::Rpc(call) =
            Workload::Tag.operation(&targets(10, PoolOrder::Random), &mut rng, 0)
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
        let first = list_by_tag(&targets(10, PoolOrder::Random), &mut rng, "list-tag");
        let second = next_page(&first, "t1").unwrap();
        let third = next_page(&second, "t2").unwrap();
        assert_eq!(param(&third, "NextToken"), Some("t2"));
        assert_eq!(third.params.len(), first.params.len() + 1);
        assert_eq!(next_page(&third, ""), None);
    }

    #[test]
    fn sequential_order_walks_the_pool_with_fixed_values() {
        let targets = targets(100, PoolOrder::Sequential);
        let mut rng = Rng::new(1);
        for ticket in [0, 1, 99, 100, 257] {
            let call = rpc(Workload::Tag, &targets, &mut rng, ticket);
            let index = u32::try_from(ticket % 100).unwrap();
            assert_eq!(
                param(&call, "ResourceId.1"),
                Some(format!("rm-bench{index:06}").as_str())
            );
            let expected = fixed_w1_tags(index);
            assert_eq!(param(&call, "Tag.5.Key"), Some("cost"));
            assert_eq!(param(&call, "Tag.5.Value"), Some(expected[4].1.as_str()));
        }
        // cost=cc-7 is on exactly 1% of a pool of 10,000.
        let count = (0..10_000)
            .filter(|&i| fixed_w1_tags(i)[4].1 == "cc-7")
            .count();
        assert_eq!(count, 100);
    }

    #[test]
    fn w2_tags_fifty_bulk_resources_with_twenty_tags() {
        let mut rng = Rng::new(9);
        let call = rpc(
            Workload::TagBatch,
            &targets(1000, PoolOrder::Sequential),
            &mut rng,
            3,
        );
        assert_eq!(call.action, "TagResources");
        assert_eq!(param(&call, "ResourceId.1"), Some("rm-bulk000150"));
        assert_eq!(param(&call, "ResourceId.50"), Some("rm-bulk000199"));
        assert_eq!(param(&call, "ResourceId.51"), None);
        assert_eq!(param(&call, "Tag.20.Key"), Some("bulk-19"));
        assert_eq!(param(&call, "Tag.21.Key"), None);
        assert_eq!(Workload::TagBatch.tags_per_call(), 1000);
        // A small pool wraps around without repeating an id within one call.
        let small = rpc(
            Workload::TagBatch,
            &targets(60, PoolOrder::Random),
            &mut rng,
            0,
        );
        let ids: std::collections::BTreeSet<&str> = small
            .params
            .iter()
            .filter(|(n, _)| n.starts_with("ResourceId."))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(ids.len(), 50);
    }

    #[test]
    fn find_tag_asks_the_tag_service_for_a_thousand_resources_a_page() {
        let mut targets = targets(10, PoolOrder::Random);
        targets.list_filter = Some(("cost".to_owned(), "cc-7".to_owned()));
        let call = rpc(Workload::FindTag, &targets, &mut Rng::new(1), 0);
        assert_eq!(call.action, "ListTagResources");
        assert_eq!(call.version, "2018-08-28");
        assert_eq!(param(&call, "Tags"), Some(r#"{"cost":"cc-7"}"#));
        assert_eq!(param(&call, "PageSize"), Some("1000"));
        assert!(Workload::FindTag.paginates());
        let next = next_page(&call, "tok").expect("a next page");
        assert_eq!(param(&next, "NextToken"), Some("tok"));
        assert_eq!(param(&next, "Tags"), Some(r#"{"cost":"cc-7"}"#));
    }

    #[test]
    fn list_tag_uses_the_target_filter() {
        let mut targets = targets(10, PoolOrder::Random);
        targets.list_filter = Some(("app".to_owned(), "app-120".to_owned()));
        let call = rpc(Workload::ListTag, &targets, &mut Rng::new(2), 0);
        assert_eq!(param(&call, "Tag.1.Key"), Some("app"));
        assert_eq!(param(&call, "Tag.1.Value"), Some("app-120"));
        assert_eq!(param(&call, "ResourceId.1"), None);
        assert_eq!(call.label, "list-tag");
    }

    #[test]
    fn mix_is_eighty_percent_reads() {
        let mut rng = Rng::new(12345);
        let draws = 100_000;
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..draws {
            *counts.entry(MixOp::pick(&mut rng)).or_insert(0u32) += 1;
        }
        for (op, weight) in MIX {
            let share = f64::from(counts[&op]) / f64::from(draws);
            let expected = f64::from(weight) / 100.0;
            assert!(
                (share - expected).abs() < 0.01,
                "{op:?}: {share} vs {expected}"
            );
        }
        let reads: u32 = counts
            .iter()
            .filter(|(op, _)| op.is_read())
            .map(|(_, n)| n)
            .sum();
        let share = f64::from(reads) / f64::from(draws);
        assert!((share - 0.8).abs() < 0.01, "reads {share}");
        // The mix's operations carry their own labels, the list page never paginates.
        let targets = targets(10, PoolOrder::Random);
        let labels: std::collections::BTreeSet<&str> = (0..200)
            .map(|_| rpc(Workload::Mix, &targets, &mut rng, 0).label)
            .collect();
        let expected: std::collections::BTreeSet<&str> =
            ["list-id", "list-tag-page", "tag", "untag"].into();
        assert_eq!(labels, expected);
        assert!(!Workload::Mix.paginates());
    }
}
