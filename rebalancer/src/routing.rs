//! Routes for payments through intermediaries (issue #19): the cheapest path with enough
//! capacity, each hop's lock amount and expiry, and payments split over several paths when one
//! path cannot carry them. Pure, so the daemon and the simulator route the same way.
//!
//! Fees are charged by the forwarding parties, each by its own policy (a base fee plus parts
//! per million of what it forwards), so what a hop's lock must carry depends on the hops after
//! it. The search therefore runs backwards from the payee, as Lightning implementations do:
//! Dijkstra over "what must arrive at this party for the payment to reach the payee", which only
//! grows along a path because fees are never negative.
//!
//! Expiry rule: the payee's lock expires `final_margin` blocks from now, and each earlier lock
//! `hop_margin` blocks after the one that follows it, so a forwarding party that learns the
//! secret downstream always has `hop_margin` blocks to claim (or register the secret on chain)
//! upstream before its own incoming lock expires.

use std::{cmp::Reverse, collections::BinaryHeap};

/// One direction of a channel: `from` may send up to `capacity` to `to` in `channel_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
	pub channel_id: u64,
	pub from: usize,
	pub to: usize,
	pub capacity: u128,
}

/// What a party charges to forward `amount`: `base + amount * ppm / 1_000_000`, rounded up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeePolicy {
	pub base: u128,
	pub ppm: u32,
}

impl FeePolicy {
	pub fn fee(&self, amount: u128) -> Option<u128> {
		// The common case in 64 bits: a 128-bit division is several times slower.
		if let Ok(small) = u64::try_from(amount) {
			if let Some(product) = small.checked_mul(u64::from(self.ppm)) {
				return self.base.checked_add(u128::from(product.div_ceil(1_000_000)));
			}
		}
		let proportional = amount.checked_mul(u128::from(self.ppm))?.div_ceil(1_000_000);
		self.base.checked_add(proportional)
	}
}

/// The parties (`0..nodes`), the directions of their channels, and each party's fee policy.
#[derive(Clone, Debug, Default)]
pub struct Graph {
	pub nodes: usize,
	pub edges: Vec<Edge>,
	pub fees: Vec<FeePolicy>,
}

/// One hop of a route: `from` locks `amount` to `to` in `channel_id`, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteHop {
	/// The index of the hop's edge in the graph.
	pub edge: usize,
	pub channel_id: u64,
	pub from: usize,
	pub to: usize,
	pub amount: u128,
	pub expires_at: u32,
}

/// A path from the payer to the payee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
	pub hops: Vec<RouteHop>,
}

impl Route {
	/// What the payer sends: the delivered amount and every forwarding party's fee.
	pub fn sent(&self) -> u128 {
		self.hops.first().map_or(0, |hop| hop.amount)
	}

	/// What the payee receives.
	pub fn delivered(&self) -> u128 {
		self.hops.last().map_or(0, |hop| hop.amount)
	}

	/// What the forwarding parties charge, together.
	pub fn fees(&self) -> u128 {
		self.sent() - self.delivered()
	}
}

/// The timing a route's locks follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
	pub now: u32,
	/// Blocks the payee's lock runs.
	pub final_margin: u32,
	/// Blocks each earlier lock runs longer than the next.
	pub hop_margin: u32,
	/// The most hops a route may have.
	pub max_hops: usize,
}

/// The graph's edges grouped by party, one party after another: `end(edge)` gives the party an
/// edge is filed under and the party at its other end. Party `v`'s entries `(edge index, other
/// end)` are `entries[starts[v]..starts[v + 1]]`.
fn adjacency(
	graph: &Graph,
	end: impl Fn(&Edge) -> (usize, usize),
) -> (Vec<(usize, usize)>, Vec<usize>) {
	let mut starts = vec![0usize; graph.nodes + 1];
	for edge in &graph.edges {
		starts[end(edge).0 + 1] += 1;
	}
	for node in 0..graph.nodes {
		starts[node + 1] += starts[node];
	}
	let mut fill = starts.clone();
	let mut entries = vec![(0, 0); graph.edges.len()];
	for (index, edge) in graph.edges.iter().enumerate() {
		let (party, other) = end(edge);
		entries[fill[party]] = (index, other);
		fill[party] += 1;
	}
	(entries, starts)
}

/// How many parties the backward pass from a payee looks at before it assumes the payee can be
/// reached ([`Router::payee_cut_off`]).
const CUT_OFF_SEARCH: usize = 64;

/// A graph prepared for routing: which edges arrive at each party. Capacities change with every
/// payment and are passed to each search, so one router serves a whole simulation.
pub struct Router<'a> {
	graph: &'a Graph,
	/// The edges arriving at each party, as (edge index, sender), laid out party after party:
	/// party `v`'s are `incoming[starts[v]..starts[v + 1]]`, so a search reads them in one sweep.
	incoming: Vec<(usize, usize)>,
	starts: Vec<usize>,
	/// The edges leaving each party, as (edge index, receiver), laid out the same way.
	outgoing: Vec<(usize, usize)>,
	out_starts: Vec<usize>,
	/// The lowest base fee and the lowest ppm any party charges: each forwarding hop costs at
	/// least `cheapest_fee.fee(amount)`, which bounds what the rest of a route must still cost.
	cheapest_fee: FeePolicy,
}

/// A search's state per party, kept between searches ([`Router::cheapest_in`]). Entries are
/// stamped with the search that wrote them, so a new search starts by bumping the stamp rather
/// than clearing an array as long as the graph.
#[derive(Debug, Default)]
pub struct Scratch {
	search: u32,
	stamp: Vec<u32>,
	/// What must arrive at each party (and in how many hops) for the payment to reach the payee.
	need: Vec<(u128, usize)>,
	/// The edge each party sends over on its cheapest way to the payee.
	next: Vec<usize>,
	/// Entries `(bound, hops, need, party)`: `bound` is `need` plus the least the hops still
	/// between the party and the payer must cost (the A* key).
	heap: BinaryHeap<Reverse<(u128, usize, u128, usize)>>,
	/// The fewest hops from the payer to each party over edges that could carry the payment,
	/// stamped like `need` ([`Router::hops_from_payer`]).
	reached: Vec<u32>,
	hops_from_payer: Vec<u32>,
	queue: Vec<usize>,
	/// Whether the breadth-first pass went through everything the payer reaches (else the
	/// parties it did not reach lie at least `beyond` hops away, and may still be reachable).
	complete: bool,
	beyond: u32,
	/// Parties found by the small backward pass from the payee ([`Router::payee_cut_off`]).
	back_reached: Vec<u32>,
}

impl Scratch {
	fn begin(&mut self, nodes: usize) {
		if self.stamp.len() != nodes || self.search == u32::MAX {
			self.stamp = vec![0; nodes];
			self.need = vec![(0, 0); nodes];
			self.next = vec![usize::MAX; nodes];
			self.reached = vec![0; nodes];
			self.back_reached = vec![0; nodes];
			self.hops_from_payer = vec![0; nodes];
			self.search = 0;
		}
		self.search += 1;
		self.heap.clear();
	}

	fn need(&self, node: usize) -> Option<(u128, usize)> {
		(self.stamp[node] == self.search).then(|| self.need[node])
	}

	fn next(&self, node: usize) -> Option<usize> {
		(self.stamp[node] == self.search && self.next[node] != usize::MAX).then(|| self.next[node])
	}

	/// The fewest hops from the payer to `node` found by this search's breadth-first pass, or
	/// `None` if the payer cannot reach it.
	fn hops_from_payer(&self, node: usize) -> Option<u32> {
		if self.reached[node] == self.search {
			Some(self.hops_from_payer[node])
		} else if self.complete {
			None
		} else {
			Some(self.beyond)
		}
	}

	fn set(&mut self, node: usize, need: (u128, usize), next: usize) {
		self.stamp[node] = self.search;
		self.need[node] = need;
		self.next[node] = next;
	}
}

impl<'a> Router<'a> {
	pub fn new(graph: &'a Graph) -> Router<'a> {
		let (incoming, starts) = adjacency(graph, |edge| (edge.to, edge.from));
		let (outgoing, out_starts) = adjacency(graph, |edge| (edge.from, edge.to));
		// A party without a policy of its own charges nothing (`unwrap_or_default` below).
		let cheapest_fee = if graph.fees.len() < graph.nodes {
			FeePolicy::default()
		} else {
			FeePolicy {
				base: graph.fees.iter().map(|fee| fee.base).min().unwrap_or(0),
				ppm: graph.fees.iter().map(|fee| fee.ppm).min().unwrap_or(0),
			}
		};
		Router { graph, incoming, starts, outgoing, out_starts, cheapest_fee }
	}

	/// The edges' capacities as the graph has them.
	pub fn capacities(&self) -> Vec<u128> {
		self.graph.edges.iter().map(|edge| edge.capacity).collect()
	}

	/// The cheapest route delivering `amount` from `payer` to `payee` with `capacities` (what
	/// each of the graph's edges has left), or `None` if no path within `timing.max_hops` can
	/// carry it. Among equally cheap routes the one with fewer hops wins. (With the hop bound, a
	/// party first reached by a cheap route of many hops is not tried again by a dearer one of
	/// fewer hops; with the bound at 20 and real fee policies this only matters on graphs of
	/// very long cheap chains.)
	pub fn cheapest(
		&self,
		capacities: &[u128],
		payer: usize,
		payee: usize,
		amount: u128,
		timing: Timing,
	) -> Option<Route> {
		self.cheapest_in(&mut Scratch::default(), capacities, payer, payee, amount, timing)
	}

	/// [`Router::cheapest`] with search state reused from earlier searches: a caller that routes
	/// many payments (the simulator) keeps one [`Scratch`], so a search touches only the parties
	/// it reaches instead of clearing per-party arrays first. The same route as `cheapest`.
	pub fn cheapest_in(
		&self,
		scratch: &mut Scratch,
		capacities: &[u128],
		payer: usize,
		payee: usize,
		amount: u128,
		timing: Timing,
	) -> Option<Route> {
		let graph = self.graph;
		if payer == payee || amount == 0 || payer >= graph.nodes || payee >= graph.nodes {
			return None;
		}
		scratch.begin(graph.nodes);
		// Which parties the payer can reach at all over edges that could carry the payment, and
		// in how few hops: a party it cannot reach is never on a route, and one `k` hops from it
		// has at least `k - 1` forwarding parties, each charging at least the cheapest fee,
		// between it and the payer. That bound makes the search below an A* search: it settles
		// the payer after the parties on its cheapest routes rather than after every party
		// closer to the payee, and finds the same cost (the bound never overestimates and grows
		// by no more than a hop's fee along an edge, so keys never fall along a path).
		// A payee that too little can reach is found out by a small search from its end (most
		// failed payments fail at one end: the breadth-first pass from the payer would otherwise
		// go through everything the payer reaches before it could tell).
		if self.payee_cut_off(scratch, capacities, payer, payee, amount)
			|| !self.reach_from_payer(scratch, capacities, payer, payee, amount, timing.max_hops)
		{
			return None;
		}
		let bound = |need: u128, hops_from_payer: u32| -> u128 {
			let forwarders = u128::from(hops_from_payer.saturating_sub(1));
			let least = self.cheapest_fee.fee(need).unwrap_or(u128::MAX);
			need.saturating_add(forwarders.saturating_mul(least))
		};
		let payee_bound = bound(amount, scratch.hops_from_payer(payee).unwrap_or(0));
		scratch.set(payee, (amount, 0), usize::MAX);
		scratch.heap.push(Reverse((payee_bound, 0usize, amount, payee)));
		while let Some(Reverse((_, hops, arriving, node))) = scratch.heap.pop() {
			if scratch.need(node) != Some((arriving, hops)) {
				continue; // a stale entry: a cheaper way to `node` was found since
			}
			if node == payer {
				break; // settled: nothing cheaper can reach the payer any more
			}
			if hops == timing.max_hops {
				continue;
			}
			// Most senders share a fee policy: the fee of `arriving` is computed once per policy
			// met in a row rather than once per edge.
			let mut last_fee: Option<(FeePolicy, Option<u128>)> = None;
			for &(index, sender) in &self.incoming[self.starts[node]..self.starts[node + 1]] {
				if capacities[index] < arriving || sender == payee {
					continue;
				}
				let Some(sender_hops) = scratch.hops_from_payer(sender) else { continue };
				let must_arrive = if sender == payer {
					arriving
				} else {
					let policy = graph.fees.get(sender).copied().unwrap_or_default();
					let fee = match last_fee {
						Some((known, fee)) if known == policy => fee,
						_ => {
							let fee = policy.fee(arriving);
							last_fee = Some((policy, fee));
							fee
						}
					};
					let Some(total) = fee.and_then(|fee| arriving.checked_add(fee)) else {
						continue;
					};
					total
				};
				if scratch.need(sender).is_none_or(|known| (must_arrive, hops + 1) < known) {
					scratch.set(sender, (must_arrive, hops + 1), index);
					let key = bound(must_arrive, sender_hops);
					scratch.heap.push(Reverse((key, hops + 1, must_arrive, sender)));
				}
			}
		}
		scratch.need(payer)?;
		let mut hops = Vec::new();
		let mut node = payer;
		while node != payee {
			let index = scratch.next(node)?;
			let edge = &graph.edges[index];
			let (amount, _) = scratch.need(edge.to)?;
			hops.push(RouteHop {
				edge: index,
				channel_id: edge.channel_id,
				from: edge.from,
				to: edge.to,
				amount,
				expires_at: 0,
			});
			node = edge.to;
		}
		let count = hops.len() as u32;
		for (position, hop) in hops.iter_mut().enumerate() {
			let after = count - 1 - position as u32;
			hop.expires_at = timing.now + timing.final_margin + after * timing.hop_margin;
		}
		Some(Route { hops })
	}

	/// Whether `payee` is cut off from `payer`: every party that can send `amount` toward the
	/// payee (over edges with at least that much, through any number of hops) is found within
	/// [`CUT_OFF_SEARCH`] parties, and the payer is not among them. `false` whenever the search
	/// runs past that many parties, so a payee is never wrongly cut off.
	fn payee_cut_off(
		&self,
		scratch: &mut Scratch,
		capacities: &[u128],
		payer: usize,
		payee: usize,
		amount: u128,
	) -> bool {
		let search = scratch.search;
		scratch.queue.clear();
		scratch.queue.push(payee);
		scratch.back_reached[payee] = search;
		let mut head = 0;
		while head < scratch.queue.len() {
			if scratch.queue.len() > CUT_OFF_SEARCH {
				return false;
			}
			let node = scratch.queue[head];
			head += 1;
			for &(index, sender) in &self.incoming[self.starts[node]..self.starts[node + 1]] {
				if capacities[index] < amount || scratch.back_reached[sender] == search {
					continue;
				}
				scratch.back_reached[sender] = search;
				scratch.queue.push(sender);
			}
		}
		scratch.back_reached[payer] != search
	}

	/// Breadth-first from the payer over edges with at least `amount` (every hop of a route
	/// carries at least that), not through the payee and at most `max_hops` deep, recording each
	/// party's fewest hops in `scratch`. Whether the payee was reached: if not, no route exists.
	fn reach_from_payer(
		&self,
		scratch: &mut Scratch,
		capacities: &[u128],
		payer: usize,
		payee: usize,
		amount: u128,
		max_hops: usize,
	) -> bool {
		let search = scratch.search;
		scratch.queue.clear();
		scratch.queue.push(payer);
		scratch.reached[payer] = search;
		scratch.hops_from_payer[payer] = 0;
		let mut head = 0;
		while head < scratch.queue.len() {
			let node = scratch.queue[head];
			head += 1;
			let hops = scratch.hops_from_payer[node];
			if node == payee || hops as usize >= max_hops {
				continue;
			}
			for &(index, receiver) in
				&self.outgoing[self.out_starts[node]..self.out_starts[node + 1]]
			{
				if capacities[index] < amount || scratch.reached[receiver] == search {
					continue;
				}
				scratch.reached[receiver] = search;
				scratch.hops_from_payer[receiver] = hops + 1;
				if receiver == payee {
					// The pass stops here. Every party it has not found is at least as deep as
					// the payee (any shallower one would have been found first, breadth first),
					// which `beyond` records as the bound for them: still never more than a hop
					// shallower than a party it can send to, as the search's keys need.
					scratch.complete = false;
					scratch.beyond = hops + 1;
					return true;
				}
				scratch.queue.push(receiver);
			}
		}
		scratch.complete = true;
		scratch.reached[payee] == search
	}

	/// Routes for `amount` split over at most `max_parts` paths (all of it or nothing): the
	/// whole amount on the cheapest route if one carries it, else halves, each part on the
	/// cheapest route the capacity left by the parts before allows. Every part uses the same
	/// secret, so the payee claims all parts or none.
	pub fn split(
		&self,
		capacities: &[u128],
		payer: usize,
		payee: usize,
		amount: u128,
		max_parts: usize,
		timing: Timing,
	) -> Option<Vec<Route>> {
		self.split_in(&mut Scratch::default(), capacities, payer, payee, amount, max_parts, timing)
	}

	/// [`Router::split`] with search state reused from earlier searches ([`Scratch`]).
	#[allow(clippy::too_many_arguments)]
	pub fn split_in(
		&self,
		scratch: &mut Scratch,
		capacities: &[u128],
		payer: usize,
		payee: usize,
		amount: u128,
		max_parts: usize,
		timing: Timing,
	) -> Option<Vec<Route>> {
		let parts = Parts { max: max_parts, sharing: Sharing::Residual };
		self.split_sharing(scratch, capacities, payer, payee, amount, parts, timing)
	}

	/// Routes for `amount`: the whole amount on the cheapest route if one carries it, else
	/// halves, each part on the cheapest route the parts before allow (`parts.sharing` says how
	/// they share an edge), at most `parts.max` parts; all of it or nothing.
	#[allow(clippy::too_many_arguments)]
	pub fn split_sharing(
		&self,
		scratch: &mut Scratch,
		capacities: &[u128],
		payer: usize,
		payee: usize,
		amount: u128,
		parts: Parts,
		timing: Timing,
	) -> Option<Vec<Route>> {
		// Most payments fit one route: the capacities are copied only to split.
		if let Some(route) = self.cheapest_in(scratch, capacities, payer, payee, amount, timing) {
			return Some(vec![route]);
		}
		if parts.max < 2 {
			return None;
		}
		let mut left = capacities.to_vec();
		let mut routes = Vec::new();
		let mut remaining = amount;
		let mut part = amount.div_ceil(2);
		while remaining > 0 {
			if routes.len() == parts.max {
				return None;
			}
			part = part.min(remaining);
			match self.cheapest_in(scratch, &left, payer, payee, part, timing) {
				Some(route) => {
					for hop in &route.hops {
						left[hop.edge] = match parts.sharing {
							Sharing::Residual => left[hop.edge] - hop.amount,
							Sharing::Disjoint => 0,
						};
					}
					remaining -= route.delivered();
					routes.push(route);
				}
				None if part > 1 => part = part.div_ceil(2),
				None => return None,
			}
		}
		Some(routes)
	}
}

/// How many parts a payment may be split into, and how they share the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
	pub max: usize,
	pub sharing: Sharing,
}

/// How the parts of a split payment share an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
	/// A part uses what the parts before left of an edge (the simulator's view of liquidity).
	Residual,
	/// No two parts use one edge: a channel holds one lock per secret hash and direction
	/// (docs/protocol.md §10.4), so the daemon's parts never meet in a channel.
	Disjoint,
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The cheapest route over `graph` with the capacities it has.
	fn cheapest(
		graph: &Graph,
		payer: usize,
		payee: usize,
		amount: u128,
		timing: Timing,
	) -> Option<Route> {
		let router = Router::new(graph);
		router.cheapest(&router.capacities(), payer, payee, amount, timing)
	}

	/// The split routes over `graph` with the capacities it has.
	fn split(
		graph: &Graph,
		payer: usize,
		payee: usize,
		amount: u128,
		max_parts: usize,
		timing: Timing,
	) -> Option<Vec<Route>> {
		let router = Router::new(graph);
		router.split(&router.capacities(), payer, payee, amount, max_parts, timing)
	}

	const TIMING: Timing = Timing { now: 100, final_margin: 20, hop_margin: 10, max_hops: 20 };

	fn edge(channel_id: u64, from: usize, to: usize, capacity: u128) -> Edge {
		Edge { channel_id, from, to, capacity }
	}

	/// 0 → 1 → 3 (1 charges 10 + 1%) and 0 → 2 → 3 (2 charges 1 + 0.1%).
	fn diamond(capacity: u128) -> Graph {
		Graph {
			nodes: 4,
			edges: vec![
				edge(1, 0, 1, capacity),
				edge(2, 1, 3, capacity),
				edge(3, 0, 2, capacity),
				edge(4, 2, 3, capacity),
			],
			fees: vec![
				FeePolicy::default(),
				FeePolicy { base: 10, ppm: 10_000 },
				FeePolicy { base: 1, ppm: 1_000 },
				FeePolicy::default(),
			],
		}
	}

	#[test]
	fn the_cheapest_path_is_taken_with_each_hops_fee_and_expiry() {
		let graph = diamond(10_000);
		let route = cheapest(&graph, 0, 3, 1_000, TIMING).unwrap();
		assert_eq!(
			route.hops,
			vec![
				RouteHop { edge: 2, channel_id: 3, from: 0, to: 2, amount: 1_002, expires_at: 130 },
				RouteHop { edge: 3, channel_id: 4, from: 2, to: 3, amount: 1_000, expires_at: 120 },
			]
		);
		assert_eq!((route.sent(), route.delivered(), route.fees()), (1_002, 1_000, 2));
	}

	#[test]
	fn a_path_without_the_capacity_is_passed_over_and_none_is_none() {
		let mut graph = diamond(10_000);
		graph.edges[3].capacity = 999; // 2 → 3 cannot carry 1 000
		let route = cheapest(&graph, 0, 3, 1_000, TIMING).unwrap();
		assert_eq!(route.hops.iter().map(|hop| hop.channel_id).collect::<Vec<_>>(), vec![1, 2]);
		assert_eq!(route.sent(), 1_000 + 10 + 10);
		// The first hop carries the fee on top of what the second does: 1 020 does not fit.
		graph.edges[0].capacity = 1_019;
		assert_eq!(cheapest(&graph, 0, 3, 1_000, TIMING), None);
		assert_eq!(cheapest(&graph, 3, 0, 1, TIMING), None, "edges are one way");
		assert_eq!(cheapest(&graph, 0, 0, 1, TIMING), None);
	}

	#[test]
	fn a_direct_channel_costs_no_fee_and_hops_are_bounded() {
		let graph = Graph {
			nodes: 4,
			edges: vec![edge(1, 0, 1, 50), edge(2, 1, 2, 50), edge(3, 2, 3, 50)],
			fees: vec![FeePolicy::default(); 4],
		};
		let direct = cheapest(&graph, 0, 1, 50, TIMING).unwrap();
		assert_eq!(direct.fees(), 0);
		assert_eq!(direct.hops[0].expires_at, 120);
		let three = cheapest(&graph, 0, 3, 10, TIMING).unwrap();
		assert_eq!(
			three.hops.iter().map(|hop| hop.expires_at).collect::<Vec<_>>(),
			vec![140, 130, 120]
		);
		let short = Timing { max_hops: 2, ..TIMING };
		assert_eq!(cheapest(&graph, 0, 3, 10, short), None);
	}

	#[test]
	fn a_payment_one_path_cannot_carry_is_split_and_all_or_nothing() {
		// Each path carries 600 at most: 1 000 needs both.
		let graph = diamond(600);
		assert_eq!(cheapest(&graph, 0, 3, 1_000, TIMING), None);
		let parts = split(&graph, 0, 3, 1_000, 4, TIMING).unwrap();
		assert_eq!(parts.iter().map(Route::delivered).sum::<u128>(), 1_000);
		for part in &parts {
			for hop in &part.hops {
				let used: u128 = parts
					.iter()
					.flat_map(|p| &p.hops)
					.filter(|h| h.channel_id == hop.channel_id)
					.map(|h| h.amount)
					.sum();
				assert!(used <= 600, "channel {} carries {used}", hop.channel_id);
			}
		}
		assert_eq!(split(&graph, 0, 3, 1_300, 8, TIMING), None, "more than both paths hold");
		assert_eq!(split(&graph, 0, 3, 1_000, 1, TIMING), None, "one part is not enough");
	}

	#[test]
	fn fees_round_up_and_overflow_is_no_route() {
		let policy = FeePolicy { base: 0, ppm: 1 };
		assert_eq!(policy.fee(1), Some(1), "a part per million of 1 rounds up");
		assert_eq!(policy.fee(2_000_000), Some(2));
		assert_eq!(FeePolicy { base: u128::MAX, ppm: 0 }.fee(1), Some(u128::MAX));
		assert_eq!(FeePolicy { base: u128::MAX, ppm: 1 }.fee(1), None);
		let mut graph = diamond(u128::MAX);
		graph.fees[1] = FeePolicy { base: u128::MAX, ppm: 0 };
		graph.fees[2] = FeePolicy { base: u128::MAX, ppm: 0 };
		assert_eq!(cheapest(&graph, 0, 3, 1, TIMING), None);
	}

	/// The search before the A* bound: plain Dijkstra from the payee over what must arrive,
	/// kept as the oracle the router is checked against.
	fn reference(
		graph: &Graph,
		payer: usize,
		payee: usize,
		amount: u128,
		timing: Timing,
	) -> Option<(u128, usize)> {
		let mut need: Vec<Option<(u128, usize)>> = vec![None; graph.nodes];
		need[payee] = Some((amount, 0));
		let mut heap = BinaryHeap::from([Reverse((amount, 0usize, payee))]);
		while let Some(Reverse((arriving, hops, node))) = heap.pop() {
			if need[node] != Some((arriving, hops)) {
				continue;
			}
			if node == payer {
				return Some((arriving, hops));
			}
			if hops == timing.max_hops {
				continue;
			}
			for edge in graph.edges.iter().filter(|edge| edge.to == node) {
				let sender = edge.from;
				if edge.capacity < arriving || sender == payee {
					continue;
				}
				let must_arrive = if sender == payer {
					arriving
				} else {
					match graph.fees[sender].fee(arriving).and_then(|fee| arriving.checked_add(fee))
					{
						Some(total) => total,
						None => continue,
					}
				};
				if need[sender].is_none_or(|known| (must_arrive, hops + 1) < known) {
					need[sender] = Some((must_arrive, hops + 1));
					heap.push(Reverse((must_arrive, hops + 1, sender)));
				}
			}
		}
		None
	}

	/// A random graph of `channels` channels with random splits, seeded; every party charges
	/// `uniform` if given (the bound is then tight), else a random policy (some free, some dear).
	fn random_graph(channels: usize, seed: u64, uniform: Option<FeePolicy>) -> Graph {
		use rand::{Rng, SeedableRng};
		let topology = crate::workload::barabasi_albert(channels, 3, seed);
		let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
		let edges = topology
			.links
			.iter()
			.enumerate()
			.flat_map(|(channel, &(a, b, capacity))| {
				let first = rng.random_range(0..=capacity.max(0) as u128);
				[
					edge(channel as u64, a as usize, b as usize, first),
					edge(channel as u64, b as usize, a as usize, capacity as u128 - first),
				]
			})
			.collect();
		let fees = (0..topology.nodes)
			.map(|_| {
				uniform.unwrap_or_else(|| FeePolicy {
					base: rng.random_range(0..5),
					ppm: rng.random_range(0..5_000),
				})
			})
			.collect();
		Graph { nodes: topology.nodes as usize, edges, fees }
	}

	#[test]
	fn the_bounded_search_finds_what_plain_dijkstra_finds_and_a_scratch_can_be_reused() {
		use rand::{Rng, SeedableRng};
		let uniform = Some(FeePolicy { base: 1, ppm: 100 });
		for (seed, fees) in [(5, None), (6, None), (7, uniform), (8, uniform)] {
			let graph = random_graph(400, seed, fees);
			let router = Router::new(&graph);
			let capacities = router.capacities();
			let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed + 100);
			let mut scratch = Scratch::default();
			let mut found = 0;
			for _ in 0..400 {
				let (payer, payee) =
					(rng.random_range(0..graph.nodes), rng.random_range(0..graph.nodes));
				let amount = rng.random_range(1..300_000);
				let fresh = router.cheapest(&capacities, payer, payee, amount, TIMING);
				let reused =
					router.cheapest_in(&mut scratch, &capacities, payer, payee, amount, TIMING);
				assert_eq!(fresh, reused, "{payer} -> {payee}, {amount}");
				let expected = (payer != payee)
					.then(|| reference(&graph, payer, payee, amount, TIMING))
					.flatten();
				// The same cost and, among routes of that cost, the same number of hops.
				assert_eq!(
					fresh.as_ref().map(|route| (route.sent(), route.hops.len())),
					expected,
					"seed {seed}: {payer} -> {payee}, {amount}"
				);
				if let Some(route) = &fresh {
					found += 1;
					assert_eq!(route.delivered(), amount);
					for hop in &route.hops {
						assert!(capacities[hop.edge] >= hop.amount, "a hop within its capacity");
					}
				}
			}
			assert!(found > 100, "seed {seed}: the searches found routes ({found} of 400)");
		}
	}

	#[test]
	fn disjoint_parts_never_share_an_edge_and_residual_parts_may() {
		// Two routes from 0 to 3: through 1 with `a` on each edge, through 2 with `b`.
		let graph = |a: u128, b: u128| {
			let edge = |channel_id, from, to, capacity| Edge { channel_id, from, to, capacity };
			Graph {
				nodes: 4,
				edges: vec![edge(0, 0, 1, a), edge(1, 1, 3, a), edge(2, 0, 2, b), edge(3, 2, 3, b)],
				fees: vec![FeePolicy::default(); 4],
			}
		};
		let timing = Timing { now: 10, final_margin: 40, hop_margin: 20, max_hops: 8 };
		let split = |graph: &Graph, amount, sharing| {
			let router = Router::new(graph);
			let parts = Parts { max: 8, sharing };
			let capacities = router.capacities();
			router.split_sharing(&mut Scratch::default(), &capacities, 0, 3, amount, parts, timing)
		};
		let edges = |routes: &[Route]| -> Vec<Vec<usize>> {
			routes.iter().map(|route| route.hops.iter().map(|hop| hop.edge).collect()).collect()
		};
		let even = graph(100, 100);
		let disjoint = split(&even, 150, Sharing::Disjoint).unwrap();
		assert_eq!(disjoint.iter().map(Route::delivered).collect::<Vec<_>>(), vec![75, 75]);
		let used = edges(&disjoint);
		assert!(used[0].iter().all(|edge| !used[1].contains(edge)), "{used:?}");
		assert_eq!(split(&even, 100, Sharing::Disjoint).unwrap().len(), 1, "one route carries it");
		assert!(split(&even, 201, Sharing::Disjoint).is_none(), "all or none");
		// With 100 and 30: residual parts come back to the first route for what it has left
		// (60, 30, then 30 on the second); disjoint ones cannot, and 120 does not go.
		let uneven = graph(100, 30);
		let residual = split(&uneven, 120, Sharing::Residual).unwrap();
		assert_eq!(residual.iter().map(Route::delivered).sum::<u128>(), 120);
		let used = edges(&residual);
		assert!(used.iter().skip(1).any(|part| part == &used[0]), "{used:?}");
		assert!(split(&uneven, 120, Sharing::Disjoint).is_none());
	}
}
