//! `--shard k/n`: splitting the selected gates of a checkpoint across CI runners.
//!
//! The rule, which every machine computes the same way from the same files:
//!
//! 1. **Groups.** Gates joined by `needs` (in either direction, transitively)
//!    form one group (union-find over the `needs` edges of the selection), so a
//!    gate always runs on the same shard as every gate it needs — a `needs`
//!    failure skips its dependants there, exactly as in an unsharded run.
//! 2. **Weight.** A group weighs the number of checks of its gates (a gate
//!    without checks counts 1): checks, not gates, are what take time.
//! 3. **Assignment.** Groups are taken heaviest first (ties: the group whose
//!    smallest gate id sorts first) and each goes to the shard with the least
//!    weight so far (ties: the lowest shard number) — greedy
//!    longest-processing-time scheduling.
//!
//! Only gate ids, `needs` and check counts enter the rule: reordering gates in
//! the file does not move them between shards. A shard may be empty (more
//! shards than groups); it runs nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use checkpoint_model::plan::Gate;

/// One shard of `total`: `index` is 1-based, as written on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("`{s}` is not a shard: {why}; write k/n with 1 ≤ k ≤ n, e.g. `--shard 2/3`");
        let (k, n) = s.trim().split_once('/').ok_or_else(|| bad("expected k/n"))?;
        let k: u32 = k.trim().parse().map_err(|_| bad("k is not a whole number"))?;
        let n: u32 = n.trim().parse().map_err(|_| bad("n is not a whole number"))?;
        if n == 0 {
            return Err(bad("n must be at least 1"));
        }
        if k == 0 || k > n {
            return Err(bad(&format!("k must be between 1 and {n} (shards are numbered from 1)")));
        }
        Ok(Self { index: k, total: n })
    }
}

/// For each shard (0-based position = shard number − 1), the positions in
/// `gates` it runs, in definition order.
pub fn assign(gates: &[Gate], total: u32) -> Vec<Vec<usize>> {
    let n = gates.len();
    let pos: BTreeMap<&str, usize> = gates.iter().enumerate().map(|(i, g)| (g.id.as_str(), i)).collect();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (i, g) in gates.iter().enumerate() {
        for need in &g.needs {
            // A need outside the selection cannot happen after `select`; ignore it if it does.
            if let Some(&j) = pos.get(need.as_str()) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    // Groups keyed by root; members kept in definition order.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut groups: Vec<(usize, &str, Vec<usize>)> = groups
        .into_values()
        .map(|members| {
            let weight = members.iter().map(|&i| gates[i].checks.len().max(1)).sum();
            let key = members.iter().map(|&i| gates[i].id.as_str()).min().unwrap_or("");
            (weight, key, members)
        })
        .collect();
    groups.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let shards = usize::try_from(total.max(1)).unwrap_or(1);
    let mut load = vec![0usize; shards];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); shards];
    for (weight, _, members) in groups {
        let (lightest, _) = load.iter().enumerate().min_by_key(|&(i, &l)| (l, i)).unwrap_or((0, &0));
        load[lightest] += weight;
        out[lightest].extend(members);
    }
    for s in &mut out {
        s.sort_unstable();
    }
    out
}

/// The gates shard `shard` runs, in definition order (possibly none).
pub fn select(gates: &[Gate], shard: Shard) -> Vec<Gate> {
    let mut plan = assign(gates, shard.total);
    let k = usize::try_from(shard.index).unwrap_or(1).saturating_sub(1);
    if k >= plan.len() {
        return Vec::new();
    }
    plan.swap_remove(k).into_iter().map(|i| gates[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use checkpoint_model::diag::Location;
    use checkpoint_model::plan::Severity;

    use super::*;

    fn gate(id: &str, needs: &[&str], checks: usize) -> Gate {
        let check = checkpoint_model::plan::Check {
            name: "c".into(),
            spec: checkpoint_model::kinds::CommandSpec::default().into(),
            expect: Vec::new(),
            capture: Vec::new(),
            timeout: std::time::Duration::from_secs(1),
            retry: None,
            service: None,
            location: Location::new("t.yaml", 1, 1),
            during: Vec::new(),
            after: Vec::new(),
        };
        Gate {
            id: id.into(),
            title: id.into(),
            description: None,
            severity: Severity::Must,
            wave: None,
            tags: Vec::new(),
            needs: needs.iter().map(|s| (*s).to_string()).collect(),
            plan: None,
            checks: vec![check; checks],
            location: Location::new("t.yaml", 1, 1),
            defined_in: String::new(),
        }
    }

    fn ids(gates: &[Gate], plan: &[Vec<usize>]) -> Vec<Vec<String>> {
        plan.iter().map(|s| s.iter().map(|&i| gates[i].id.clone()).collect()).collect()
    }

    #[test]
    fn parses_and_rejects_shard_specs() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, total: 3 }));
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
        for bad in ["0/3", "4/3", "x/y", "3", "1/0", "-1/3", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("is not a shard") && e.contains("k/n"), "{bad}: {e}");
        }
        assert!("4/3".parse::<Shard>().unwrap_err().contains("between 1 and 3"));
    }

    #[test]
    fn needs_chains_stay_together_and_groups_balance_by_checks() {
        let gates = vec![
            gate("a", &[], 1),
            gate("b", &["a"], 2),
            gate("c", &["b"], 1), // a-b-c: weight 4
            gate("d", &[], 3),    // weight 3
            gate("e", &[], 1),
            gate("f", &["e"], 1),      // e-f: weight 2
            gate("g", &[], 1),         // weight 1
            gate("h", &["g", "d"], 1), // joins d and g: d-g-h weight 5
        ];
        let plan = assign(&gates, 3);
        // Largest first: dgh(5) → 1, abc(4) → 2, ef(2) → 3.
        assert_eq!(ids(&gates, &plan), vec![vec!["d", "g", "h"], vec!["a", "b", "c"], vec!["e", "f"]]);
        // Every gate in exactly one shard.
        let mut all: Vec<usize> = plan.concat();
        all.sort_unstable();
        assert_eq!(all, (0..gates.len()).collect::<Vec<_>>());
    }

    #[test]
    fn reordering_the_file_does_not_move_gates_between_shards() {
        let gates = vec![gate("x", &[], 2), gate("y", &[], 2), gate("z", &[], 2), gate("w", &["z"], 1)];
        let mut reversed = gates.clone();
        reversed.reverse();
        let sets = |g: &[Gate]| {
            let mut v: Vec<Vec<String>> = ids(g, &assign(g, 2))
                .into_iter()
                .map(|mut s| {
                    s.sort();
                    s
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(sets(&gates), sets(&reversed));
        // And shard k is the same shard either way.
        let k1: Vec<String> = select(&gates, Shard { index: 1, total: 2 }).into_iter().map(|g| g.id).collect();
        let mut k1r: Vec<String> = select(&reversed, Shard { index: 1, total: 2 }).into_iter().map(|g| g.id).collect();
        k1r.sort();
        let mut k1s = k1.clone();
        k1s.sort();
        assert_eq!(k1s, k1r);
    }

    #[test]
    fn more_shards_than_groups_leaves_some_empty() {
        let gates = vec![gate("a", &[], 1), gate("b", &["a"], 1)];
        assert_eq!(select(&gates, Shard { index: 1, total: 3 }).len(), 2);
        assert!(select(&gates, Shard { index: 2, total: 3 }).is_empty());
        assert!(select(&gates, Shard { index: 3, total: 3 }).is_empty());
        assert_eq!(select(&gates, Shard { index: 1, total: 1 }).len(), 2);
    }
}
