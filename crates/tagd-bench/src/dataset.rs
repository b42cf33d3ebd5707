//! The synthetic dataset `tagd-bench load` writes: N resources, each with a deterministic set of
//! tags drawn with a realistic skew.
//!
//! Every resource's tags are a pure function of `(seed, index)`, so a dataset can be rebuilt (or
//! one resource's tags recomputed) without storing it. The shape:
//!
//! - **Common keys, on every resource**: `env` (4 values, skewed: prod 50%), `team` (40 values,
//!   Zipf), `app` (2,000 values, Zipf), `owner` (500 values, uniform), `cost` (100 values,
//!   uniform). These are also W1's five keys, so W1 only ever overwrites them.
//! - **Mid keys, on a share of the resources**: `zone` (50%, 6 values), `project` (40%, about one
//!   value per 200 resources), `created-by` (30%, 4 values), `version` (25%, 20 values, Zipf).
//! - **Rare keys**: `x-0000` … `x-4999`, drawn with a Zipf skew until the resource has its tag
//!   count; a rare key's values are unique per resource, two-valued or 100-valued (by key).
//!
//! A resource's tag count is drawn uniformly in `mean - 3 ..= mean + 3`, clamped to `5..=20`
//! (20 is Alibaba's per-resource limit), so N × mean is about the number of tag bindings.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// The per-resource tag limit of the ALIYUN rule set.
pub const MAX_TAGS: usize = 20;
/// Every resource has at least the five common tags.
pub const MIN_TAGS: usize = COMMON_KEYS.len();
/// The keys every resource carries (W1's keys too).
pub const COMMON_KEYS: [&str; 5] = ["env", "team", "app", "owner", "cost"];
/// How many distinct rare keys exist.
pub const RARE_KEYS: usize = 5_000;

const ENV: [(&str, u32); 4] = [("prod", 50), ("staging", 20), ("dev", 20), ("test", 10)];
const ZONES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const CREATORS: [&str; 4] = ["terraform", "console", "cli", "ros"];

/// What a dataset is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSpec {
    pub seed: u64,
    pub resources: u64,
    /// Mean tags per resource (5..=20).
    pub tags_mean: u32,
}

/// The id of resource `index`: the same ids the workloads' pool uses (`rm-bench000000` …).
pub fn resource_id(index: u64) -> String {
    format!("rm-bench{index:06}")
}

/// SplitMix64: a tiny, well-mixed generator, seeded per resource.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        // Lemire's multiply-shift: unbiased enough for benchmark data, and fast.
        ((u128::from(self.next_u64()) * u128::from(bound.max(1))) >> 64) as u64
    }

    /// `true` with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A Zipf distribution over `0..n` (rank 0 most frequent) with exponent `s`, sampled by binary
/// search in its cumulative table.
#[derive(Clone, Debug)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(n.max(1));
        for rank in 1..=n.max(1) {
            total += 1.0 / (rank as f64).powf(s);
            cumulative.push(total);
        }
        for value in &mut cumulative {
            *value /= total;
        }
        Self { cumulative }
    }

    pub fn sample(&self, rng: &mut SplitMix64) -> usize {
        // 53 random bits as a uniform float in [0, 1).
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len() - 1)
    }

    #[cfg(test)]
    /// The probability of `rank`.
    pub fn probability(&self, rank: usize) -> f64 {
        let below = if rank == 0 {
            0.0
        } else {
            self.cumulative[rank - 1]
        };
        self.cumulative[rank] - below
    }
}

/// The generator: the spec plus the precomputed Zipf tables.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub spec: DatasetSpec,
    team: Zipf,
    app: Zipf,
    version: Zipf,
    rare: Zipf,
    projects: u64,
}

impl Dataset {
    pub fn new(spec: DatasetSpec) -> Self {
        Self {
            spec,
            team: Zipf::new(40, 1.1),
            app: Zipf::new(2_000, 1.0),
            version: Zipf::new(20, 1.2),
            rare: Zipf::new(RARE_KEYS, 1.1),
            projects: (spec.resources / 200).max(10),
        }
    }

    /// The tags of resource `index`, in the order they were drawn (keys distinct).
    pub fn tags(&self, index: u64) -> Vec<(String, String)> {
        let mut rng = SplitMix64::new(
            self.spec
                .seed
                .wrapping_mul(0xD1B5_4A32_D192_ED03)
                .wrapping_add(index),
        );
        // One warm-up draw decorrelates neighbouring indexes.
        rng.next_u64();
        let mean = u64::from(self.spec.tags_mean);
        let wanted = usize::try_from((mean + rng.below(7)).saturating_sub(3))
            .unwrap_or(MAX_TAGS)
            .clamp(MIN_TAGS, MAX_TAGS);
        let mut tags = Vec::with_capacity(wanted);
        let env = weighted(&ENV, &mut rng);
        tags.push(("env".to_owned(), env.to_owned()));
        tags.push((
            "team".to_owned(),
            format!("team-{}", self.team.sample(&mut rng)),
        ));
        tags.push((
            "app".to_owned(),
            format!("app-{}", self.app.sample(&mut rng)),
        ));
        tags.push(("owner".to_owned(), format!("user-{}", rng.below(500))));
        tags.push(("cost".to_owned(), format!("cc-{}", rng.below(100))));
        // Mid keys: each drawn independently, kept while there is room.
        let zone = rng
            .percent(50)
            .then(|| ZONES[rng.below(ZONES.len() as u64) as usize].to_owned());
        let project = rng
            .percent(40)
            .then(|| format!("prj-{}", rng.below(self.projects)));
        let creator = rng
            .percent(30)
            .then(|| CREATORS[rng.below(CREATORS.len() as u64) as usize].to_owned());
        let version = rng
            .percent(25)
            .then(|| format!("v{}", self.version.sample(&mut rng)));
        for (key, value) in [
            ("zone", zone),
            ("project", project),
            ("created-by", creator),
            ("version", version),
        ] {
            if let Some(value) = value
                && tags.len() < wanted
            {
                tags.push((key.to_owned(), value));
            }
        }
        // Rare keys fill the rest; a repeated draw is retried a bounded number of times.
        let mut attempts = 0;
        while tags.len() < wanted && attempts < 4 * MAX_TAGS {
            attempts += 1;
            let rank = self.rare.sample(&mut rng);
            let key = format!("x-{rank:04}");
            if tags.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let value = match rank % 3 {
                0 => format!("u-{index:x}"),
                1 => if rng.percent(50) { "true" } else { "false" }.to_owned(),
                _ => format!("val-{}", rng.below(100)),
            };
            tags.push((key, value));
        }
        tags
    }

    /// Whether the values of `key` have a bounded number of values, so counting them is cheap
    /// and one of them can be a W4 target.
    pub fn is_countable(key: &str) -> bool {
        matches!(
            key,
            "env" | "team" | "app" | "owner" | "cost" | "zone" | "created-by" | "version"
        )
    }
}

fn weighted<'a>(choices: &[(&'a str, u32)], rng: &mut SplitMix64) -> &'a str {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut pick = u32::try_from(rng.below(u64::from(total))).unwrap_or(0);
    for (value, weight) in choices {
        if pick < *weight {
            return value;
        }
        pick -= weight;
    }
    choices[choices.len() - 1].0
}

/// Counts resources per (key, value) for the countable keys, and every binding and key.
#[derive(Debug, Default)]
pub struct Census {
    pub resources: u64,
    pub bindings: u64,
    pub pairs: HashMap<(String, String), u64>,
    /// Resources per key, over all keys.
    pub keys: HashMap<String, u64>,
    pub max_tags: usize,
}

impl Census {
    pub fn add(&mut self, tags: &[(String, String)]) {
        self.resources += 1;
        self.bindings += tags.len() as u64;
        self.max_tags = self.max_tags.max(tags.len());
        for (key, value) in tags {
            if let Some(count) = self.keys.get_mut(key) {
                *count += 1;
            } else {
                self.keys.insert(key.clone(), 1);
            }
            if Dataset::is_countable(key) {
                *self.pairs.entry((key.clone(), value.clone())).or_default() += 1;
            }
        }
    }

    /// For each wanted fraction, the (key, value) whose share of the resources is closest to it
    /// (ties broken by key then value, so the choice is deterministic).
    pub fn targets(&self, fractions: &[f64]) -> Vec<Target> {
        let total = self.resources.max(1) as f64;
        let mut pairs: Vec<(&(String, String), &u64)> = self.pairs.iter().collect();
        pairs.sort();
        fractions
            .iter()
            .filter_map(|&fraction| {
                let distance = |count: u64| ((count as f64 / total) / fraction).ln().abs();
                pairs
                    .iter()
                    .filter(|(_, count)| **count > 0)
                    .min_by(|a, b| distance(*a.1).total_cmp(&distance(*b.1)))
                    .map(|((key, value), count)| Target {
                        wanted_fraction: fraction,
                        key: key.clone(),
                        value: value.clone(),
                        resources: **count,
                        fraction: **count as f64 / total,
                    })
            })
            .collect()
    }

    /// The most frequent values of a countable key, most frequent first.
    pub fn top_values(&self, key: &str, limit: usize) -> Vec<(String, u64)> {
        let mut values: Vec<(String, u64)> = self
            .pairs
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|((_, v), count)| (v.clone(), *count))
            .collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        values.truncate(limit);
        values
    }

    /// Resources per key for the common and mid keys (rare keys summed up).
    pub fn key_summary(&self) -> BTreeMap<String, u64> {
        let mut summary = BTreeMap::new();
        let mut rare_bindings = 0;
        for (key, count) in &self.keys {
            if key.starts_with("x-") {
                rare_bindings += count;
            } else {
                summary.insert(key.clone(), *count);
            }
        }
        summary.insert("x-* (rare keys, bindings)".to_owned(), rare_bindings);
        summary
    }
}

/// A (key, value) that matches about a wanted share of the resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub wanted_fraction: f64,
    pub key: String,
    pub value: String,
    /// Resources carrying this tag when the dataset was loaded.
    pub resources: u64,
    pub fraction: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(resources: u64) -> Dataset {
        Dataset::new(DatasetSpec {
            seed: 42,
            resources,
            tags_mean: 10,
        })
    }

    #[test]
    fn tags_are_a_function_of_seed_and_index() {
        let a = dataset(1000);
        let b = dataset(1000);
        for index in [0, 1, 2, 999, 123_456] {
            assert_eq!(a.tags(index), b.tags(index));
        }
        assert_ne!(a.tags(1), a.tags(2));
        let other_seed = Dataset::new(DatasetSpec { seed: 43, ..a.spec });
        assert_ne!(a.tags(1), other_seed.tags(1));
    }

    #[test]
    fn every_resource_is_valid_and_has_the_common_keys() {
        let data = dataset(2000);
        let mut census = Census::default();
        for index in 0..2000 {
            let tags = data.tags(index);
            assert!((MIN_TAGS..=MAX_TAGS).contains(&tags.len()), "{tags:?}");
            for (position, key) in COMMON_KEYS.iter().enumerate() {
                assert_eq!(tags[position].0, *key);
            }
            let mut keys: Vec<&String> = tags.iter().map(|(k, _)| k).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), tags.len(), "duplicate key in {tags:?}");
            for (key, value) in &tags {
                assert!(!key.is_empty() && key.len() <= 128);
                assert!(value.len() <= 128);
                assert!(!key.starts_with("aliyun") && !key.starts_with("acs:"));
            }
            census.add(&tags);
        }
        // The mean is close to what was asked (draws are uniform in mean ± 3).
        let mean = census.bindings as f64 / census.resources as f64;
        assert!((9.0..=11.0).contains(&mean), "mean {mean}");
    }

    #[test]
    fn skew_is_realistic() {
        let data = dataset(20_000);
        let mut census = Census::default();
        for index in 0..20_000 {
            census.add(&data.tags(index));
        }
        // Common keys on every resource, mid keys on a share, many distinct rare keys.
        assert_eq!(census.keys["env"], 20_000);
        let zone = census.keys["zone"] as f64 / 20_000.0;
        assert!((0.4..0.6).contains(&zone), "zone share {zone}");
        let rare_keys = census.keys.keys().filter(|k| k.starts_with("x-")).count();
        assert!(rare_keys > 1000, "{rare_keys} rare keys");
        // env is skewed towards prod; app has a head and a long tail.
        let env = census.top_values("env", 4);
        assert_eq!(env[0].0, "prod");
        let app = census.top_values("app", 2000);
        assert!(app[0].1 > 10 * app[100].1, "{:?} vs {:?}", app[0], app[100]);
    }

    #[test]
    fn targets_pick_the_closest_share() {
        let data = dataset(50_000);
        let mut census = Census::default();
        for index in 0..50_000 {
            census.add(&data.tags(index));
        }
        let targets = census.targets(&[0.001, 0.01]);
        assert_eq!(targets.len(), 2);
        for target in &targets {
            let ratio = target.fraction / target.wanted_fraction;
            assert!((0.8..1.25).contains(&ratio), "{target:?}");
            assert_eq!(
                census.pairs[&(target.key.clone(), target.value.clone())],
                target.resources
            );
        }
        // Deterministic: the same census gives the same choice.
        assert_eq!(targets, census.targets(&[0.001, 0.01]));
    }

    #[test]
    fn zipf_probabilities_sum_to_one_and_decrease() {
        let zipf = Zipf::new(100, 1.0);
        let total: f64 = (0..100).map(|rank| zipf.probability(rank)).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(zipf.probability(0) > zipf.probability(1));
        let mut rng = SplitMix64::new(5);
        for _ in 0..1000 {
            assert!(zipf.sample(&mut rng) < 100);
        }
    }
}
