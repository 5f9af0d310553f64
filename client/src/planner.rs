//! Rebalancing from the client: declare a request, and solve a round's open requests with the
//! exact solver of `paychan-rebalancer` and submit the plans.
//!
//! The chain does not know off-chain balances, so the round is what the requests state: in each
//! channel an end may send up to its `max_send` (which its client keeps unspent) and receive up
//! to its `max_receive`. The planner maximises the volume moved within those bounds with every
//! participant's net change zero (Revive's objective, the solver's flat costs); each channel's
//! target is where its larger allowed move would take it.

use anyhow::{bail, ensure, Context, Result};
use paychan_rebalancer::{model::Channel as RoundChannel, Instance, Options};
use serde::Serialize;
use std::collections::BTreeMap;
use subxt::utils::AccountId32;

use crate::{
	chain::{payloads, runtime, Chain, Receipt},
	keys::Keys,
};

/// The pallet's bound on a plan's edges (`MaxPlanEdges`).
pub const MAX_PLAN_EDGES: usize = 128;

/// One channel entry of a request: `(channel id, max_send, max_receive)`.
pub type Entry = (u64, u128, u128);

/// Declares (or replaces) the caller's rebalance request.
pub async fn request(
	chain: &Chain,
	keys: &Keys,
	entries: &[Entry],
	max_fee: u128,
	expires_in: u32,
) -> Result<Receipt> {
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
	chain.submit("request_rebalance", &call, keys).await
}

/// A round built from the chain's open requests.
pub struct Round {
	pub instance: Instance,
	pub accounts: Vec<AccountId32>,
}

/// Builds the round: every channel in which both ends have an entry.
pub async fn round(chain: &Chain) -> Result<Round> {
	let requests = chain.open_requests().await?;
	let mut bounds: BTreeMap<(u64, AccountId32), (u128, u128)> = BTreeMap::new();
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
	let channel_ids: std::collections::BTreeSet<u64> = bounds.keys().map(|(id, _)| *id).collect();
	let mut channels = Vec::new();
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
	Ok(Round { instance: Instance { nodes: accounts.len() as u32, channels }, accounts })
}

/// What a solve submitted.
#[derive(Debug, Default, Serialize)]
pub struct SolveReport {
	pub channels: usize,
	pub plans: usize,
	pub edges: usize,
	pub volume: u128,
	pub fees: u128,
}

/// Solves the round exactly and submits every plan (unless `dry_run`).
pub async fn solve(chain: &Chain, keys: &Keys, dry_run: bool) -> Result<SolveReport> {
	let round = round(chain).await?;
	let (outcome, _, _) =
		paychan_rebalancer::solve(&round.instance, Options { piecewise: false }, MAX_PLAN_EDGES)
			.map_err(|error| anyhow::anyhow!("the round is not solvable: {error:?}"))?;
	let mut report = SolveReport { channels: round.instance.channels.len(), ..Default::default() };
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
	if report.plans == 0 && !dry_run && report.channels > 0 {
		bail!("the open requests allow no circulation: nothing to rebalance");
	}
	Ok(report)
}
