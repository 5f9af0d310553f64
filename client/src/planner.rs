//! Rebalancing from the client: declare a request, and solve a round's open requests with the
//! exact solver of `paychan-rebalancer` and submit the plans.
//!
//! The chain does not know off-chain balances, so the round is what the requests state: in each
//! channel an end may send up to its `max_send` (which its client keeps unspent) and receive up
//! to its `max_receive`. The planner maximises the volume moved within those bounds with every
//! participant's net change zero (Revive's objective, the solver's flat costs); each channel's
//! target is where its larger allowed move would take it.

use anyhow::{bail, ensure, Context, Result};
use paychan_primitives::ChannelId;
use paychan_rebalancer::{model::Channel as RoundChannel, Instance, Options};
use serde::Serialize;
use std::collections::BTreeMap;
use subxt::utils::AccountId32;

use crate::{
	chain::{payloads, runtime, Chain, Receipt},
	keys::Keys,
	ledger::Ledger,
};

/// The pallet's bound on a plan's edges (`MaxPlanEdges`).
pub const MAX_PLAN_EDGES: usize = 128;

/// One channel entry of a request: `(channel id, max_send, max_receive)`.
pub type Entry = (ChannelId, u128, u128);

/// Checks one entry of this party's request against its own books (docs/protocol.md §8): it
/// holds at least its `max_send` on its side (the request replaces any earlier one, so earlier
/// pledges do not count), and its `max_receive` is within what the counterparty holds. An
/// over-declared `max_send` lets a plan take more from the channel than this party owns, which
/// the counterparty pays for at settlement.
pub fn check_entry(ledger: &Ledger, max_send: u128, max_receive: u128) -> Result<()> {
	let channel_id = ledger.view.id;
	ensure!(
		ledger.view.closing.is_none(),
		"channel {channel_id} is closing: it cannot be rebalanced"
	);
	ensure!(
		max_send > 0 || max_receive > 0,
		"channel {channel_id}: an entry must allow sending or receiving something"
	);
	let balances = ledger.balances();
	let mine = balances[ledger.me].max(0) as u128;
	ensure!(
		max_send <= mine,
		"channel {channel_id}: cannot pledge to send {max_send}: this party holds {mine} on its side"
	);
	let theirs = ledger.counterparty_available().max(0) as u128;
	ensure!(
		max_receive <= theirs,
		"channel {channel_id}: cannot ask to receive {max_receive}: the counterparty holds {theirs} on its side"
	);
	Ok(())
}

/// Declares (or replaces) the caller's rebalance request; its receipt and expiry block.
pub async fn request(
	chain: &Chain,
	keys: &Keys,
	entries: &[Entry],
	max_fee: u128,
	expires_in: u32,
) -> Result<(Receipt, u32)> {
	ensure!(!entries.is_empty(), "a request needs at least one channel entry");
	let expires_at = chain.block_number().await? + expires_in;
	let entries = entries
		.iter()
		.map(|&(channel_id, max_send, max_receive)| payloads::RequestEntry {
			channel_id,
			max_send,
			max_receive,
		})
		.collect();
	let call = runtime::tx().payment_channels().request_rebalance(
		runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(entries),
		max_fee,
		expires_at,
	);
	Ok((chain.submit("request_rebalance", &call, keys).await?, expires_at))
}

/// A round built from the chain's open requests.
pub struct Round {
	pub instance: Instance,
	pub accounts: Vec<AccountId32>,
	/// Channels left out because their two requests cannot both be true.
	pub skipped: Vec<Skipped>,
}

/// A channel the solver left out, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
	pub channel_id: ChannelId,
	pub reason: String,
}

/// Whether two ends' declared bounds can both hold in a channel whose funds are `total`: each end
/// holds at least its `max_send`, so the two together hold no more than the channel, and what an
/// end may receive comes out of the other's side. `max_send`/`max_receive` are `[end 0, end 1]`.
pub fn over_declared(total: u128, max_send: [u128; 2], max_receive: [u128; 2]) -> Option<String> {
	if max_send[0].saturating_add(max_send[1]) > total {
		return Some(format!(
			"the ends pledge to send {} and {}, more than the channel's {total} together",
			max_send[0], max_send[1]
		));
	}
	for end in 0..2 {
		if max_receive[end].saturating_add(max_send[end]) > total {
			return Some(format!(
				"end {end} may receive {} and send {}, more than the channel's {total}",
				max_receive[end], max_send[end]
			));
		}
	}
	None
}

/// Builds the round: every channel in which both ends have an entry.
pub async fn round(chain: &Chain) -> Result<Round> {
	let requests = chain.open_requests().await?;
	let mut bounds: BTreeMap<(ChannelId, AccountId32), (u128, u128)> = BTreeMap::new();
	for (who, request) in &requests {
		for entry in &request.entries.0 {
			bounds.insert((entry.channel_id, *who), (entry.max_send, entry.max_receive));
		}
	}
	let mut accounts: Vec<AccountId32> = Vec::new();
	let index = |who: &AccountId32, accounts: &mut Vec<AccountId32>| -> u32 {
		match accounts.iter().position(|a| a == who) {
			Some(i) => i as u32,
			None => {
				accounts.push(*who);
				(accounts.len() - 1) as u32
			}
		}
	};
	let channel_ids: std::collections::BTreeSet<ChannelId> =
		bounds.keys().map(|(id, _)| *id).collect();
	let mut channels = Vec::new();
	let mut skipped = Vec::new();
	for channel_id in channel_ids {
		let Some(view) = chain.channel(channel_id).await? else { continue };
		if view.closing.is_some() {
			continue;
		}
		let ends = view.participants.map(AccountId32);
		let (Some(&first), Some(&second)) =
			(bounds.get(&(channel_id, ends[0])), bounds.get(&(channel_id, ends[1])))
		else {
			continue;
		};
		let total = view.total();
		if let Some(reason) = over_declared(total, [first.0, second.0], [first.1, second.1]) {
			skipped.push(Skipped { channel_id, reason });
			continue;
		}
		let amount = |value: u128| -> Result<i64> {
			let value =
				i64::try_from(value).ok().filter(|&v| v <= paychan_rebalancer::model::MAX_AMOUNT);
			value.context("a request amount is too large for the exact solver")
		};
		let max_send = [amount(first.0)?, amount(second.0)?];
		let max_receive = [amount(first.1)?, amount(second.1)?];
		// The ends hold at least what they may send; the target is where the larger allowed
		// move leads.
		let balance = max_send;
		let toward_second = max_send[0].min(max_receive[1]);
		let toward_first = max_send[1].min(max_receive[0]);
		let target = if toward_second >= toward_first {
			balance[0] - toward_second
		} else {
			balance[0] + toward_first
		};
		channels.push(RoundChannel {
			id: channel_id,
			ends: [index(&ends[0], &mut accounts), index(&ends[1], &mut accounts)],
			balance,
			target,
			max_send,
			max_receive,
			fee_ppm: [0, 0],
		});
	}
	Ok(Round { instance: Instance { nodes: accounts.len() as u32, channels }, accounts, skipped })
}

/// What a solve submitted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SolveReport {
	pub channels: usize,
	pub plans: usize,
	pub edges: usize,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub volume: u128,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub fees: u128,
	/// Channels left out because their requests over-declare.
	pub skipped: Vec<Skipped>,
}

/// Solves the round exactly and submits every plan (unless `dry_run`).
pub async fn solve(chain: &Chain, keys: &Keys, dry_run: bool) -> Result<SolveReport> {
	let round = round(chain).await?;
	for skip in &round.skipped {
		eprintln!("channel {} left out: {}", skip.channel_id, skip.reason);
	}
	let report = execute(chain, keys, &round, dry_run).await?;
	if report.plans == 0 && !dry_run && report.channels > 0 {
		bail!("the open requests allow no circulation: nothing to rebalance");
	}
	Ok(report)
}

/// Solves `round` exactly and submits every plan (unless `dry_run`).
pub async fn execute(
	chain: &Chain,
	keys: &Keys,
	round: &Round,
	dry_run: bool,
) -> Result<SolveReport> {
	let outcome =
		paychan_rebalancer::solve(&round.instance, Options { piecewise: false }, MAX_PLAN_EDGES)
			.map_err(|error| anyhow::anyhow!("the round is not solvable: {error:?}"))?
			.outcome;
	let mut report = SolveReport {
		channels: round.instance.channels.len(),
		skipped: round.skipped.clone(),
		..Default::default()
	};
	for plan in &outcome.plans {
		let edges: Vec<_> = plan
			.iter()
			.map(|edge| payloads::PlanEdge {
				channel_id: edge.channel_id,
				from: round.accounts[edge.from as usize],
				amount: edge.amount,
			})
			.collect();
		report.plans += 1;
		report.edges += edges.len();
		report.volume += plan.iter().map(|edge| edge.amount).sum::<u128>();
		if dry_run {
			continue;
		}
		let call = runtime::tx().payment_channels().submit_plan(
			runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(edges),
		);
		let receipt = chain.submit("submit_plan", &call, keys).await?;
		report.fees += receipt.fee;
	}
	Ok(report)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{chain::ChannelView, store::ChannelRecord, wire::ProofState};

	/// Alice (opener) deposited 100 and paid Bob 95 off chain: she holds 5, Bob 95.
	fn alice_after_paying_95() -> Ledger {
		let view = ChannelView::funded(7, [100, 0]);
		let sent = Some(ProofState { nonce: 1, transferred: 95, signature: [0; 64], locks: None });
		Ledger::new(view, 0, ChannelRecord { sent, ..ChannelRecord::default() })
	}

	#[test]
	fn a_party_cannot_pledge_more_than_it_holds_or_ask_more_than_the_other_holds() {
		let alice = alice_after_paying_95();
		let error = check_entry(&alice, 90, 0).unwrap_err().to_string();
		assert!(error.contains("holds 5 on its side"), "{error}");
		assert!(check_entry(&alice, 5, 0).is_ok());
		let error = check_entry(&alice, 0, 96).unwrap_err().to_string();
		assert!(error.contains("the counterparty holds 95"), "{error}");
		assert!(check_entry(&alice, 5, 95).is_ok());
		assert!(check_entry(&alice, 0, 0).is_err(), "an empty entry");
	}

	#[test]
	fn the_solver_leaves_out_channels_whose_requests_cannot_both_hold() {
		assert_eq!(over_declared(100, [90, 10], [0, 90]), None);
		assert!(over_declared(100, [90, 11], [0, 0])
			.unwrap()
			.contains("more than the channel's 100"));
		assert!(over_declared(100, [90, 0], [11, 0]).unwrap().contains("end 0"));
		assert!(over_declared(100, [0, 50], [0, 51]).unwrap().contains("end 1"));
	}
}
