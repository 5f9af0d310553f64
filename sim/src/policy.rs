//! The rebalancing policies the simulator compares, each within the pallet's rules: plans move
//! only what requests pledge and are at most `MaxPlanEdges` edges, requests name at most
//! `MaxRequestEntries` channels, and a shift moves only the shifting party's own funds.

use crate::{
	cost::Rebalancing,
	network::{Network, Solver},
};
use paychan_rebalancer::{model::Instance, routing::Route};

/// A share of a channel's capacity a party keeps its side within, in percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
	pub low: u32,
	pub high: u32,
}

impl Band {
	/// Whether holding `held` of `capacity` is outside the band.
	pub fn outside(&self, held: u128, capacity: u128) -> bool {
		capacity > 0
			&& (held * 100 < u128::from(self.low) * capacity
				|| held * 100 > u128::from(self.high) * capacity)
	}
}

/// What each end of every channel pledges to a scheduled round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pledge {
	/// Its whole balance, and to receive what the other end holds: the most a request may
	/// pledge. A round may then drain one channel to balance others.
	Whole,
	/// What it holds beyond the middle, and to receive what it lacks to it, as the daemon's band
	/// policy pledges: no side is moved past the middle.
	TowardMiddle,
}

/// How the network is rebalanced while payments flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
	/// Never: the baseline every policy is compared with.
	None,
	/// A round every `every` payments over every channel, each end pledging its whole balance
	/// toward the middle (the most a request may pledge), solved by `solver`.
	Scheduled { every: u64, solver: Solver, pledge: Pledge, max_plan_edges: usize },
	/// On demand, as the daemon's `--rebalance-band` does: a party with no open request whose
	/// side of a channel a payment takes outside `band` files one (its `entries` channels, at
	/// most the runtime's `MaxRequestEntries` on chain, furthest from the middle, each pledging its excess and asking for its
	/// shortfall), open for `lifetime` payments; a solver solves the open requests exactly every
	/// `solve_every` payments, and what its plans move is taken off the pledges, as the pallet
	/// does.
	OnDemand { band: Band, solve_every: u64, lifetime: u64, entries: usize, max_plan_edges: usize },
	/// Own-channel shifts only (Shaduf-like): every `every` payments each party moves its own
	/// funds from channels where it holds more than `band.high` to channels where it holds less
	/// than `band.low`, at most `max_per_party` shifts each.
	OwnShifts { every: u64, band: Band, max_per_party: usize },
	/// An ideal no chain would run: a round over every channel (each end pledging toward the
	/// middle) after every failed payment.
	Ideal { max_plan_edges: usize },
}

/// One entry of a filed request: a channel, what may leave this party's side and what may
/// arrive on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
	channel: usize,
	max_send: u128,
	max_receive: u128,
}

/// A filed request: its entries and the payment after which it expires.
#[derive(Clone, Debug)]
struct Request {
	entries: Vec<Entry>,
	expires_after: u64,
}

/// A policy's state through a run.
pub struct Rebalancer {
	policy: Policy,
	/// On demand: each party's open request.
	requests: Vec<Option<Request>>,
	/// The parties with an open request.
	open: Vec<usize>,
}

impl Rebalancer {
	pub fn new(policy: Policy, nodes: usize) -> Rebalancer {
		Rebalancer { policy, requests: vec![None; nodes], open: Vec::new() }
	}

	/// Acts after payment number `count` (from 1), which took `routes` or failed (`None`).
	pub fn after_payment(
		&mut self,
		network: &mut Network,
		count: u64,
		routes: Option<&[Route]>,
		tally: &mut Rebalancing,
	) {
		match self.policy {
			Policy::None => {}
			Policy::Scheduled { every, solver, pledge, max_plan_edges } => {
				if every > 0 && count.is_multiple_of(every) {
					let instance = match pledge {
						Pledge::Whole => network.everyone_willing(),
						Pledge::TowardMiddle => network.everyone_toward_middle(),
					};
					network.round(&instance, solver, max_plan_edges, tally);
				}
			}
			Policy::Ideal { max_plan_edges } => {
				if routes.is_none() {
					let instance = network.everyone_toward_middle();
					network.round(&instance, Solver::Exact, max_plan_edges, tally);
				}
			}
			Policy::OnDemand { band, solve_every, lifetime, entries, max_plan_edges } => {
				for route in routes.into_iter().flatten() {
					for hop in &route.hops {
						let channel = hop.edge / 2;
						for party in [hop.from, hop.to] {
							let capacity = network.capacity(channel);
							if self.requests[party].is_none()
								&& band.outside(network.held(channel, party), capacity)
							{
								self.file(network, party, entries, count + lifetime, tally);
							}
						}
					}
				}
				if solve_every > 0 && count.is_multiple_of(solve_every) && !self.open.is_empty() {
					let instance = self.requested(network);
					let before: Vec<[u128; 2]> =
						instance.channels.iter().map(|c| network.sides(c.id as usize)).collect();
					network.round(&instance, Solver::Exact, max_plan_edges, tally);
					for (channel, before) in instance.channels.iter().zip(before) {
						self.use_pledges(network, channel.id as usize, before);
					}
				}
				self.expire(count);
			}
			Policy::OwnShifts { every, band, max_per_party } => {
				if every > 0 && count.is_multiple_of(every) {
					for party in 0..network.nodes {
						shift_party(network, party, band, max_per_party, tally);
					}
				}
			}
		}
	}

	/// Files `party`'s request, open until payment `expires_after`: its `most` channels furthest from
	/// the middle, each pledging what it holds beyond the middle and asking for what it lacks
	/// (within what the other end holds).
	fn file(
		&mut self,
		network: &Network,
		party: usize,
		most: usize,
		expires_after: u64,
		tally: &mut Rebalancing,
	) {
		let mut entries: Vec<Entry> = network
			.channels_of(party)
			.iter()
			.map(|&channel| {
				let capacity = network.capacity(channel);
				let held = network.held(channel, party);
				let middle = capacity / 2;
				Entry {
					channel,
					max_send: held.saturating_sub(middle),
					max_receive: middle.saturating_sub(held),
				}
			})
			.filter(|entry| entry.max_send > 0 || entry.max_receive > 0)
			.collect();
		entries.sort_by_key(|entry| {
			std::cmp::Reverse((entry.max_send.max(entry.max_receive), entry.channel))
		});
		entries.truncate(most);
		if entries.is_empty() {
			return;
		}
		tally.request(entries.len());
		self.requests[party] = Some(Request { entries, expires_after });
		self.open.push(party);
	}

	/// Takes what a round moved in `channel` (whose sides were `before`) off both ends' pledges:
	/// what left a side off its `max_send`, what arrived off its `max_receive`.
	fn use_pledges(&mut self, network: &Network, channel: usize, before: [u128; 2]) {
		let (a, b) = network.ends[channel];
		let after = network.sides(channel);
		for (party, side) in [(a, 0), (b, 1)] {
			let Some(request) = self.requests[party].as_mut() else { continue };
			let Some(entry) = request.entries.iter_mut().find(|e| e.channel == channel) else {
				continue;
			};
			let sent = before[side].saturating_sub(after[side]);
			let received = after[side].saturating_sub(before[side]);
			entry.max_send = entry.max_send.saturating_sub(sent);
			entry.max_receive = entry.max_receive.saturating_sub(received);
		}
	}

	/// Closes the requests that expired by payment `count`, as the pallet's hook does.
	fn expire(&mut self, count: u64) {
		let requests = &mut self.requests;
		self.open.retain(|&party| {
			let live = requests[party].as_ref().is_some_and(|r| r.expires_after > count);
			if !live {
				requests[party] = None;
			}
			live
		});
	}

	/// The instance the open requests allow: every channel both ends' requests name, with the
	/// bounds they declared.
	fn requested(&self, network: &Network) -> Instance {
		let mut channels = Vec::new();
		for &party in &self.open {
			for entry in self.requests[party].iter().flat_map(|r| &r.entries) {
				let (a, b) = network.ends[entry.channel];
				// Each channel once: from its first end's request.
				if party != a {
					continue;
				}
				let Some(theirs) = self.requests[b]
					.iter()
					.flat_map(|r| &r.entries)
					.find(|other| other.channel == entry.channel)
				else {
					continue;
				};
				let mut channel = network.willing(entry.channel);
				let bound = |amount: u128| i64::try_from(amount).unwrap_or(i64::MAX);
				channel.max_send = [bound(entry.max_send), bound(theirs.max_send)];
				channel.max_receive = [bound(entry.max_receive), bound(theirs.max_receive)];
				channels.push(channel);
			}
		}
		Instance { nodes: network.nodes as u32, channels }
	}
}

/// `party`'s own-channel shifts: from its channels above the band to those below it, the
/// largest excess with the largest shortfall first, each moving the smaller of what the rich
/// channel holds beyond its middle and what the poor one lacks to its middle. A shift can only
/// move the party's own funds, so it cannot give a channel what its other end lacks: it takes
/// idle funds to where they can be spent.
fn shift_party(
	network: &mut Network,
	party: usize,
	band: Band,
	max_per_party: usize,
	tally: &mut Rebalancing,
) {
	let channels = network.channels_of(party);
	if channels.len() < 2 {
		return;
	}
	let mut rich = Vec::new();
	let mut poor = Vec::new();
	for &channel in channels {
		let capacity = network.capacity(channel);
		let held = network.held(channel, party);
		if !band.outside(held, capacity) {
			continue;
		}
		let middle = capacity / 2;
		if held > middle {
			rich.push((held - middle, channel));
		} else {
			poor.push((middle - held, channel));
		}
	}
	rich.sort_unstable_by(|a, b| b.cmp(a));
	poor.sort_unstable_by(|a, b| b.cmp(a));
	for (&(excess, from), &(shortfall, to)) in rich.iter().zip(&poor).take(max_per_party) {
		let amount = excess.min(shortfall);
		if amount > 0 {
			network.shift(party, from, to, amount);
			tally.shift(amount);
		}
	}
}
