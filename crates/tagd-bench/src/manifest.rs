//! The small JSON file `tagd-bench load` leaves next to the data (`<data-dir>/bench-manifest.json`):
//! what was loaded, how long it took, and the ids, keys and values the workloads target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::dataset::{DatasetSpec, Target};

/// The manifest's file name inside the data directory.
pub const FILE_NAME: &str = "bench-manifest.json";
/// The format of this file; bumped when a field changes meaning.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub dataset: DatasetSpec,
    /// The account that owns every resource, and the root key that can sign for it.
    pub account_id: String,
    pub access_key_id: String,
    pub region: String,
    /// `ResourceType` of the RDS calls (`ALIYUN::RDS::<this>` in the store).
    pub resource_type: String,
    /// Resource `i` is `rm-bench{i:06}` for `i` in `0..resources`.
    pub id_format: String,
    pub first_id: String,
    pub last_id: String,
    /// Tag bindings written (sum of tags over the resources).
    pub bindings: u64,
    pub max_tags_per_resource: usize,
    pub distinct_keys: u64,
    /// Resources per key (common and mid keys; rare keys summed up).
    pub keys: BTreeMap<String, u64>,
    /// Tags matching about 0.1% and 1% of the resources: what W4 lists.
    pub targets: Vec<Target>,
    /// The most frequent `env` values, for anyone who wants a broad filter.
    pub env_values: Vec<(String, u64)>,
    pub load: LoadStats,
}

/// How the load went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadStats {
    /// Change sets of this many resources each.
    pub resources_per_change_set: usize,
    /// Change sets in flight at once.
    pub concurrency: usize,
    /// From the first change set sent to the last one acknowledged (each acknowledged durably).
    pub apply_seconds: f64,
    /// Closing the store (final checkpoint).
    pub close_seconds: f64,
    pub resources_per_second: f64,
    pub bindings_per_second: f64,
    /// CPU seconds of the loading process (generation and the store together).
    pub cpu_seconds: f64,
    /// `tagd.redb` + `tagd.wal` after closing.
    pub store_bytes: u64,
    pub peak_rss_kib: Option<u64>,
    /// When the load finished (RFC 3339, UTC).
    pub finished_at: String,
}

impl Manifest {
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE_NAME)
    }

    /// Reads a manifest: `path` is the file itself or the data directory holding it.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let file = if path.is_dir() {
            Self::path_in(path)
        } else {
            path.to_owned()
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read the manifest {}", file.display()))?;
        let manifest: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a tagd-bench manifest", file.display()))?;
        if manifest.version != VERSION {
            anyhow::bail!(
                "{} has manifest version {}, this tagd-bench reads {VERSION}",
                file.display(),
                manifest.version
            );
        }
        Ok(manifest)
    }

    pub fn write(&self, data_dir: &Path) -> anyhow::Result<PathBuf> {
        let file = Self::path_in(data_dir);
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(&file, json + "\n")
            .with_context(|| format!("cannot write {}", file.display()))?;
        Ok(file)
    }

    /// The target closest to the wanted share of the resources.
    pub fn target(&self, fraction: f64) -> Option<&Target> {
        self.targets.iter().min_by(|a, b| {
            let distance = |t: &Target| (t.wanted_fraction / fraction).ln().abs();
            distance(a).total_cmp(&distance(b))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            version: VERSION,
            dataset: DatasetSpec {
                seed: 1,
                resources: 10_000,
                tags_mean: 10,
            },
            account_id: "1234567890123456".to_owned(),
            access_key_id: "LTAIbench".to_owned(),
            region: "cn-hangzhou".to_owned(),
            resource_type: "INSTANCE".to_owned(),
            id_format: "rm-bench{index:06}".to_owned(),
            first_id: "rm-bench000000".to_owned(),
            last_id: "rm-bench009999".to_owned(),
            bindings: 100_000,
            max_tags_per_resource: 13,
            distinct_keys: 3000,
            keys: BTreeMap::from([("env".to_owned(), 10_000)]),
            targets: vec![
                Target {
                    wanted_fraction: 0.001,
                    key: "app".to_owned(),
                    value: "app-120".to_owned(),
                    resources: 10,
                    fraction: 0.001,
                },
                Target {
                    wanted_fraction: 0.01,
                    key: "app".to_owned(),
                    value: "app-11".to_owned(),
                    resources: 101,
                    fraction: 0.0101,
                },
            ],
            env_values: vec![("prod".to_owned(), 5000)],
            load: LoadStats {
                resources_per_change_set: 50,
                concurrency: 64,
                apply_seconds: 1.0,
                close_seconds: 0.1,
                resources_per_second: 10_000.0,
                bindings_per_second: 100_000.0,
                cpu_seconds: 1.5,
                store_bytes: 1 << 20,
                peak_rss_kib: Some(1000),
                finished_at: "2026-11-24T00:00:00Z".to_owned(),
            },
        }
    }

    #[test]
    fn round_trips_through_the_data_dir() {
        let dir = std::env::temp_dir().join(format!("tagd-bench-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let written = manifest();
        let file = written.write(&dir).unwrap();
        assert_eq!(file, dir.join(FILE_NAME));
        assert_eq!(Manifest::read(&dir).unwrap(), written);
        assert_eq!(Manifest::read(&file).unwrap(), written);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn picks_the_nearest_target() {
        let m = manifest();
        assert_eq!(m.target(0.001).unwrap().value, "app-120");
        assert_eq!(m.target(0.0012).unwrap().value, "app-120");
        assert_eq!(m.target(0.01).unwrap().value, "app-11");
        assert_eq!(m.target(0.05).unwrap().value, "app-11");
    }

    #[test]
    fn refuses_another_version() {
        let dir =
            std::env::temp_dir().join(format!("tagd-bench-manifest-v-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut other = manifest();
        other.version = VERSION + 1;
        other.write(&dir).unwrap();
        assert!(Manifest::read(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
