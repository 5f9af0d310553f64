//! The daemon's watch over its own channels: at every new best block it looks at each channel
//! it participates in, reports what changed, disputes a close that counts less than the
//! counterparty's newest proof it holds (while the daemon is online; a watchtower covers it
//! while it is not), and settles a channel whose challenge period has passed.

use anyhow::Result;
use paychan_primitives::{ChannelId, Nonce};
use std::collections::{BTreeMap, HashSet};

use super::Shared;
use crate::{
	chain::{runtime, signed_balance_proof, AtBlock, Chain},
	events::Event,
};

/// What the watch knew of a channel at the previous block.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Seen {
	/// The deadline, once a unilateral close started.
	deadline: Option<u32>,
}

/// Watches until the node stops sending blocks.
pub async fn run(shared: Shared) -> Result<()> {
	let mut seen: BTreeMap<ChannelId, Seen> = BTreeMap::new();
	let mut disputes_sent: HashSet<(ChannelId, Nonce)> = HashSet::new();
	let mut settling: HashSet<ChannelId> = HashSet::new();
	let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Finished>();
	let mut blocks = shared.party.chain.api.stream_best_blocks().await?;
	while let Some(block) = futures::StreamExt::next(&mut blocks).await {
		let block = block?;
		let at = block.at().await?;
		let now = block.number() as u32;
		while let Ok(finished) = done_rx.try_recv() {
			match finished {
				// A failed dispute is tried again at the next block.
				Finished::Dispute(key, false) => drop(disputes_sent.remove(&key)),
				Finished::Settle(channel_id, false) => drop(settling.remove(&channel_id)),
				_ => {}
			}
		}
		if let Err(error) =
			check(&shared, &at, now, &mut seen, &mut disputes_sent, &mut settling, &done_tx).await
		{
			// A node hiccup; the next block looks again.
			eprintln!("watch: block {now}: {error:#}");
		}
	}
	anyhow::bail!("the node stopped sending blocks")
}

enum Finished {
	Dispute((ChannelId, Nonce), bool),
	Settle(ChannelId, bool),
}

async fn check(
	shared: &Shared,
	at: &AtBlock,
	now: u32,
	seen: &mut BTreeMap<ChannelId, Seen>,
	disputes_sent: &mut HashSet<(ChannelId, Nonce)>,
	settling: &mut HashSet<ChannelId>,
	done: &tokio::sync::mpsc::UnboundedSender<Finished>,
) -> Result<()> {
	let party = &shared.party;
	let me = party.keys.public();
	let call = runtime::runtime_apis().payment_channels_api().channels_of(party.keys.account());
	let ids: Vec<ChannelId> = at.runtime_apis().call(call).await?;
	let gone: Vec<ChannelId> = seen.keys().filter(|id| !ids.contains(id)).copied().collect();
	for channel_id in gone {
		seen.remove(&channel_id);
		settling.remove(&channel_id);
		shared.report(Event::ChannelGone { channel_id });
	}
	for channel_id in ids {
		let Some(view) = Chain::channel_at(at, channel_id).await? else { continue };
		let now_seen = Seen { deadline: view.closing.map(|(_, deadline)| deadline) };
		let before = seen.insert(channel_id, now_seen);
		if before.is_none() {
			shared.report(Event::ChannelOpened { channel_id });
		}
		let Some((closer, deadline)) = view.closing else { continue };
		if before.is_none_or(|before| before.deadline != Some(deadline)) {
			shared.report(Event::CloseStarted { channel_id, by_me: closer == me, deadline });
		}
		let Some(side) = view.side_of(&me) else { continue };
		let other = 1 - side;
		if now <= deadline {
			let record = party.store.channel(channel_id)?;
			let Some(proof) = record.received else { continue };
			// The chain records a proof only if it raises its signer's total.
			if view.sides[other].transferred >= proof.transferred {
				continue;
			}
			if !disputes_sent.insert((channel_id, proof.nonce)) {
				continue;
			}
			let recovered = proof.transferred - view.sides[other].transferred;
			let call = runtime::tx().payment_channels().update_balance_proof(
				channel_id,
				signed_balance_proof(
					party.chain.genesis_hash,
					channel_id,
					view.participants[other],
					&proof,
				),
			);
			let (shared, done) = (shared.clone(), done.clone());
			tokio::spawn(async move {
				let key = (channel_id, proof.nonce);
				match shared.party.chain.submit("dispute", &call, &shared.party.keys).await {
					Ok(receipt) => {
						shared.report(Event::Disputed {
							channel_id,
							nonce: proof.nonce,
							recovered,
							fee: receipt.fee,
						});
						let _ = done.send(Finished::Dispute(key, true));
					}
					Err(error) => {
						shared.report(Event::ChainActionFailed {
							channel_id,
							action: "dispute".into(),
							reason: format!("{error:#}"),
						});
						let _ = done.send(Finished::Dispute(key, false));
					}
				}
			});
		} else if settling.insert(channel_id) {
			// The runtime settles expired channels by itself; this only makes sure it happens.
			let (shared, done) = (shared.clone(), done.clone());
			tokio::spawn(async move {
				match shared.party.settle(channel_id).await {
					Ok(_) => drop(done.send(Finished::Settle(channel_id, true))),
					Err(error) => {
						shared.report(Event::ChainActionFailed {
							channel_id,
							action: "settle".into(),
							reason: format!("{error:#}"),
						});
						let _ = done.send(Finished::Settle(channel_id, false));
					}
				}
			});
		}
	}
	Ok(())
}
