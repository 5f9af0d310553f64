//! Both ends of a payment session over a [`Link`]: the payer streams balance proofs, the
//! receiver makes them durable and acknowledges them, and either side can ask the other to
//! co-sign a cooperative close or consent to a withdrawal.
//!
//! Proofs are cumulative, so a later valid proof covers every earlier payment. The receiver
//! therefore verifies the newest proof of each group it commits (checking the others' nonces and
//! amounts are ordered), makes that one durable, and acknowledges the whole group with one
//! `Ack`. A payer never needs the receiver's signature to be paid: its payment is final when its
//! proof is acknowledged.

use anyhow::{anyhow, bail, ensure, Context, Result};
use paychan_primitives::{
	ChannelId, CooperativeClose, Nonce, SignedPayload, StateVersion, WithdrawProof,
};
use serde::Serialize;
use std::{
	collections::{HashSet, VecDeque},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use tokio::sync::mpsc;

use crate::{
	chain::{AtBlock, Chain},
	events::{report, Event, Events},
	keys::{self, Keys},
	ledger::Ledger,
	store::{ChannelRecord, Direction, PaymentEntry, Store},
	wire::{Link, LinkWriter, Message, ProofState},
};

/// How long a withdrawal consent stays usable, in blocks.
pub const WITHDRAW_CONSENT_BLOCKS: u32 = 50;
/// How long a cooperative close stays usable, in blocks; the channel is frozen that long.
pub const CLOSE_SPLIT_BLOCKS: u32 = 20;
/// How long a party waits for an answer to a request.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// What a party needs to act: its key, the chain and its store.
#[derive(Clone)]
pub struct Party {
	pub keys: Keys,
	pub chain: Chain,
	pub store: Arc<Store>,
}

/// The message a balance proof signature covers: the plain or the locked payload, as the
/// proof's form says.
pub fn proof_message(genesis_hash: [u8; 32], channel_id: ChannelId, proof: &ProofState) -> Vec<u8> {
	proof.signing_message(genesis_hash, channel_id)
}

mod funding;
mod listener;
mod requests;
mod sender;

pub use funding::{check_terms, Consent, FundingTerms, FUNDING_CONSENT_BLOCKS};

pub use listener::{Admit, IncomingLock, Listener, LockRules, WatchQueue, REVEAL_MARGIN};
pub use requests::{request_close, request_withdrawal, withdraw_proof, CloseTerms};
pub use sender::{pay, PayReport};

/// Refuses to move funds in a channel while a cooperative close this party signed can land: the
/// split would not account for them.
fn ensure_not_frozen(ledger: &Ledger, now: u32, channel_id: ChannelId) -> Result<()> {
	ensure!(
		now > ledger.record.close_signed_until,
		"channel {channel_id}: a cooperative close signed for it can land until block {}; no \
		 payments until then",
		ledger.record.close_signed_until
	);
	Ok(())
}

/// Puts `offered` in `slot` if it supersedes what `slot` holds ([`ProofState::supersedes`]: a
/// higher total, never merely a higher nonce, so a peer cannot displace the proof of what it
/// paid with one of its own over less); it must then carry `signer`'s signature. Returns
/// whether it was taken.
///
/// A proof of the peer's own in locked form is never taken this way (`own_proofs` false): what
/// a locked proof entitles its receiver to depends on each change before it, which only a
/// session checks ([`crate::htlc::check_transition`]). This party's own proofs it signed are
/// taken in either form: the peer holding one means it was sent.
fn adopt_newer(
	slot: &mut Option<ProofState>,
	offered: Option<ProofState>,
	signer: &[u8; 32],
	genesis_hash: [u8; 32],
	channel_id: ChannelId,
	own_proofs: bool,
) -> Result<bool> {
	let Some(offered) = offered else { return Ok(false) };
	let locked = offered.locks.is_some() || slot.as_ref().is_some_and(|held| held.locks.is_some());
	if locked && !own_proofs {
		return Ok(false);
	}
	if slot.as_ref().is_some_and(|held| !offered.supersedes(held)) {
		return Ok(false);
	}
	let message = proof_message(genesis_hash, channel_id, &offered);
	ensure!(keys::verify(signer, &message, &offered.signature), "invalid signature");
	*slot = Some(offered);
	Ok(true)
}

/// What `entries` (a request's) pledge to send from `channel_id`.
pub fn pledged_in(entries: &[crate::chain::RequestEntryView], channel_id: ChannelId) -> u128 {
	entries.iter().filter(|entry| entry.channel_id == channel_id).map(|entry| entry.max_send).sum()
}

impl Party {
	/// This party's ledger of `channel_id`, read from the chain and the store.
	pub async fn ledger(&self, channel_id: ChannelId) -> Result<Ledger> {
		self.ledger_of(self.chain.existing_channel(channel_id).await?).await
	}

	/// This party's ledger of the channel `view` shows, the view already read from the chain.
	pub async fn ledger_of(&self, view: crate::chain::ChannelView) -> Result<Ledger> {
		let channel_id = view.id;
		let me = view
			.side_of(&self.keys.public())
			.ok_or_else(|| anyhow!("this key is not a participant of channel {channel_id}"))?;
		let mut record = self.store.channel(channel_id)?;
		record.bind_to(channel_id, self.chain.block_hash(view.opened_at).await?)?;
		if record.counterparty == [0; 32] {
			record.counterparty = view.participants[1 - me];
		}
		Ok(Ledger::new(view, me, record))
	}

	/// The entries of this party's open rebalance request (none without one); each entry's
	/// `max_send` is what it pledged from that channel.
	pub async fn request_entries(&self) -> Result<Vec<crate::chain::RequestEntryView>> {
		let me = self.keys.account();
		Ok(self
			.chain
			.open_requests()
			.await?
			.into_iter()
			.filter(|(who, _)| *who == me)
			.flat_map(|(_, request)| request.entries.0)
			.collect())
	}

	/// What this party pledged (`max_send` of its open rebalance request) in `channel_id`.
	pub async fn pledged(&self, channel_id: ChannelId) -> Result<u128> {
		Ok(pledged_in(&self.request_entries().await?, channel_id))
	}

	/// What a rebalance plan may still move from the counterparty's side to this party's in
	/// `channel_id`: the smaller of its remaining `max_send` and this party's remaining
	/// `max_receive`. The plan takes it from the counterparty's side on chain whatever it paid off
	/// chain meanwhile, so this party accepts no payment that leaves the counterparty less.
	pub async fn inbound_exposure(
		&self,
		channel_id: ChannelId,
		counterparty: [u8; 32],
	) -> Result<u128> {
		let at = self.chain.api.at_current_block().await?;
		self.inbound_exposure_at(&at, channel_id, counterparty).await
	}

	/// [`Party::inbound_exposure`] as of block `at`.
	pub async fn inbound_exposure_at(
		&self,
		at: &AtBlock,
		channel_id: ChannelId,
		counterparty: [u8; 32],
	) -> Result<u128> {
		let entry_of = |request: Option<crate::chain::RequestView>| {
			request.and_then(|request| {
				request.entries.0.into_iter().find(|entry| entry.channel_id == channel_id)
			})
		};
		let Some(mine) = entry_of(Chain::request_at(at, &self.keys.account()).await?) else {
			return Ok(0);
		};
		if mine.max_receive == 0 {
			return Ok(0);
		}
		let theirs =
			entry_of(Chain::request_at(at, &subxt::utils::AccountId32(counterparty)).await?);
		Ok(theirs.map_or(0, |entry| entry.max_send.min(mine.max_receive)))
	}

	/// Merges `record` into the stored record of `channel_id` ([`Store::merge_channel`]) and
	/// returns the merged record once it is durable: another session of the same channel (this
	/// party paying while it is paid) may have committed in between, and loses nothing.
	pub async fn commit(
		&self,
		channel_id: ChannelId,
		record: &ChannelRecord,
	) -> Result<ChannelRecord> {
		let store = self.store.clone();
		let record = record.clone();
		tokio::task::spawn_blocking(move || store.merge_channel(channel_id, &record)).await?
	}

	/// Opens a session on `channel_id` with the counterparty listening at `address` and brings
	/// both sides' newest proofs into this party's store.
	pub async fn connect(&self, channel_id: ChannelId, address: &str) -> Result<(Link, Ledger)> {
		let mut ledger = self.ledger(channel_id).await?;
		ensure!(ledger.view.closing.is_none(), "channel {channel_id} is closing");
		let mut link = Link::connect(address, &self.keys, Some(ledger.counterparty())).await?;
		link.writer
			.send(Message::Hello { genesis_hash: self.chain.genesis_hash, channel_id })
			.await?;
		let (held_from_you, signed_by_me) = match link.reader.receive_one().await? {
			Message::Welcome { held_from_you, signed_by_me } => (held_from_you, signed_by_me),
			Message::Error(reason) => bail!("the peer refused the session: {reason}"),
			other => bail!("the peer did not welcome the session: {other:?}"),
		};
		let genesis = self.chain.genesis_hash;
		let counterparty = ledger.counterparty();
		// The peer may hold payments of ours whose acknowledgement this party never saw.
		let adopted_sent = adopt_newer(
			&mut ledger.record.sent,
			held_from_you,
			&self.keys.public(),
			genesis,
			channel_id,
			true,
		)
		.context("the peer claims a proof of ours that we never signed")?;
		let adopted_received = adopt_newer(
			&mut ledger.record.received,
			signed_by_me,
			&counterparty,
			genesis,
			channel_id,
			false,
		)
		.context("the peer's newest proof has an invalid signature")?;
		let changed = adopted_sent || adopted_received;
		if changed {
			ledger.record = self.commit(channel_id, &ledger.record).await?;
		}
		Ok((link, ledger))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::chain::ChannelView;
	use crate::store::ChannelRecord;

	#[test]
	fn a_party_that_signed_a_close_moves_no_funds_until_it_expires() {
		let view = ChannelView::funded(1, [100, 0]);
		let record = ChannelRecord { close_signed_until: 40, ..ChannelRecord::default() };
		let ledger = Ledger::new(view, 0, record);
		assert!(ensure_not_frozen(&ledger, 40, 1).is_err());
		assert!(ensure_not_frozen(&ledger, 41, 1).is_ok());
	}

	fn signed(keys: &Keys, nonce: u64, transferred: u128) -> ProofState {
		let mut proof = ProofState { nonce, transferred, signature: [0; 64], locks: None };
		proof.signature = keys.sign(&proof_message([7; 32], 2, &proof));
		proof
	}

	#[test]
	fn a_welcome_cannot_displace_the_proof_of_what_the_peer_paid() {
		let peer = Keys::from_uri("//Bob").unwrap();
		let held = signed(&peer, 7, 45);
		let mut slot = Some(held.clone());
		// The peer's own, validly signed proof of a higher nonce over less.
		let planted = signed(&peer, u64::MAX, 0);
		let taken =
			adopt_newer(&mut slot, Some(planted), &peer.public(), [7; 32], 2, false).unwrap();
		assert!(!taken);
		assert_eq!(slot, Some(held.clone()), "the proof of 45 stays");
		// A proof over more is the peer's to give, and taken.
		let more = signed(&peer, 8, 50);
		assert!(
			adopt_newer(&mut slot, Some(more.clone()), &peer.public(), [7; 32], 2, false).unwrap()
		);
		assert_eq!(slot, Some(more));
		// Over more but signed by someone else: refused with the error, the slot unchanged.
		let forged = signed(&Keys::from_uri("//Eve").unwrap(), 9, 60);
		let mut slot = Some(held.clone());
		let refused =
			adopt_newer(&mut slot, Some(forged), &peer.public(), [7; 32], 2, false).unwrap_err();
		assert_eq!(refused.to_string(), "invalid signature");
		assert_eq!(slot, Some(held));
	}

	#[test]
	fn a_welcome_never_adopts_the_peers_own_locked_proof_but_takes_back_ours() {
		let peer = Keys::from_uri("//Bob").unwrap();
		let me = Keys::from_uri("//Alice").unwrap();
		let held = signed(&peer, 7, 45);
		let lock = crate::htlc::HtlcLock { amount: 1, expires_at: 9, secret_hash: [1; 32] };
		let state = crate::htlc::LockedState { nonce: 8, transferred: 50, locks: vec![lock] };
		// The peer's own locked proof: what it entitles this party to needs each change checked.
		let theirs = state.signed(&peer, [7; 32], 2);
		let mut slot = Some(held.clone());
		assert!(!adopt_newer(&mut slot, Some(theirs), &peer.public(), [7; 32], 2, false).unwrap());
		assert_eq!(slot, Some(held));
		// This party's own locked proof the peer holds: it was sent, so it is taken.
		let ours = state.signed(&me, [7; 32], 2);
		let mut slot = Some(signed(&me, 7, 45));
		assert!(adopt_newer(&mut slot, Some(ours.clone()), &me.public(), [7; 32], 2, true).unwrap());
		assert_eq!(slot, Some(ours));
	}
}
