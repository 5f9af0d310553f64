//! Benchmark workloads: real Lightning channel graphs, Barabási–Albert graphs, and the ways of
//! splitting each channel's capacity between its ends.

use crate::model::{Channel, Instance, NodeId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::{collections::HashMap, path::Path};

/// A channel of a topology: its two ends and its capacity.
pub type Link = (NodeId, NodeId, i64);

/// A topology: nodes `0..nodes` and channels between them.
#[derive(Clone, Debug, Default)]
pub struct Graph {
	pub nodes: u32,
	pub links: Vec<Link>,
}

/// Reads a `*.edgelist` of the Lightning graphs: one channel per line,
/// `U V {'capacity': u'SATS'}`. Node ids are renumbered densely; self-loops and zero
/// capacities are skipped.
pub fn load_edgelist(path: &Path) -> Result<Graph, String> {
	let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
	parse_edgelist(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses the text of an edgelist (see [`load_edgelist`]).
pub fn parse_edgelist(text: &str) -> Result<Graph, String> {
	let mut ids = HashMap::<u64, NodeId>::new();
	let mut graph = Graph::default();
	let mut dense = |id: u64, graph: &mut Graph| -> NodeId {
		*ids.entry(id).or_insert_with(|| {
			graph.nodes += 1;
			graph.nodes - 1
		})
	};
	for (number, line) in text.lines().enumerate() {
		let line = line.trim();
		if line.is_empty() || line.starts_with('#') {
			continue;
		}
		let bad = || format!("line {}: expected `U V {{'capacity': u'SATS'}}`", number + 1);
		let mut words = line.splitn(3, char::is_whitespace);
		let u: u64 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
		let v: u64 = words.next().and_then(|w| w.trim().parse().ok()).ok_or_else(bad)?;
		let rest = words.next().ok_or_else(bad)?;
		let after = &rest[rest.find("capacity").ok_or_else(bad)? + "capacity".len()..];
		let digits: String = after
			.chars()
			.skip_while(|c| !c.is_ascii_digit())
			.take_while(|c| c.is_ascii_digit())
			.collect();
		let capacity: i64 = digits.parse().map_err(|_| bad())?;
		if u == v || capacity == 0 {
			continue;
		}
		let (a, b) = (dense(u, &mut graph), dense(v, &mut graph));
		graph.links.push((a, b, capacity));
	}
	Ok(graph)
}

/// A Barabási–Albert graph with about `channels` channels: each new node opens `m` channels to
/// distinct existing nodes chosen with probability proportional to their degree. Capacities
/// are log-uniform between 10^4 and 10^7 (the range of most Lightning channels).
pub fn barabasi_albert(channels: usize, m: usize, seed: u64) -> Graph {
	assert!(m >= 1, "m is at least 1");
	let mut rng = ChaCha8Rng::seed_from_u64(seed);
	let mut graph = Graph::default();
	// Every channel end, so that a uniform pick is a pick proportional to degree.
	let mut ends: Vec<NodeId> = Vec::with_capacity(channels * 2);
	// Start from a clique of m + 1 nodes.
	let seed_nodes = (m + 1) as u32;
	graph.nodes = seed_nodes;
	for a in 0..seed_nodes {
		for b in a + 1..seed_nodes {
			graph.links.push((a, b, capacity(&mut rng)));
			ends.extend([a, b]);
		}
	}
	let mut chosen = Vec::with_capacity(m);
	while graph.links.len() < channels {
		let node = graph.nodes;
		graph.nodes += 1;
		chosen.clear();
		while chosen.len() < m {
			let pick = ends[rng.random_range(0..ends.len())];
			if !chosen.contains(&pick) {
				chosen.push(pick);
			}
		}
		for &other in &chosen {
			graph.links.push((node, other, capacity(&mut rng)));
			ends.extend([node, other]);
		}
	}
	graph.links.truncate(channels);
	graph
}

fn capacity(rng: &mut impl Rng) -> i64 {
	10f64.powf(4.0 + 3.0 * rng.random::<f64>()) as i64
}

/// How a channel's capacity is split between its ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Skew {
	/// 50/50: nothing to rebalance.
	Balanced,
	/// The first end's share uniform in [0, capacity].
	Uniform,
	/// Heavy depletion: one end (chosen at random) holds under a tenth of the capacity.
	Heavy,
}

/// A round over `graph`: balances split by `skew`, target 50/50, and every participant willing
/// to move anything (its whole side may leave, its whole room may fill).
pub fn instance(graph: &Graph, skew: Skew, seed: u64) -> Instance {
	let mut rng = ChaCha8Rng::seed_from_u64(seed);
	let channels = graph
		.links
		.iter()
		.enumerate()
		.map(|(index, &(a, b, capacity))| {
			let first = match skew {
				Skew::Balanced => capacity / 2,
				Skew::Uniform => rng.random_range(0..=capacity),
				Skew::Heavy => {
					let poor = rng.random_range(0..(capacity / 10).max(1));
					if rng.random::<bool>() {
						poor
					} else {
						capacity - poor
					}
				}
			};
			Channel::willing(index as u64, [a, b], [first, capacity - first])
		})
		.collect();
	Instance { nodes: graph.nodes, channels }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn edgelist_lines_parse_with_and_without_the_u_prefix() {
		let graph = parse_edgelist(
			"0 173 {'capacity': u'16777215'}\n173 5 {'capacity': '100'}\n7 7 {'capacity': u'5'}\n",
		)
		.unwrap();
		assert_eq!(graph.nodes, 3);
		assert_eq!(graph.links, vec![(0, 1, 16_777_215), (1, 2, 100)]);
		assert!(parse_edgelist("0 1 {}").is_err());
	}

	#[test]
	fn barabasi_albert_is_reproducible_and_sized() {
		let a = barabasi_albert(1000, 4, 7);
		assert_eq!(a.links.len(), 1000);
		assert_eq!(a.links, barabasi_albert(1000, 4, 7).links);
		assert!(a.links.iter().all(|&(x, y, c)| x != y && c >= 10_000));
	}

	#[test]
	fn heavy_skew_depletes_every_channel() {
		let graph = barabasi_albert(500, 4, 1);
		let round = instance(&graph, Skew::Heavy, 3);
		assert!(round.channels.iter().all(|c| c.is_depleted_at(c.balance[0]) || c.capacity() < 10));
	}
}
