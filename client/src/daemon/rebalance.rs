//! The daemon's automatic rebalancing (opt-in): when the share of a channel's funds this party
//! holds leaves a band, it declares a rebalance request that moves each of its channels toward
//! the band's middle, pledging what it may send; a daemon configured as a solver solves each
//! round of open requests with the exact solver and submits the plans. What was requested,
//! planned and executed is kept (the newest [`LOG_KEEP`] of each) for `paychan_rebalanceStatus`.
//!
//! The decision is pure ([`request_entries`]) and unit-tested; the task around it only reads the
//! chain and submits.

use anyhow::{ensure, Result};
use paychan_primitives::ChannelId;
use serde::Serialize;
use std::collections::VecDeque;

use super::Shared;
use crate::{events::Event, planner};

/// How many entries of each kind the status keeps.
pub const LOG_KEEP: usize = 32;
/// The pallet's bound on a request's entries (`MaxRequestEntries`).
pub const MAX_REQUEST_ENTRIES: usize = 16;

/// The share of a channel's funds, in percent, that this party wants to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Band {
	pub low: u8,
	pub high: u8,
}

impl std::str::FromStr for Band {
	type Err = String;

	/// `LOW:HIGH` in percent, `0 < LOW < HIGH < 100`: `20:80`.
	fn from_str(text: &str) -> Result<Band, String> {
		let bad =
			|| format!("`{text}` is not a band LOW:HIGH in percent with 0 < LOW < HIGH < 100");
		let (low, high) = text.split_once(':').ok_or_else(bad)?;
		let low: u8 = low.trim().parse().map_err(|_| bad())?;
		let high: u8 = high.trim().parse().map_err(|_| bad())?;
		if low == 0 || low >= high || high >= 100 {
			return Err(bad());
		}
		Ok(Band { low, high })
	}
}

/// The automatic rebalancing a daemon does.
#[derive(Clone, Debug, Serialize)]
pub struct Policy {
	/// Declare requests when a channel leaves this band (none without it).
	pub band: Option<Band>,
	/// The most a request pays solvers (`max_fee`).
	#[serde(serialize_with = "crate::amount::as_string")]
	pub max_fee: u128,
	/// How long a request stays open, in blocks.
	pub expires_in: u32,
	/// Solve the open requests every this many blocks (not a solver without it).
	pub solve_every: Option<u32>,
}

impl Policy {
	pub fn is_active(&self) -> bool {
		self.band.is_some() || self.solve_every.is_some()
	}
}

/// One channel as the policy sees it: what this party holds and what its counterparty may still
/// pay (the same figures [`planner::check_entry`] checks an entry against).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
	pub channel_id: ChannelId,
	pub mine: u128,
	pub theirs: u128,
}

impl Share {
	fn total(&self) -> u128 {
		self.mine.saturating_add(self.theirs)
	}

	/// Whether this party's share is outside `band`.
	pub fn out_of(&self, band: Band) -> bool {
		let (mine, total) = (self.mine.saturating_mul(100), self.total());
		total > 0
			&& (mine < total.saturating_mul(band.low.into())
				|| mine > total.saturating_mul(band.high.into()))
	}
}

/// The request that moves every channel toward the middle of `band`, if any channel has left
/// it: a channel above the middle pledges to send its excess, one below asks to receive its
/// shortfall. `None` when every channel is inside the band, or when the request could move
/// nothing for this party (a plan keeps each participant's net change zero, so it needs
/// somewhere to send and somewhere to receive). At most [`MAX_REQUEST_ENTRIES`], the largest
/// moves first.
pub fn request_entries(band: Band, shares: &[Share]) -> Option<Vec<planner::Entry>> {
	if !shares.iter().any(|share| share.out_of(band)) {
		return None;
	}
	let middle = u128::from(band.low) + u128::from(band.high);
	let mut entries: Vec<planner::Entry> = shares
		.iter()
		.filter_map(|share| {
			// The target is rounded down: a pledge never exceeds what this party holds above it.
			let target = share.total().saturating_mul(middle) / 200;
			let entry = if share.mine > target {
				(share.channel_id, share.mine - target, 0)
			} else {
				(share.channel_id, 0, (target - share.mine).min(share.theirs))
			};
			(entry.1 > 0 || entry.2 > 0).then_some(entry)
		})
		.collect();
	entries.sort_by_key(|&(channel_id, send, receive)| {
		(std::cmp::Reverse(send.max(receive)), channel_id)
	});
	entries.truncate(MAX_REQUEST_ENTRIES);
	let sends = entries.iter().any(|entry| entry.1 > 0);
	let receives = entries.iter().any(|entry| entry.2 > 0);
	(sends && receives).then_some(entries)
}

/// One entry of a request, as the status and the events show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryView {
	pub channel_id: ChannelId,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub max_send: u128,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub max_receive: u128,
}

impl EntryView {
	pub fn of(entries: &[planner::Entry]) -> Vec<EntryView> {
		entries
			.iter()
			.map(|&(channel_id, max_send, max_receive)| EntryView {
				channel_id,
				max_send,
				max_receive,
			})
			.collect()
	}
}

/// A request this daemon declared.
#[derive(Clone, Debug, Serialize)]
pub struct Requested {
	pub block: u32,
	pub entries: Vec<EntryView>,
	pub expires_at: u32,
	/// Declared by the policy (rather than through `paychan_rebalanceRequest`).
	pub automatic: bool,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub fee: u128,
}

/// A round this daemon solved as a solver.
#[derive(Clone, Debug, Serialize)]
pub struct Solved {
	pub block: u32,
	#[serde(flatten)]
	pub report: planner::SolveReport,
}

/// A plan's move in one of this party's channels, seen on chain.
#[derive(Clone, Debug, Serialize)]
pub struct Executed {
	pub block: u32,
	pub channel_id: ChannelId,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub received: u128,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub sent: u128,
}

/// What the status shows: the newest of each kind, newest last.
#[derive(Default, Serialize)]
pub struct Log {
	pub requested: VecDeque<Requested>,
	pub solved: VecDeque<Solved>,
	pub executed: VecDeque<Executed>,
	/// The last failure of an automatic request or solve, and at which block.
	pub last_error: Option<(u32, String)>,
}

fn keep<T>(list: &mut VecDeque<T>, item: T) {
	if list.len() == LOG_KEEP {
		list.pop_front();
	}
	list.push_back(item);
}

impl Log {
	pub fn requested(&mut self, item: Requested) {
		keep(&mut self.requested, item);
	}

	pub fn solved(&mut self, item: Solved) {
		keep(&mut self.solved, item);
	}

	pub fn executed(&mut self, item: Executed) {
		keep(&mut self.executed, item);
	}
}

/// This party's shares of its open channels, from its ledgers.
async fn shares(shared: &Shared) -> Result<Vec<Share>> {
	let party = &shared.party;
	let mut shares = Vec::new();
	for channel_id in party.chain.channels_of(&party.keys.account()).await? {
		let ledger = party.ledger(channel_id).await?;
		if ledger.view.closing.is_some() {
			continue;
		}
		shares.push(Share {
			channel_id,
			mine: ledger.balances()[ledger.me].max(0) as u128,
			theirs: ledger.counterparty_available().max(0) as u128,
		});
	}
	Ok(shares)
}

/// Runs the policy at every new best block until the node stops sending blocks.
pub async fn run(shared: Shared, policy: Policy) -> Result<()> {
	let mut blocks = shared.party.chain.api.stream_best_blocks().await?;
	let mut last_solve: Option<u32> = None;
	while let Some(block) = futures::StreamExt::next(&mut blocks).await {
		let now = block?.number() as u32;
		if let Some(band) = policy.band {
			if let Err(error) = maybe_request(&shared, &policy, band).await {
				shared.rebalance_failed(now, "request", &error);
			}
		}
		if let Some(every) = policy.solve_every {
			if last_solve.is_none_or(|last| now >= last + every) {
				last_solve = Some(now);
				if let Err(error) = solve(&shared, now).await {
					shared.rebalance_failed(now, "solve", &error);
				}
			}
		}
	}
	anyhow::bail!("the node stopped sending blocks")
}

/// Declares a request if this party has none open and a channel left the band.
async fn maybe_request(shared: &Shared, policy: &Policy, band: Band) -> Result<()> {
	let party = &shared.party;
	let me = party.keys.account();
	// One request at a time: a new one would replace it, and its pledges are already counted.
	let open = party.chain.open_requests().await?;
	if open.iter().any(|(who, _)| *who == me) {
		return Ok(());
	}
	let Some(entries) = request_entries(band, &shares(shared).await?) else { return Ok(()) };
	shared.request_rebalance(&entries, policy.max_fee, policy.expires_in, true).await?;
	Ok(())
}

/// Solves the round of open requests and submits its plans, if it has any channel.
async fn solve(shared: &Shared, now: u32) -> Result<()> {
	let party = &shared.party;
	let round = planner::round(&party.chain).await?;
	if round.instance.channels.is_empty() {
		return Ok(());
	}
	let report = planner::execute(&party.chain, &party.keys, &round, false).await?;
	if report.plans == 0 {
		return Ok(());
	}
	shared.report(Event::RebalanceSolved {
		channels: report.channels as u32,
		plans: report.plans as u32,
		volume: report.volume,
	});
	shared.rebalancing.lock().expect("not poisoned").solved(Solved { block: now, report });
	Ok(())
}

impl Shared {
	/// Declares (or replaces) this party's rebalance request, as `paychan_rebalanceRequest` and
	/// the policy do. Every entry is checked against this party's books first, and what each
	/// entry pledges to send is reserved with the channel's payer before the request is
	/// submitted: a payment signed while the request is on its way cannot spend what the plan
	/// may then take from this party's side.
	pub async fn request_rebalance(
		&self,
		entries: &[planner::Entry],
		max_fee: u128,
		expires_in: u32,
		automatic: bool,
	) -> Result<Requested> {
		ensure!(!entries.is_empty(), "a request needs at least one channel entry");
		let party = &self.party;
		for &(channel_id, max_send, max_receive) in entries {
			let ledger = party.ledger(channel_id).await?;
			planner::check_entry(&ledger, max_send, max_receive)
				.map_err(|error| crate::calls::refuse(format!("{error:#}")))?;
		}
		let mut reserved = Vec::new();
		let mut outcome = Ok(());
		for &(channel_id, max_send, _) in entries.iter().filter(|entry| entry.1 > 0) {
			match self.reserve_pledge(channel_id, max_send).await {
				Ok(()) => reserved.push(channel_id),
				Err(error) => {
					outcome = Err(error);
					break;
				}
			}
		}
		let result = match outcome {
			Ok(()) => {
				planner::request(&party.chain, &party.keys, entries, max_fee, expires_in).await
			}
			Err(error) => Err(error),
		};
		for channel_id in reserved {
			self.release_pledge(channel_id).await;
		}
		let (receipt, expires_at) = result?;
		let requested = Requested {
			block: expires_at.saturating_sub(expires_in),
			entries: EntryView::of(entries),
			expires_at,
			automatic,
			fee: receipt.fee,
		};
		self.report(Event::RebalanceRequested {
			entries: requested.entries.clone(),
			expires_at,
			automatic,
		});
		self.rebalancing.lock().expect("not poisoned").requested(requested.clone());
		Ok(requested)
	}

	/// Records a failure of the policy and reports it.
	fn rebalance_failed(&self, now: u32, action: &str, error: &anyhow::Error) {
		let reason = format!("{error:#}");
		self.report(Event::RebalanceFailed { action: action.into(), reason: reason.clone() });
		self.rebalancing.lock().expect("not poisoned").last_error = Some((now, reason));
	}

	/// The status `paychan_rebalanceStatus` returns: the policy, this party's open request as
	/// the chain has it, and the log.
	pub async fn rebalance_status(&self) -> Result<serde_json::Value> {
		let party = &self.party;
		let me = party.keys.account();
		let open = party.chain.open_requests().await?;
		let view = |request: &crate::chain::RequestView| {
			serde_json::json!({
				"entries": request.entries.0.iter().map(|entry| EntryView {
					channel_id: entry.channel_id,
					max_send: entry.max_send,
					max_receive: entry.max_receive,
				}).collect::<Vec<_>>(),
				"expires_at": request.expires_at,
				"max_fee": request.max_fee.to_string(),
			})
		};
		let request = open.iter().find(|(who, _)| *who == me).map(|(_, request)| view(request));
		// Every open request on chain, as a solver sees the round.
		let open_requests: Vec<_> = open
			.iter()
			.map(|(who, request)| {
				let mut entry = view(request);
				entry["who"] = who.to_string().into();
				entry
			})
			.collect();
		let log = self.rebalancing.lock().expect("not poisoned");
		Ok(serde_json::json!({
			"policy": self.config.rebalance,
			"open_request": request,
			"open_requests": open_requests,
			"requested": log.requested,
			"solved": log.solved,
			"executed": log.executed,
			"last_error": log.last_error.as_ref().map(|(block, reason)| serde_json::json!({
				"block": block,
				"reason": reason,
			})),
		}))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const BAND: Band = Band { low: 20, high: 80 };

	fn share(channel_id: ChannelId, mine: u128, theirs: u128) -> Share {
		Share { channel_id, mine, theirs }
	}

	#[test]
	fn a_band_is_parsed_and_bad_ones_are_refused() {
		assert_eq!("20:80".parse::<Band>(), Ok(BAND));
		for bad in ["80:20", "0:50", "20:100", "20", "a:b", "50:50"] {
			assert!(bad.parse::<Band>().unwrap_err().contains("is not a band"), "{bad}");
		}
	}

	#[test]
	fn nothing_is_requested_while_every_channel_is_inside_the_band() {
		let shares = [share(1, 50, 50), share(2, 79, 21), share(3, 20, 80)];
		assert_eq!(request_entries(BAND, &shares), None);
	}

	#[test]
	fn a_depleted_channel_asks_to_receive_and_a_full_one_pledges_its_excess() {
		// Channel 1: this party holds 10 of 100 (below 20%); channel 2: 90 of 100.
		let shares = [share(1, 10, 90), share(2, 90, 10), share(3, 50, 50)];
		let entries = request_entries(BAND, &shares).unwrap();
		assert_eq!(entries, vec![(1, 0, 40), (2, 40, 0)], "toward the middle, 50%");
	}

	#[test]
	fn channels_inside_the_band_are_moved_toward_the_middle_too_so_cycles_can_pass() {
		let shares = [share(1, 5, 95), share(2, 70, 30)];
		assert_eq!(request_entries(BAND, &shares).unwrap(), vec![(1, 0, 45), (2, 20, 0)]);
	}

	#[test]
	fn a_request_that_could_move_nothing_for_this_party_is_not_declared() {
		// Depleted everywhere: there is nothing to send in return for what it would receive.
		assert_eq!(request_entries(BAND, &[share(1, 10, 90), share(2, 0, 40)]), None);
		assert_eq!(request_entries(BAND, &[share(1, 95, 5)]), None);
	}

	#[test]
	fn a_pledge_never_exceeds_what_this_party_holds_nor_a_receive_what_the_other_may_pay() {
		for mine in [0u128, 1, 7, 33, 99, 100, 1_000_001] {
			for theirs in [0u128, 1, 9, 66, 1_000_003] {
				let shares = [share(1, mine, theirs), share(2, 0, 100), share(3, 100, 0)];
				if let Some(entries) = request_entries(BAND, &shares) {
					for (channel_id, send, receive) in entries {
						let share = shares.iter().find(|s| s.channel_id == channel_id).unwrap();
						assert!(send <= share.mine && receive <= share.theirs, "{share:?}");
					}
				}
			}
		}
	}

	#[test]
	fn at_most_the_pallets_bound_of_entries_the_largest_moves_first() {
		let mut shares: Vec<Share> = (0..20).map(|i| share(i, 100, i as u128)).collect();
		shares.push(share(99, 0, 1_000));
		let entries = request_entries(BAND, &shares).unwrap();
		assert_eq!(entries.len(), MAX_REQUEST_ENTRIES);
		assert_eq!(entries[0], (99, 0, 500));
	}

	#[test]
	fn the_log_keeps_the_newest() {
		let mut log = Log::default();
		for block in 0..(LOG_KEEP as u32 + 5) {
			log.executed(Executed { block, channel_id: 1, received: 1, sent: 0 });
		}
		assert_eq!(log.executed.len(), LOG_KEEP);
		assert_eq!(log.executed.front().unwrap().block, 5);
	}
}
