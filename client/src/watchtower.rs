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
	chain::{runtime, signed_balance_proof, AtBlock, Chain},
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
		match enforce(&party, &at, block.number() as u32).await {
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

/// Disputes every close that counts less than a watched proof, as of block `at` (number
/// `now`); forgets settled channels.
pub async fn enforce(party: &Party, at: &AtBlock, now: u32) -> Result<Vec<Dispute>> {
	let mut by_channel: BTreeMap<ChannelId, Vec<([u8; 32], ProofState)>> = BTreeMap::new();
	for (channel_id, signer, proof) in party.store.watched()? {
		by_channel.entry(channel_id).or_default().push((signer, proof));
	}
	let mut disputes = Vec::new();
	for (channel_id, proofs) in by_channel {
		let Some(view) = Chain::channel_at(at, channel_id).await? else {
			// Settled (ids are never reused); a best block could still be retracted, so only
			// a finalized absence removes the proofs.
			if party.chain.channel(channel_id).await?.is_none() {
				party.store.unwatch(channel_id)?;
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
			let call = runtime::tx().payment_channels().update_balance_proof(
				channel_id,
				signed_balance_proof(party.chain.genesis_hash, channel_id, signer, &proof),
			);
			// One failed dispute (say, a newer proof got there first) must not stop the others.
			let receipt = match party.chain.submit("dispute", &call, &party.keys).await {
				Ok(receipt) => receipt,
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
				fee: receipt.fee,
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
