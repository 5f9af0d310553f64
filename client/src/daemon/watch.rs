//! The daemon's watch over its own channels: at every new best block it looks at each channel
//! it participates in, reports what changed, disputes a close that counts less than the
//! counterparty's newest proof it holds (while the daemon is online; a watchtower covers it
//! while it is not), and settles a channel whose challenge period has passed. The decisions are
//! [`Watch`]'s, free of I/O; [`run`] only reads the chain and the store and submits.

use anyhow::Result;
use paychan_primitives::{ChannelId, Nonce};
use std::collections::{BTreeMap, HashSet};

use super::Shared;
use crate::{
	chain::{runtime, AtBlock, Chain, ChannelView},
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

/// Something the watch submits by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submit {
	/// The counterparty's newest proof held, against its close; it raises the chain's record of
	/// the counterparty's payments by `recovered`.
	Dispute { channel_id: ChannelId, counterparty: [u8; 32], proof: ProofState, recovered: u128 },
	/// The channel's challenge period has passed.
	Settle { channel_id: ChannelId },
}

/// How a submission ended; a failed one is submitted again at the next block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
	Dispute { channel_id: ChannelId, nonce: Nonce, ok: bool },
	Settle { channel_id: ChannelId, ok: bool },
}

/// What the watch makes of one block: the events to report and what to submit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
	pub events: Vec<Event>,
	pub submit: Vec<Submit>,
	/// Channels whose held proof could not be read: they are looked at again at the next
	/// block, and the rest of this one's step stands.
	pub errors: Vec<String>,
}

/// The watch's state machine, free of I/O so that every case runs in a unit test: what it saw
/// of each channel at the previous block, and the submissions in progress, so that each
/// dispute and each settlement is submitted once unless it fails.
#[derive(Default)]
pub struct Watch {
	seen: BTreeMap<ChannelId, Seen>,
	disputes_sent: HashSet<(ChannelId, Nonce)>,
	settling: HashSet<ChannelId>,
}

impl Watch {
	/// Takes the outcome of a submission.
	pub fn finished(&mut self, finished: Finished) {
		match finished {
			Finished::Dispute { channel_id, nonce, ok: false } => {
				self.disputes_sent.remove(&(channel_id, nonce));
			}
			Finished::Settle { channel_id, ok: false } => {
				self.settling.remove(&channel_id);
			}
			_ => {}
		}
	}

	/// The step for block `now`, at which the chain holds `channels` of `me`'s (every channel
	/// `me` is part of); `held` reads the counterparty's newest proof this party holds for a
	/// channel (only those closing are read).
	pub fn block(
		&mut self,
		now: u32,
		me: &[u8; 32],
		channels: &[ChannelView],
		held: impl Fn(ChannelId) -> Result<Option<ProofState>>,
	) -> Step {
		let mut step = Step::default();
		let gone: Vec<ChannelId> = self
			.seen
			.keys()
			.filter(|id| !channels.iter().any(|view| view.id == **id))
			.copied()
			.collect();
		for channel_id in gone {
			self.seen.remove(&channel_id);
			self.settling.remove(&channel_id);
			step.events.push(Event::ChannelGone { channel_id });
		}
		for view in channels {
			let channel_id = view.id;
			let Some(side) = view.side_of(me) else { continue };
			let books = &view.sides[side];
			let now_seen = Seen {
				deadline: view.closing.map(|(_, deadline)| deadline),
				rebalanced: [books.rebalanced_in, books.rebalanced_out],
			};
			let before = self.seen.insert(channel_id, now_seen);
			match before {
				None => step.events.push(Event::ChannelOpened { channel_id }),
				Some(before) if before.rebalanced != now_seen.rebalanced => {
					step.events.push(Event::ChannelRebalanced {
						channel_id,
						received: now_seen.rebalanced[0].saturating_sub(before.rebalanced[0]),
						sent: now_seen.rebalanced[1].saturating_sub(before.rebalanced[1]),
					});
				}
				Some(_) => {}
			}
			let Some((closer, deadline)) = view.closing else { continue };
			if before.is_none_or(|before| before.deadline != Some(deadline)) {
				step.events.push(Event::CloseStarted {
					channel_id,
					by_me: closer == *me,
					deadline,
				});
			}
			let received = match held(channel_id) {
				Ok(received) => received,
				Err(error) => {
					step.errors.push(format!("channel {channel_id}: {error:#}"));
					continue;
				}
			};
			match action(view, me, received.as_ref(), now) {
				Action::Nothing => {}
				Action::Dispute { recovered } => {
					let proof = received.expect("a dispute submits the proof held");
					if self.disputes_sent.insert((channel_id, proof.nonce)) {
						let counterparty = view.participants[1 - side];
						step.submit.push(Submit::Dispute {
							channel_id,
							counterparty,
							proof,
							recovered,
						});
					}
				}
				Action::Settle => {
					if self.settling.insert(channel_id) {
						step.submit.push(Submit::Settle { channel_id });
					}
				}
			}
		}
		step
	}
}

/// Watches until the node stops sending blocks.
pub async fn run(shared: Shared) -> Result<()> {
	let mut watch = Watch::default();
	let mut locks = super::lock_watch::LockWatch::default();
	let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Finished>();
	let mut blocks = shared.party.chain.api.stream_best_blocks().await?;
	while let Some(block) = futures::StreamExt::next(&mut blocks).await {
		let block = block?;
		let at = block.at().await?;
		let now = block.number() as u32;
		while let Ok(finished) = done_rx.try_recv() {
			watch.finished(finished);
		}
		if let Err(error) = check(&shared, &at, now, &mut watch, &mut locks, &done_tx).await {
			// A node hiccup; the next block looks again.
			eprintln!("watch: block {now}: {error:#}");
		}
	}
	anyhow::bail!("the node stopped sending blocks")
}

/// Reads the chain and the store for block `now`, reports the watch's events and starts its
/// submissions.
async fn check(
	shared: &Shared,
	at: &AtBlock,
	now: u32,
	watch: &mut Watch,
	locks: &mut super::lock_watch::LockWatch,
	done: &tokio::sync::mpsc::UnboundedSender<Finished>,
) -> Result<()> {
	let party = &shared.party;
	let call = runtime::runtime_apis().payment_channels_api().channels_of(party.keys.account());
	let ids: Vec<ChannelId> = at.runtime_apis().call(call).await?;
	let mut channels = Vec::with_capacity(ids.len());
	for channel_id in ids {
		channels.extend(Chain::channel_at(at, channel_id).await?);
	}
	let moves = Chain::plan_moves_at(at).await?;
	if !moves.is_empty() {
		*shared.last_round.lock().expect("not poisoned") = Some((now, moves));
	}
	let step = watch.block(now, &party.keys.public(), &channels, |channel_id| {
		Ok(party.store.channel(channel_id)?.received)
	});
	for error in step.errors {
		eprintln!("watch: block {now}: {error}");
	}
	if let Err(error) = super::lock_watch::check(shared, now, &channels, locks).await {
		eprintln!("watch: block {now}: locks: {error:#}");
	}
	for event in step.events {
		if let Event::ChannelRebalanced { channel_id, received, sent } = event {
			let executed = super::rebalance::Executed { block: now, channel_id, received, sent };
			shared.rebalancing.lock().expect("not poisoned").executed(executed);
		}
		shared.report(event);
	}
	for submit in step.submit {
		let (shared, done) = (shared.clone(), done.clone());
		tokio::spawn(async move {
			let finished = match submit {
				Submit::Dispute { channel_id, counterparty, proof, recovered } => {
					let ok = dispute(&shared, channel_id, counterparty, &proof, recovered).await;
					Finished::Dispute { channel_id, nonce: proof.nonce, ok }
				}
				Submit::Settle { channel_id } => {
					// The runtime settles expired channels by itself; this only makes sure.
					let ok = match shared.party.settle(channel_id).await {
						Ok(_) => true,
						Err(error) => {
							shared.report(Event::ChainActionFailed {
								channel_id,
								action: "settle".into(),
								reason: format!("{error:#}"),
							});
							false
						}
					};
					Finished::Settle { channel_id, ok }
				}
			};
			let _ = done.send(finished);
		});
	}
	Ok(())
}

/// Submits `proof` against the counterparty's close, unless its fee exceeds what it recovers
/// (as `paychan dispute` without --force; paychan_dispute with force submits it anyway), and
/// reports which. Whether it is done (submitted or left out on purpose).
async fn dispute(
	shared: &Shared,
	channel_id: ChannelId,
	counterparty: [u8; 32],
	proof: &ProofState,
	recovered: u128,
) -> bool {
	let party = &shared.party;
	let fee = match proof.locks {
		// Its locks' worth shows only once they are unlocked: always submitted.
		Some(_) => 0,
		None => party.dispute_fee(channel_id, counterparty, proof).await.unwrap_or(0),
	};
	if recovered < fee {
		shared.report(Event::DisputeSkipped { channel_id, recovered, fee });
		return true;
	}
	match party.submit_proof(channel_id, counterparty, proof).await {
		Ok(fee) => {
			let nonce = proof.nonce;
			shared.report(Event::Disputed { channel_id, nonce, recovered, fee });
			true
		}
		Err(error) => {
			shared.report(Event::ChainActionFailed {
				channel_id,
				action: "dispute".into(),
				reason: format!("{error:#}"),
			});
			false
		}
	}
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
		// A locked proof counts from its beneficiary alone, ordered by nonce (§10.6): what is at
		// stake is its total over the recorded one and its locks.
		Some(proof) if proof.locks.is_some() => match proof.nonce > recorded.nonce {
			true => Action::Dispute {
				recovered: proof.transferred.saturating_sub(recorded.transferred) + proof.locked(),
			},
			false => Action::Nothing,
		},
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
		ProofState { nonce, transferred, signature: [0; 64], locks: None }
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

	/// The watch of party `[1; 32]` (the opener of every channel here); it holds `held`.
	fn step(
		watch: &mut Watch,
		now: u32,
		channel: Option<&ChannelView>,
		held: Option<ProofState>,
	) -> Step {
		let channels = channel.map_or(&[][..], std::slice::from_ref);
		watch.block(now, &[1; 32], channels, |_| Ok(held.clone()))
	}

	#[test]
	fn the_watch_reports_a_new_channel_once_and_a_rebalancing_by_what_moved() {
		let mut watch = Watch::default();
		let mut view = ChannelView::funded(4, [100, 50]);
		let opened = step(&mut watch, 1, Some(&view), None);
		assert_eq!(opened.events, vec![Event::ChannelOpened { channel_id: 4 }]);
		assert_eq!(step(&mut watch, 2, Some(&view), None), Step::default(), "nothing new");
		view.sides[0].rebalanced_in = 30;
		view.sides[0].rebalanced_out = 5;
		let moved = step(&mut watch, 3, Some(&view), None);
		assert_eq!(
			moved.events,
			vec![Event::ChannelRebalanced { channel_id: 4, received: 30, sent: 5 }]
		);
		view.sides[0].rebalanced_in = 32;
		let moved = step(&mut watch, 4, Some(&view), None);
		assert_eq!(
			moved.events,
			vec![Event::ChannelRebalanced { channel_id: 4, received: 2, sent: 0 }],
			"only what moved since the last block"
		);
		assert_eq!(
			step(&mut watch, 5, None, None).events,
			vec![Event::ChannelGone { channel_id: 4 }]
		);
	}

	#[test]
	fn a_stale_close_is_disputed_once_and_again_only_if_the_dispute_failed() {
		let mut watch = Watch::default();
		step(&mut watch, 1, Some(&ChannelView::funded(4, [100, 50])), None);
		let stale = closing(20, (3, 30));
		let newer = proof(7, 45);
		let dispute = Submit::Dispute {
			channel_id: 4,
			counterparty: [2; 32],
			proof: newer.clone(),
			recovered: 15,
		};
		let first = step(&mut watch, 12, Some(&stale), Some(newer.clone()));
		assert_eq!(
			first.events,
			vec![Event::CloseStarted { channel_id: 4, by_me: false, deadline: 20 }]
		);
		assert_eq!(first.submit, vec![dispute.clone()]);
		assert_eq!(step(&mut watch, 13, Some(&stale), Some(newer.clone())), Step::default());
		watch.finished(Finished::Dispute { channel_id: 4, nonce: 7, ok: false });
		let again = step(&mut watch, 14, Some(&stale), Some(newer.clone()));
		assert_eq!(again.submit, vec![dispute], "a failed dispute is submitted again");
		watch.finished(Finished::Dispute { channel_id: 4, nonce: 7, ok: true });
		assert_eq!(step(&mut watch, 15, Some(&stale), Some(newer)), Step::default());
	}

	#[test]
	fn a_close_that_counts_the_newest_proof_is_left_alone_and_settled_after_its_deadline() {
		let mut watch = Watch::default();
		let honest = closing(20, (7, 45));
		let first = step(&mut watch, 12, Some(&honest), Some(proof(7, 45)));
		assert!(first.submit.is_empty(), "nothing to dispute: {first:?}");
		let late = step(&mut watch, 21, Some(&honest), Some(proof(7, 45)));
		assert_eq!(late.submit, vec![Submit::Settle { channel_id: 4 }]);
		assert_eq!(step(&mut watch, 22, Some(&honest), None).submit, vec![], "once");
		watch.finished(Finished::Settle { channel_id: 4, ok: false });
		assert_eq!(
			step(&mut watch, 23, Some(&honest), None).submit,
			vec![Submit::Settle { channel_id: 4 }],
			"a failed settle is submitted again"
		);
		assert_eq!(
			step(&mut watch, 24, None, None).events,
			vec![Event::ChannelGone { channel_id: 4 }]
		);
	}

	#[test]
	fn a_close_this_party_started_is_reported_as_its_own_and_a_store_error_waits_a_block() {
		let mut watch = Watch::default();
		let mut mine = closing(20, (0, 0));
		mine.closing = Some(([1; 32], 20));
		let started = step(&mut watch, 12, Some(&mine), None);
		assert_eq!(
			started.events,
			vec![
				Event::ChannelOpened { channel_id: 4 },
				Event::CloseStarted { channel_id: 4, by_me: true, deadline: 20 }
			]
		);
		// A stale close by the counterparty, whose proof this party cannot read at first.
		let mut watch = Watch::default();
		let stale = closing(20, (3, 30));
		let failed =
			watch.block(12, &[1; 32], std::slice::from_ref(&stale), |_| anyhow::bail!("disk gone"));
		assert_eq!(failed.errors, vec!["channel 4: disk gone".to_string()]);
		assert!(failed.submit.is_empty());
		assert_eq!(failed.events.len(), 2, "what was seen is still reported: {failed:?}");
		let retried = step(&mut watch, 13, Some(&stale), Some(proof(7, 45)));
		assert!(
			matches!(retried.submit[..], [Submit::Dispute { recovered: 15, .. }]),
			"the dispute follows at the next block: {retried:?}"
		);
	}

	#[test]
	fn a_newer_locked_proof_is_submitted_whatever_its_total_and_an_older_one_is_not() {
		let me = [1; 32];
		let view = closing(20, (5, 40));
		let lock = crate::htlc::HtlcLock { amount: 7, expires_at: 30, secret_hash: [3; 32] };
		let locked = |nonce| ProofState { locks: Some(vec![lock.clone()]), ..proof(nonce, 40) };
		assert_eq!(action(&view, &me, Some(&locked(6)), 10), Action::Dispute { recovered: 7 });
		assert_eq!(action(&view, &me, Some(&locked(5)), 10), Action::Nothing);
	}
}
