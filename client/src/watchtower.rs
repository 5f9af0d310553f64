//! The watchtower: it keeps the newest balance proof of each counterparty its users hand it,
//! and when that counterparty closes the channel with an older one, disputes the close with
//! `update_balance_proof` before the deadline.
//!
//! It needs no trust: a balance proof only counts against its signer, so all a watchtower can
//! do with what it holds is make a cheating counterparty pay what it signed. It pays the dispute
//! fee from its own account.

use anyhow::{Context, Result};
use paychan_primitives::{ChannelId, Nonce};
use std::{collections::BTreeMap, time::Duration};
use subxt::utils::AccountId32;
use tokio::{net::TcpListener, sync::mpsc};

use crate::{
	chain::{AtBlock, Chain, ChannelView},
	keys::{self, Keys},
	session::{proof_message, Party},
	wire::{Link, Message, ProofState},
};

/// A dispute the watchtower made.
#[derive(Debug, serde::Serialize)]
pub struct Dispute {
	pub channel_id: ChannelId,
	pub signer: String,
	pub nonce: Nonce,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub transferred: u128,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub fee: u128,
}

/// Runs the watchtower: serves users on `address` and checks the watched channels at every new
/// best block, so a close is disputed as soon as it is in a block, not only once final. `on_dispute` is told of every dispute made.
pub async fn run(party: Party, address: &str, on_dispute: impl Fn(&Dispute)) -> Result<()> {
	let listener =
		TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
	let serving = party.clone();
	tokio::spawn(async move {
		while let Ok((stream, _)) = listener.accept().await {
			let party = serving.clone();
			tokio::spawn(async move {
				if let Err(error) = serve_user(&party, stream).await {
					eprintln!("watchtower: a user session ended: {error:#}");
				}
			});
		}
	});

	let mut blocks = party.chain.api.stream_best_blocks().await?;
	while let Some(block) = futures::StreamExt::next(&mut blocks).await {
		let block = block?;
		let at = block.at().await?;
		let chain = OnChain { party: &party, at: &at };
		match enforce(&chain, party.store.as_ref(), block.number() as u32).await {
			Ok(disputes) => disputes.iter().for_each(&on_dispute),
			// A node hiccup or a dispute someone else made first; the next block retries.
			Err(error) => eprintln!("watchtower: block {}: {error:#}", block.number()),
		}
	}
	anyhow::bail!("the node stopped sending blocks")
}

async fn serve_user(party: &Party, stream: tokio::net::TcpStream) -> Result<()> {
	let mut link = Link::accept(stream, &party.keys).await?;
	loop {
		let messages = match link.reader.receive().await {
			Ok(messages) => messages,
			Err(_) => return Ok(()), // the user left
		};
		for message in messages {
			let Message::Watch { channel_id, signer, proof } = message else {
				link.writer.push(Message::Error("a watchtower only takes Watch".into())).await?;
				continue;
			};
			let signed = proof_message(party.chain.genesis_hash, channel_id, &proof);
			if !keys::verify(&signer, &signed, &proof.signature) {
				link.writer.push(Message::Error("invalid proof signature".into())).await?;
				continue;
			}
			let store = party.store.clone();
			let stored = proof.clone();
			tokio::task::spawn_blocking(move || store.watch(channel_id, signer, &stored)).await??;
			link.writer.push(Message::Watching { channel_id, nonce: proof.nonce }).await?;
		}
		link.writer.flush().await?;
	}
}

/// What the watchtower reads and submits on chain: the seam its enforcement is tested through
/// without a node ([`OnChain`] is the real one).
// Generic use only (never `dyn`), so the futures' auto traits follow the implementation.
#[allow(async_fn_in_trait)]
pub trait TowerChain {
	/// The channel as of the block being checked (a best block, perhaps not final).
	async fn channel(&self, channel_id: ChannelId) -> Result<Option<ChannelView>>;
	/// The channel as of the newest finalized block.
	async fn final_channel(&self, channel_id: ChannelId) -> Result<Option<ChannelView>>;
	/// Submits `signer`'s `proof` against the close of `channel_id`; the fee paid.
	async fn dispute(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		proof: &ProofState,
	) -> Result<u128>;
}

/// What the watchtower keeps: the newest proof per channel and signer.
pub trait TowerStore {
	fn watched(&self) -> Result<Vec<(ChannelId, [u8; 32], ProofState)>>;
	fn unwatch(&self, channel_id: ChannelId) -> Result<()>;
}

impl TowerStore for crate::store::Store {
	fn watched(&self) -> Result<Vec<(ChannelId, [u8; 32], ProofState)>> {
		crate::store::Store::watched(self)
	}

	fn unwatch(&self, channel_id: ChannelId) -> Result<()> {
		crate::store::Store::unwatch(self, channel_id)
	}
}

/// The chain seam over a node, as of block `at`.
pub struct OnChain<'a> {
	pub party: &'a Party,
	pub at: &'a AtBlock,
}

impl TowerChain for OnChain<'_> {
	async fn channel(&self, channel_id: ChannelId) -> Result<Option<ChannelView>> {
		Chain::channel_at(self.at, channel_id).await
	}

	async fn final_channel(&self, channel_id: ChannelId) -> Result<Option<ChannelView>> {
		self.party.chain.channel(channel_id).await
	}

	async fn dispute(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		proof: &ProofState,
	) -> Result<u128> {
		self.party.submit_proof(channel_id, signer, proof).await
	}
}

/// Disputes every close that counts less than a watched proof, as of block `now`; forgets
/// settled channels.
pub async fn enforce(
	chain: &impl TowerChain,
	store: &impl TowerStore,
	now: u32,
) -> Result<Vec<Dispute>> {
	let mut by_channel: BTreeMap<ChannelId, Vec<([u8; 32], ProofState)>> = BTreeMap::new();
	for (channel_id, signer, proof) in store.watched()? {
		by_channel.entry(channel_id).or_default().push((signer, proof));
	}
	let mut disputes = Vec::new();
	for (channel_id, proofs) in by_channel {
		let Some(view) = chain.channel(channel_id).await? else {
			// Settled (ids are never reused); a best block could still be retracted, so only
			// a finalized absence removes the proofs.
			if chain.final_channel(channel_id).await?.is_none() {
				store.unwatch(channel_id)?;
			}
			continue;
		};
		let Some((_, deadline)) = view.closing else { continue };
		if now > deadline {
			continue;
		}
		for (signer, proof) in proofs {
			let Some(side) = view.side_of(&signer) else { continue };
			// The chain records a proof only if it raises its signer's total (a proof counts only
			// against its signer), so that is what decides whether disputing helps.
			if view.sides[side].transferred >= proof.transferred {
				continue;
			}
			// One failed dispute (say, a newer proof got there first) must not stop the others.
			let fee = match chain.dispute(channel_id, signer, &proof).await {
				Ok(fee) => fee,
				Err(error) => {
					eprintln!("watchtower: channel {channel_id}: {error:#}");
					continue;
				}
			};
			disputes.push(Dispute {
				channel_id,
				signer: AccountId32(signer).to_string(),
				nonce: proof.nonce,
				transferred: proof.transferred,
				fee,
			});
		}
	}
	Ok(disputes)
}

/// Hands the proofs a listener receives to the watchtower at `address`, coalescing to the
/// newest per channel; connects lazily and retries. Ends when the queue closes and everything
/// queued was acknowledged (or after `final_attempts` failures once it closed).
pub async fn push(
	keys: Keys,
	address: String,
	mut queue: mpsc::UnboundedReceiver<(ChannelId, [u8; 32], ProofState)>,
) -> Result<()> {
	let mut pending: BTreeMap<(ChannelId, [u8; 32]), ProofState> = BTreeMap::new();
	let mut link: Option<Link> = None;
	let mut closed = false;
	let mut failures = 0;
	loop {
		if pending.is_empty() {
			match queue.recv().await {
				Some((channel_id, signer, proof)) => {
					pending.insert((channel_id, signer), proof);
				}
				None => return Ok(()),
			}
		}
		loop {
			match queue.try_recv() {
				Ok((channel_id, signer, proof)) => {
					let slot = pending.entry((channel_id, signer)).or_insert(proof.clone());
					if proof.supersedes(slot) {
						*slot = proof;
					}
				}
				Err(mpsc::error::TryRecvError::Empty) => break,
				Err(mpsc::error::TryRecvError::Disconnected) => {
					closed = true;
					break;
				}
			}
		}
		let result = async {
			if link.is_none() {
				link = Some(Link::connect(&address, &keys, None).await?);
			}
			let link = link.as_mut().expect("connected above");
			for (&(channel_id, signer), proof) in &pending {
				link.writer
					.push(Message::Watch { channel_id, signer, proof: proof.clone() })
					.await?;
			}
			link.writer.flush().await?;
			let mut answered = 0;
			while answered < pending.len() {
				for message in link.reader.receive().await? {
					match message {
						Message::Watching { .. } => answered += 1,
						Message::Error(reason) => anyhow::bail!("the watchtower refused: {reason}"),
						other => anyhow::bail!("unexpected watchtower answer {other:?}"),
					}
				}
			}
			anyhow::Ok(())
		}
		.await;
		match result {
			Ok(()) => {
				pending.clear();
				failures = 0;
				if closed {
					return Ok(());
				}
			}
			Err(error) => {
				link = None;
				failures += 1;
				if closed && failures >= 20 {
					return Err(error.context("proofs could not be handed to the watchtower"));
				}
				eprintln!("watchtower link: {error:#}; retrying");
				tokio::time::sleep(Duration::from_millis(500)).await;
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::{cell::RefCell, collections::BTreeSet};

	/// A chain in memory: channels at the checked block and at the finalized one, and the
	/// disputes submitted (`refuse` makes the dispute of that signer fail).
	#[derive(Default)]
	struct FakeChain {
		best: BTreeMap<ChannelId, ChannelView>,
		finalized: BTreeMap<ChannelId, ChannelView>,
		refuse: BTreeSet<[u8; 32]>,
		submitted: RefCell<Vec<(ChannelId, [u8; 32], ProofState)>>,
	}

	impl TowerChain for FakeChain {
		async fn channel(&self, channel_id: ChannelId) -> Result<Option<ChannelView>> {
			Ok(self.best.get(&channel_id).cloned())
		}

		async fn final_channel(&self, channel_id: ChannelId) -> Result<Option<ChannelView>> {
			Ok(self.finalized.get(&channel_id).cloned())
		}

		async fn dispute(
			&self,
			channel_id: ChannelId,
			signer: [u8; 32],
			proof: &ProofState,
		) -> Result<u128> {
			anyhow::ensure!(!self.refuse.contains(&signer), "NewerProofKnown");
			self.submitted.borrow_mut().push((channel_id, signer, proof.clone()));
			Ok(7)
		}
	}

	#[derive(Default)]
	struct FakeStore {
		proofs: RefCell<Vec<(ChannelId, [u8; 32], ProofState)>>,
	}

	impl TowerStore for FakeStore {
		fn watched(&self) -> Result<Vec<(ChannelId, [u8; 32], ProofState)>> {
			Ok(self.proofs.borrow().clone())
		}

		fn unwatch(&self, channel_id: ChannelId) -> Result<()> {
			self.proofs.borrow_mut().retain(|(id, _, _)| *id != channel_id);
			Ok(())
		}
	}

	const OPENER: [u8; 32] = [1; 32];
	const COUNTERPARTY: [u8; 32] = [2; 32];

	fn proof(nonce: Nonce, transferred: u128) -> ProofState {
		ProofState { nonce, transferred, signature: [0; 64], locks: None }
	}

	/// Channel `id` closing with deadline 20, the chain holding `recorded` as each side's total.
	fn closing(id: ChannelId, recorded: [u128; 2]) -> ChannelView {
		let mut view = ChannelView::funded(id, [100, 100]);
		view.closing = Some((OPENER, 20));
		view.sides[0].transferred = recorded[0];
		view.sides[1].transferred = recorded[1];
		view
	}

	fn run(chain: &FakeChain, store: &FakeStore, now: u32) -> Vec<Dispute> {
		futures::executor::block_on(enforce(chain, store, now)).unwrap()
	}

	#[test]
	fn a_close_below_a_watched_proof_is_disputed_with_that_proof() {
		let mut chain = FakeChain::default();
		chain.best.insert(1, closing(1, [10, 0]));
		let store = FakeStore::default();
		store.proofs.borrow_mut().push((1, OPENER, proof(9, 60)));
		let disputes = run(&chain, &store, 12);
		assert_eq!(disputes.len(), 1);
		assert_eq!((disputes[0].nonce, disputes[0].transferred, disputes[0].fee), (9, 60, 7));
		assert_eq!(*chain.submitted.borrow(), vec![(1, OPENER, proof(9, 60))]);
	}

	#[test]
	fn nothing_is_submitted_that_would_not_raise_the_signers_total_or_comes_too_late() {
		let mut chain = FakeChain::default();
		chain.best.insert(1, closing(1, [60, 0]));
		chain.best.insert(2, closing(2, [0, 0]));
		chain.best.insert(3, ChannelView::funded(3, [100, 100]));
		let store = FakeStore::default();
		store.proofs.borrow_mut().extend([
			// The chain already has this total (a higher nonce changes nothing).
			(1, OPENER, proof(50, 60)),
			// Signed by neither participant of channel 2.
			(2, [9; 32], proof(1, 5)),
			// Channel 3 is open: nothing to dispute.
			(3, COUNTERPARTY, proof(1, 5)),
		]);
		assert!(run(&chain, &store, 12).is_empty());
		// Past the deadline the dispute is too late: the settle is what follows.
		chain.best.insert(4, closing(4, [0, 0]));
		store.proofs.borrow_mut().push((4, COUNTERPARTY, proof(1, 5)));
		assert!(run(&chain, &store, 21).is_empty());
		assert!(chain.submitted.borrow().is_empty());
		assert_eq!(store.proofs.borrow().len(), 4, "nothing forgotten");
	}

	#[test]
	fn a_failed_dispute_does_not_stop_the_others() {
		let mut chain = FakeChain::default();
		chain.best.insert(1, closing(1, [0, 0]));
		chain.refuse.insert(OPENER);
		let store = FakeStore::default();
		store
			.proofs
			.borrow_mut()
			.extend([(1, OPENER, proof(2, 30)), (1, COUNTERPARTY, proof(3, 40))]);
		let disputes = run(&chain, &store, 12);
		assert_eq!(disputes.len(), 1);
		assert_eq!(*chain.submitted.borrow(), vec![(1, COUNTERPARTY, proof(3, 40))]);
	}

	#[test]
	fn proofs_are_forgotten_only_once_the_finalized_chain_no_longer_has_the_channel() {
		let mut chain = FakeChain::default();
		let store = FakeStore::default();
		store.proofs.borrow_mut().push((5, OPENER, proof(1, 5)));
		// Gone at the best block but still there at the finalized one: kept (a reorg could
		// bring the close back).
		chain.finalized.insert(5, closing(5, [0, 0]));
		run(&chain, &store, 12);
		assert_eq!(store.proofs.borrow().len(), 1);
		chain.finalized.clear();
		run(&chain, &store, 13);
		assert!(store.proofs.borrow().is_empty());
	}
}
