//! The daemon's watch over its own channels: at every new best block it looks at each channel
//! it participates in, reports what changed, disputes a close that counts less than the
//! counterparty's newest proof it holds (while the daemon is online; a watchtower covers it
//! while it is not), and settles a channel whose challenge period has passed.

use anyhow::Result;
use paychan_primitives::{ChannelId, Nonce};
use std::collections::{BTreeMap, HashSet};

use super::Shared;
use crate::{
	chain::{runtime, signed_balance_proof, AtBlock, Chain, ChannelView},
	events::Event,
	wire::ProofState,
};

/// What the watch knew of a channel at the previous block.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Seen {
	/// The deadline, once a unilateral close started.
	deadline: Option<u32>,
	/// This party's side's `rebalanced_in` and `rebalanced_out`.
	rebalanced: [u128; 2],
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
		let Some(side) = view.side_of(&me) else { continue };
		let books = &view.sides[side];
		let now_seen = Seen {
			deadline: view.closing.map(|(_, deadline)| deadline),
			rebalanced: [books.rebalanced_in, books.rebalanced_out],
		};
		let before = seen.insert(channel_id, now_seen);
		match before {
			None => shared.report(Event::ChannelOpened { channel_id }),
			Some(before) if before.rebalanced != now_seen.rebalanced => {
				let received = now_seen.rebalanced[0].saturating_sub(before.rebalanced[0]);
				let sent = now_seen.rebalanced[1].saturating_sub(before.rebalanced[1]);
				shared.report(Event::ChannelRebalanced { channel_id, received, sent });
				let executed =
					super::rebalance::Executed { block: now, channel_id, received, sent };
				shared.rebalancing.lock().expect("not poisoned").executed(executed);
			}
			Some(_) => {}
		}
		let Some((closer, deadline)) = view.closing else { continue };
		if before.is_none_or(|before| before.deadline != Some(deadline)) {
			shared.report(Event::CloseStarted { channel_id, by_me: closer == me, deadline });
		}
		let other = 1 - side;
		let received = party.store.channel(channel_id)?.received;
		match action(&view, &me, received.as_ref(), now) {
			Action::Nothing => {}
			Action::Dispute { recovered } => {
				let proof = received.expect("a dispute submits the proof held");
				if !disputes_sent.insert((channel_id, proof.nonce)) {
					continue;
				}
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
					let party = &shared.party;
					// As `paychan dispute` without --force: a dispute that costs more in fees
					// than it recovers is left out, and said so (paychan_dispute with force
					// submits it anyway).
					let fee = party.chain.estimate_fee(&call, &party.keys).await.unwrap_or(0);
					if recovered < fee {
						shared.report(Event::DisputeSkipped { channel_id, recovered, fee });
						let _ = done.send(Finished::Dispute(key, true));
						return;
					}
					match party.chain.submit("dispute", &call, &party.keys).await {
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
			}
			Action::Settle if settling.insert(channel_id) => {
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
			Action::Settle => {}
		}
	}
	Ok(())
}

/// What the watch does about a channel at block `now`.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
	Nothing,
	/// Submit the counterparty's newest proof held, which raises the chain's record of its
	/// payments by `recovered`.
	Dispute {
		recovered: u128,
	},
	/// The challenge period has passed.
	Settle,
}

/// The watch's decision for `me` about `view`, holding `received` from the counterparty. Pure,
/// so every case is unit-tested without a node.
pub fn action(
	view: &ChannelView,
	me: &[u8; 32],
	received: Option<&ProofState>,
	now: u32,
) -> Action {
	let (Some(side), Some((_, deadline))) = (view.side_of(me), view.closing) else {
		return Action::Nothing;
	};
	if now > deadline {
		return Action::Settle;
	}
	let recorded = &view.sides[1 - side];
	match received {
		// The chain takes a proof if it raises its signer's total; nonces do not order proofs
		// there (a signer's own high nonce with a low total must not shut out its newest proof).
		Some(proof) if proof.transferred > recorded.transferred => {
			Action::Dispute { recovered: proof.transferred - recorded.transferred }
		}
		_ => Action::Nothing,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn proof(nonce: Nonce, transferred: u128) -> ProofState {
		ProofState { nonce, transferred, signature: [0; 64] }
	}

	fn closing(deadline: u32, recorded: (Nonce, u128)) -> ChannelView {
		let mut view = ChannelView::funded(4, [100, 50]);
		view.closing = Some(([2; 32], deadline));
		view.sides[1].nonce = recorded.0;
		view.sides[1].transferred = recorded.1;
		view
	}

	#[test]
	fn a_close_below_the_newest_proof_held_is_disputed_until_the_deadline() {
		let me = [1; 32];
		let view = closing(20, (3, 30));
		let newer = proof(7, 45);
		assert_eq!(action(&view, &me, Some(&newer), 12), Action::Dispute { recovered: 15 });
		assert_eq!(action(&view, &me, Some(&newer), 20), Action::Dispute { recovered: 15 });
		assert_eq!(action(&view, &me, Some(&newer), 21), Action::Settle, "too late: settle");
	}

	#[test]
	fn a_close_with_a_higher_nonce_and_a_lower_total_is_still_disputed() {
		// The closer signed nonce 100 over a total below what it paid in nonce 7.
		let view = closing(20, (100, 10));
		assert_eq!(
			action(&view, &[1; 32], Some(&proof(7, 45)), 12),
			Action::Dispute { recovered: 35 }
		);
	}

	#[test]
	fn nothing_is_submitted_that_the_chain_would_not_take() {
		let me = [1; 32];
		let view = closing(20, (7, 45));
		assert_eq!(action(&view, &me, Some(&proof(7, 45)), 12), Action::Nothing, "same proof");
		assert_eq!(action(&view, &me, Some(&proof(5, 30)), 12), Action::Nothing, "older proof");
		assert_eq!(action(&view, &me, None, 12), Action::Nothing, "no proof held");
		let open = ChannelView::funded(4, [100, 50]);
		assert_eq!(action(&open, &me, Some(&proof(9, 60)), 12), Action::Nothing, "not closing");
		assert_eq!(action(&view, &[9; 32], Some(&proof(9, 60)), 12), Action::Nothing, "not mine");
	}
}
