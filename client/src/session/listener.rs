//! The receiver's end: accepts links, makes proofs durable before acknowledging them, and
//! answers close and withdrawal requests.

use super::*;
use crate::{
	htlc::{check_proof_transition, HtlcLock, Transition},
	wire::Hop,
};

/// Where a listener hands the proofs it receives, so that a watchtower can enforce them.
pub type WatchQueue = mpsc::UnboundedSender<(ChannelId, [u8; 32], ProofState)>;

/// A lock the counterparty added in a channel, once it is durable here: for the daemon to
/// forward along `onward`, or to claim as the payee if `onward` is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingLock {
	pub channel_id: ChannelId,
	pub lock: HtlcLock,
	pub onward: Vec<Hop>,
}

/// Whether a party takes a lock to be forwarded along the hops given (or, with none, as the
/// payee); why not if it does not.
pub type Admit = std::sync::Arc<
	dyn Fn(HtlcLock, Vec<Hop>) -> futures::future::BoxFuture<'static, Result<(), String>>
		+ Send
		+ Sync,
>;

/// What a listener does with routed payments: which locks it takes and where it hands them, how
/// close to its expiry it still takes a lock, and the counter that moves whenever this party
/// learns a secret or gives up on a payment (its sessions then tell their senders).
#[derive(Clone)]
pub struct LockRules {
	pub admit: Admit,
	pub incoming: mpsc::UnboundedSender<IncomingLock>,
	/// Blocks before a lock's expiry this party needs to register its secret on chain.
	pub reveal_margin: u32,
	pub changed: tokio::sync::watch::Receiver<u64>,
}

/// The blocks a party needs, by default, to get a secret registered on chain.
pub const REVEAL_MARGIN: u32 = 10;

/// A session's inbound exposure ([`Party::inbound_exposure`]) and the block it was read at.
#[derive(Default)]
struct ExposureCache {
	at: Option<subxt::utils::H256>,
	exposure: u128,
}

/// Serves payment sessions on accepted links.
#[derive(Clone)]
pub struct Listener {
	pub party: Party,
	/// Channels with a session in progress: one at a time per channel.
	busy: Arc<Mutex<HashSet<ChannelId>>>,
	pub watch_queue: Option<WatchQueue>,
	/// Where received payments are reported.
	pub events: Option<Events>,
	/// How many payment history entries the store keeps (0: no history).
	pub history_keep: u64,
	/// The most this party locks in a channel another opens (dual funding); 0 refuses all.
	pub max_funding: u128,
	/// Routed payments: refused unless set.
	pub locks: Option<LockRules>,
}

impl Listener {
	pub fn new(party: Party, watch_queue: Option<WatchQueue>) -> Listener {
		Listener {
			party,
			busy: Default::default(),
			watch_queue,
			events: None,
			history_keep: 0,
			max_funding: 0,
			locks: None,
		}
	}

	/// Serves one connection until the peer leaves.
	pub async fn serve(&self, stream: tokio::net::TcpStream) -> Result<()> {
		let link = Link::accept(stream, &self.party.keys).await?;
		let Link { mut reader, mut writer, peer } = link;
		let (genesis_hash, channel_id) = match reader.receive_one().await? {
			Message::Hello { genesis_hash, channel_id } => (genesis_hash, channel_id),
			Message::FundingRequest {
				open_nonce,
				opener_deposit,
				amount,
				challenge_period,
				expires_at,
			} => {
				let terms = super::FundingTerms {
					open_nonce,
					opener_deposit,
					amount,
					challenge_period,
					expires_at,
				};
				return self.answer_funding(peer, terms, &mut writer).await;
			}
			_ => {
				writer.send(Message::Error("expected Hello".into())).await?;
				bail!("a peer did not start with Hello");
			}
		};
		if genesis_hash != self.party.chain.genesis_hash {
			writer.send(Message::Error("wrong chain".into())).await?;
			bail!("a peer is on another chain");
		}
		let mut ledger = match self.party.ledger(channel_id).await {
			Ok(ledger) if ledger.counterparty() == peer => ledger,
			Ok(_) => {
				writer.send(Message::Error("not your channel".into())).await?;
				bail!("a peer asked for channel {channel_id}, which it is not part of");
			}
			Err(error) => {
				writer.send(Message::Error(error.to_string())).await?;
				return Err(error);
			}
		};
		if !self.busy.lock().expect("not poisoned").insert(channel_id) {
			writer.send(Message::Error("a session on this channel is in progress".into())).await?;
			bail!("a second session on channel {channel_id} was refused");
		}
		let result = self.session(channel_id, &mut ledger, reader, &mut writer).await;
		self.busy.lock().expect("not poisoned").remove(&channel_id);
		if let Err(error) = &result {
			// Best effort: the peer may already be gone.
			let _ = writer.send(Message::Error(format!("{error:#}"))).await;
		}
		result
	}

	async fn session(
		&self,
		channel_id: ChannelId,
		ledger: &mut Ledger,
		reader: crate::wire::LinkReader,
		writer: &mut LinkWriter,
	) -> Result<()> {
		writer
			.send(Message::Welcome {
				held_from_you: ledger.record.received.clone(),
				signed_by_me: ledger.record.sent.clone(),
			})
			.await?;

		// Frames are read ahead while the previous group commits (group commit).
		let (mut frames_rx, read_task) = reader.read_ahead(1024);
		let mut exposure = ExposureCache::default();
		let mut told = HashSet::new();
		let mut changed = self.locks.as_ref().map(|rules| rules.changed.clone());
		let result = async {
			self.tell_sender(ledger, &mut told, writer).await?;
			loop {
				let notified = async {
					match changed.as_mut() {
						Some(changed) => changed.changed().await.is_ok(),
						None => std::future::pending().await,
					}
				};
				tokio::select! {
					first = frames_rx.recv() => {
						let Some(Ok(first)) = first else { return Ok(()) }; // the peer left
						let mut messages = first;
						while let Ok(Ok(more)) = frames_rx.try_recv() {
							messages.extend(more);
						}
						self.handle(channel_id, ledger, messages, &mut exposure, writer).await?;
					}
					alive = notified => {
						if !alive {
							changed = None;
						}
					}
				}
				self.tell_sender(ledger, &mut told, writer).await?;
			}
		}
		.await;
		read_task.abort();
		result
	}

	/// Tells the sender, once per session, the secret of each of its pending locks this party
	/// reveals ([`Message::Reveal`]) and each it gave up on ([`Message::Fail`]), from the store:
	/// what a session missed while it was down is told when the next one starts.
	async fn tell_sender(
		&self,
		ledger: &Ledger,
		told: &mut HashSet<[u8; 32]>,
		writer: &mut LinkWriter,
	) -> Result<()> {
		if self.locks.is_none() {
			return Ok(());
		}
		let Some(received) = &ledger.record.received else { return Ok(()) };
		let mut said = false;
		for lock in received.pending_locks() {
			if told.contains(&lock.secret_hash) {
				continue;
			}
			let Some(entry) = self.party.store.htlc(&lock.secret_hash)? else { continue };
			let message = match (entry.reveal, entry.secret, entry.failed) {
				(true, Some(secret), _) => Message::Reveal { secret },
				(false, _, Some(reason)) => Message::Fail { secret_hash: lock.secret_hash, reason },
				_ => continue,
			};
			told.insert(lock.secret_hash);
			writer.push(message).await?;
			said = true;
		}
		if said {
			writer.flush().await?;
		}
		Ok(())
	}

	async fn handle(
		&self,
		channel_id: ChannelId,
		ledger: &mut Ledger,
		messages: Vec<Message>,
		exposure: &mut ExposureCache,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let mut payments = Vec::new();
		for message in messages {
			match message {
				Message::Pay(proof) => payments.push((proof, None)),
				Message::Lock { proof, onward } => payments.push((proof, Some(onward))),
				other => {
					let group = std::mem::take(&mut payments);
					self.accept_payments(channel_id, ledger, group, exposure, writer).await?;
					self.answer(channel_id, ledger, other, writer).await?;
				}
			}
		}
		self.accept_payments(channel_id, ledger, payments, exposure, writer).await
	}

	/// Checks a group of payments, makes the newest durable and acknowledges them all.
	///
	/// The chain is read once per group, at its newest finalized block: the freeze check takes
	/// that block's number, and the inbound exposure is read again only when that block changed
	/// (rebalance requests change only in blocks), so a stream of groups within one block costs
	/// one chain round trip each instead of three.
	///
	/// The checks that depend on this party's own record run again on the stored record, in the
	/// write transaction that takes the proof ([`check_payment`]): another session of this party
	/// (its own payments in the channel, a cooperative close it signed) may have changed the
	/// record since this session read it.
	async fn accept_payments(
		&self,
		channel_id: ChannelId,
		ledger: &mut Ledger,
		group: Vec<(ProofState, Option<Vec<Hop>>)>,
		exposure_cache: &mut ExposureCache,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let Some(newest) = group.last().map(|(proof, _)| proof.clone()) else { return Ok(()) };
		let first_nonce = group[0].0.nonce;
		let refuse = |reason: String| Message::Refused { nonce: first_nonce, reason };
		let payments: Vec<ProofState> = group.iter().map(|(proof, _)| proof.clone()).collect();
		let locks_added = lock_messages(ledger.record.received.as_ref(), &group);
		let precheck = match locks_added {
			Err(reason) => Err(reason),
			Ok(true) if self.locks.is_none() => {
				Err("this party does not take routed payments".to_string())
			}
			// A party without routing still takes the payment or expiry of a lock it holds.
			Ok(_) => check_group(
				self.party.chain.genesis_hash,
				channel_id,
				&ledger.counterparty(),
				ledger.record.received.as_ref(),
				&payments,
			),
		};
		// The lock each `Lock` message adds and where it goes on.
		let onwards: Vec<(HtlcLock, Vec<Hop>)> = group
			.iter()
			.filter_map(|(proof, onward)| {
				Some((proof.pending_locks().last()?.clone(), onward.clone()?))
			})
			.collect();
		// A lock is taken only if this party can forward it (or issued its invoice).
		let mut precheck = precheck;
		if let (Ok(()), Some(rules)) = (&precheck, &self.locks) {
			for (lock, onward) in &onwards {
				if let Err(reason) = (rules.admit)(lock.clone(), onward.clone()).await {
					precheck = Err(reason);
					break;
				}
			}
		}
		if let Err(reason) = precheck {
			writer.send(refuse(reason.clone())).await?;
			bail!("channel {channel_id}: payments from nonce {first_nonce} refused: {reason}");
		}
		let at = self.party.chain.api.at_current_block().await?;
		let now = at.block_number() as u32;
		let exposure = match *exposure_cache {
			ExposureCache { at: Some(block), exposure } if block == at.block_hash() => exposure,
			_ => {
				let exposure =
					self.party.inbound_exposure_at(&at, channel_id, ledger.counterparty()).await?;
				*exposure_cache = ExposureCache { at: Some(at.block_hash()), exposure };
				exposure
			}
		};
		let mut candidate = ledger.clone();
		candidate.record.received = Some(newest.clone());
		if candidate.counterparty_available() < 0 {
			// A deposit may have landed since the session started.
			ledger.view = self.party.chain.existing_channel(channel_id).await?;
		}
		let rules = Transitions {
			now,
			reveal_margin: self.locks.as_ref().map_or(0, |rules| rules.reveal_margin),
		};
		let earned_before = ledger.earned();
		let entry = PaymentEntry {
			channel_id,
			direction: Direction::Received,
			amount: newest.transferred.saturating_sub(ledger.record.earned()),
			nonce: newest.nonce,
			transferred: newest.transferred,
			payments: payments.len() as u32,
			unix_ms: crate::events::unix_ms(),
		};
		let store = self.party.store.clone();
		let (view, me, keep) = (ledger.view.clone(), ledger.me, self.history_keep);
		// Where each lock goes on is noted in the commit that takes it.
		let noting = onwards.clone();
		let committed = tokio::task::spawn_blocking(move || {
			store.update_channel_noting_locks(
				channel_id,
				&[entry],
				keep,
				|stored| {
					let (record, transitions) =
						check_payment(view, me, stored, &payments, exposure, &rules)?;
					*stored = record;
					Ok(transitions)
				},
				|transitions| {
					taken_locks(transitions, &noting)
						.map(|(lock, onward)| {
							let note = (channel_id, lock.amount, lock.expires_at, onward);
							(lock.secret_hash, note)
						})
						.collect()
				},
			)
		})
		.await?;
		let (record, transitions) = match committed {
			Ok(committed) => committed,
			Err(error) => {
				writer.send(refuse(format!("{error:#}"))).await?;
				return Err(error
					.context(format!("channel {channel_id}: payment {} refused", newest.nonce)));
			}
		};
		ledger.record = record;
		// Each new lock was noted with where it goes in the commit that took it; the daemon
		// forwards it (or, as its payee, claims it) from here.
		let taken: Vec<IncomingLock> = taken_locks(&transitions, &onwards)
			.map(|(lock, onward)| IncomingLock { channel_id, lock, onward })
			.collect();
		if let Some(rules) = &self.locks {
			for incoming in taken {
				let _ = rules.incoming.send(incoming);
			}
		}
		// Queued for the watchtower before the acknowledgement leaves: a listener stopped right
		// after acknowledging has already queued what it acknowledged. A locked proof counts
		// only from its beneficiary, so no watchtower is handed one.
		if let Some(queue) = self.watch_queue.as_ref().filter(|_| newest.locks.is_none()) {
			let _ = queue.send((channel_id, ledger.counterparty(), newest.clone()));
		}
		writer.send(Message::Ack { nonce: newest.nonce }).await?;
		report(
			&self.events,
			Event::PaymentReceived {
				channel_id,
				amount: ledger.earned().saturating_sub(earned_before),
				nonce: newest.nonce,
				transferred: newest.transferred,
			},
		);
		Ok(())
	}

	async fn answer(
		&self,
		channel_id: ChannelId,
		ledger: &mut Ledger,
		request: Message,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let genesis = self.party.chain.genesis_hash;
		ledger.view = self.party.chain.existing_channel(channel_id).await?;
		// Another session of this party may have paid or signed since this one read the record.
		ledger.record.merge(&self.party.store.channel(channel_id)?);
		match request {
			Message::CloseRequest {
				payout_opener,
				payout_counterparty,
				version,
				nonces,
				expires_at,
				signature,
			} => {
				let now = self.party.chain.block_number().await?;
				if expires_at <= now || expires_at > now + 2 * CLOSE_SPLIT_BLOCKS {
					let reason = format!("the close expires at block {expires_at}, now is {now}");
					return writer.send(Message::Error(reason)).await;
				}
				let proposed = CloseTerms {
					payouts: [payout_opener, payout_counterparty],
					version,
					nonces,
					expires_at,
				};
				let expected = CloseTerms::of(ledger, expires_at);
				if expected != Some(proposed) {
					let reason = format!("close terms {proposed:?} differ from ours {expected:?}");
					return writer.send(Message::Error(reason)).await;
				}
				let message = proposed.payload(genesis, channel_id).signing_message();
				if !keys::verify(&ledger.counterparty(), &message, &signature) {
					return writer.send(Message::Error("invalid close signature".into())).await;
				}
				// Frozen before the signature leaves: no payment after it can be lost to it.
				ledger.record.close_signed_until = ledger.record.close_signed_until.max(expires_at);
				ledger.record = self.party.commit(channel_id, &ledger.record).await?;
				let signature = self.party.keys.sign(&message);
				writer.send(Message::CloseSigned { signature }).await
			}
			Message::WithdrawRequest { amount } => {
				let other = ledger.other();
				if amount == 0 || amount as i128 > ledger.counterparty_available() {
					let reason = format!(
						"cannot withdraw {amount}: {} is available",
						ledger.counterparty_available().max(0)
					);
					return writer.send(Message::Error(reason)).await;
				}
				let withdrawn = ledger.view.sides[other].withdrawn;
				let total_withdrawn = withdrawn + amount;
				let expires_at = self.party.chain.block_number().await? + WITHDRAW_CONSENT_BLOCKS;
				// Counted as withdrawn before the consent leaves this party.
				ledger.record.consented_withdrawal =
					ledger.record.consented_withdrawal.max(total_withdrawn);
				ledger.record = self.party.commit(channel_id, &ledger.record).await?;
				let message = withdraw_proof(
					genesis,
					channel_id,
					ledger.counterparty(),
					total_withdrawn,
					expires_at,
				)
				.signing_message();
				let signature = self.party.keys.sign(&message);
				writer
					.send(Message::WithdrawSigned { total_withdrawn, expires_at, signature })
					.await
			}
			other => {
				writer.send(Message::Error(format!("unexpected message {other:?}"))).await?;
				bail!("unexpected message in a session")
			}
		}
	}
}

/// Why a group of payments from the counterparty is refused before the chain is read or anything
/// is stored, if it is: each proof must raise the nonce and not lower the total, from the proof
/// held on, and the newest (the one made durable, which covers the rest) must carry the
/// counterparty's signature over this chain and this channel, so a proof signed for another
/// channel or chain is refused here. Pure, so each refusal is unit-tested without a node.
fn check_group(
	genesis_hash: [u8; 32],
	channel_id: ChannelId,
	counterparty: &[u8; 32],
	held: Option<&ProofState>,
	payments: &[ProofState],
) -> std::result::Result<(), String> {
	let mut previous = held.map_or((0, 0), |proof| (proof.nonce, proof.transferred));
	for proof in payments {
		if proof.nonce <= previous.0 || proof.transferred < previous.1 {
			return Err(format!(
				"nonces must increase and amounts must not fall (nonce {} total {} after nonce \
				 {} total {})",
				proof.nonce, proof.transferred, previous.0, previous.1
			));
		}
		previous = (proof.nonce, proof.transferred);
	}
	let Some(newest) = payments.last() else { return Ok(()) };
	let message = proof_message(genesis_hash, channel_id, newest);
	if !keys::verify(counterparty, &message, &newest.signature) {
		return Err("invalid signature".into());
	}
	Ok(())
}

/// The locks `transitions` added, each with where its `Lock` message said it goes on.
fn taken_locks<'a>(
	transitions: &'a [Transition],
	onwards: &'a [(HtlcLock, Vec<Hop>)],
) -> impl Iterator<Item = (HtlcLock, Vec<Hop>)> + 'a {
	transitions.iter().filter_map(move |transition| {
		let Transition::Lock(lock) = transition else { return None };
		let onward = onwards.iter().find(|(added, _)| added == lock).map(|(_, hops)| hops.clone());
		Some((lock.clone(), onward.unwrap_or_default()))
	})
}

/// Whether `group` adds locks, or why it is refused: a lock is added only by a `Lock` message,
/// which adds exactly one (it carries where the lock goes on; a `Pay` that added one would be a
/// lock nobody said what to do with).
fn lock_messages(
	held: Option<&ProofState>,
	group: &[(ProofState, Option<Vec<Hop>>)],
) -> std::result::Result<bool, String> {
	let mut pending = held.map_or(0, |proof| proof.pending_locks().len());
	let mut added = false;
	for (proof, onward) in group {
		let count = proof.pending_locks().len();
		match onward {
			Some(_) if count != pending + 1 => {
				return Err(format!("proof {} is a Lock message that adds no lock", proof.nonce))
			}
			None if count > pending => {
				return Err(format!("proof {} adds a lock outside a Lock message", proof.nonce))
			}
			Some(_) => added = true,
			None => {}
		}
		pending = count;
	}
	Ok(added)
}

/// What a receiver needs to check locked proofs: the block and its reveal margin.
struct Transitions {
	now: u32,
	reveal_margin: u32,
}

/// The record that taking `payments` (a group, newest last) from the counterparty makes of
/// `stored`, with what each locked proof changed, or why it is refused: the channel is frozen by
/// a close this party signed, a proof is not newer than the one held, a locked proof changes
/// more than one thing or drops what this party is owed ([`check_proof_transition`]), the newest
/// over-spends the payer's side (its pending locks included), or it leaves the payer less than a
/// rebalance plan may still take from it (`exposure`). Pure: it runs inside the store's write
/// transaction, on the record as stored.
fn check_payment(
	view: crate::chain::ChannelView,
	me: usize,
	stored: &ChannelRecord,
	payments: &[ProofState],
	exposure: u128,
	rules: &Transitions,
) -> Result<(ChannelRecord, Vec<Transition>)> {
	let channel_id = view.id;
	let proof = payments.last().context("no payment")?.clone();
	let mut candidate = Ledger::new(view, me, stored.clone());
	if candidate.record.counterparty == [0; 32] {
		candidate.record.counterparty = candidate.counterparty();
	}
	ensure_not_frozen(&candidate, rules.now, channel_id)?;
	if let Some(held) = &stored.received {
		ensure!(
			proof.nonce > held.nonce && proof.transferred >= held.transferred,
			"nonces must increase and amounts must not fall (held {}, offered {})",
			held.nonce,
			proof.nonce
		);
	}
	let mut transitions = Vec::new();
	let mut held = stored.received.clone();
	for offered in payments {
		if let Some(transition) =
			check_proof_transition(held.as_ref(), offered, rules.now, rules.reveal_margin)?
		{
			transitions.push(transition);
		}
		held = Some(offered.clone());
	}
	candidate.record.received = Some(proof);
	let available = candidate.counterparty_available();
	ensure!(available >= 0, "the payment exceeds the payer's balance");
	ensure!(
		available >= exposure as i128,
		"the payment would leave the payer {available} on its side, less than the {exposure} a \
		 rebalance plan may still move from it"
	);
	Ok((candidate.record, transitions))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::chain::ChannelView;

	const GENESIS: [u8; 32] = [7; 32];

	/// [`check_payment`] of one plain proof at block `now`.
	fn check_one(
		view: ChannelView,
		me: usize,
		stored: &ChannelRecord,
		proof: ProofState,
		now: u32,
		exposure: u128,
	) -> Result<ChannelRecord> {
		let rules = Transitions { now, reveal_margin: 10 };
		check_payment(view, me, stored, &[proof], exposure, &rules).map(|(record, _)| record)
	}

	fn payer() -> Keys {
		Keys::from_uri("//Bob").unwrap()
	}

	fn signed_by(
		keys: &Keys,
		channel_id: ChannelId,
		nonce: Nonce,
		transferred: u128,
	) -> ProofState {
		let mut proof = ProofState { nonce, transferred, signature: [0; 64], locks: None };
		proof.signature = keys.sign(&proof_message(GENESIS, channel_id, &proof));
		proof
	}

	fn group(nonces_and_totals: &[(Nonce, u128)]) -> Vec<ProofState> {
		nonces_and_totals
			.iter()
			.map(|&(nonce, total)| signed_by(&payer(), 3, nonce, total))
			.collect()
	}

	#[test]
	fn a_group_in_order_and_signed_by_the_counterparty_is_taken() {
		let held = signed_by(&payer(), 3, 4, 40);
		let payments = group(&[(5, 41), (6, 41), (9, 60)]);
		assert_eq!(check_group(GENESIS, 3, &payer().public(), Some(&held), &payments), Ok(()));
		assert_eq!(check_group(GENESIS, 3, &payer().public(), None, &payments), Ok(()));
	}

	#[test]
	fn a_replayed_or_out_of_order_proof_is_refused() {
		let held = signed_by(&payer(), 3, 4, 40);
		let me = payer().public();
		for (case, payments) in [
			("the held proof again", group(&[(4, 40)])),
			("an older nonce", group(&[(3, 45)])),
			("a lower total", group(&[(5, 39)])),
			("out of order inside the group", group(&[(6, 50), (5, 55)])),
			("a total that falls inside the group", group(&[(5, 50), (6, 49)])),
		] {
			let refused = check_group(GENESIS, 3, &me, Some(&held), &payments).unwrap_err();
			assert!(refused.starts_with("nonces must increase"), "{case}: {refused}");
		}
	}

	#[test]
	fn a_proof_signed_for_another_channel_or_chain_or_by_another_key_is_refused() {
		let me = payer().public();
		let other_channel = vec![signed_by(&payer(), 4, 1, 10)];
		let eve = vec![signed_by(&Keys::from_uri("//Eve").unwrap(), 3, 1, 10)];
		let mut tampered = group(&[(1, 10)]);
		tampered[0].transferred = 11;
		for (case, payments) in
			[("another channel", &other_channel), ("another key", &eve), ("tampered", &tampered)]
		{
			assert_eq!(
				check_group(GENESIS, 3, &me, None, payments),
				Err("invalid signature".into()),
				"{case}"
			);
		}
		assert_eq!(
			check_group([8; 32], 3, &me, None, &group(&[(1, 10)])),
			Err("invalid signature".into()),
			"another chain"
		);
	}

	/// The receiver's record of channel 3 (this party is the opener, side 0, with 100; the payer
	/// deposited 50) after taking payments that total `earned`.
	fn receiver(earned: Option<(Nonce, u128)>) -> (ChannelView, ChannelRecord) {
		let record = ChannelRecord {
			received: earned.map(|(nonce, total)| signed_by(&payer(), 3, nonce, total)),
			..ChannelRecord::default()
		};
		(ChannelView::funded(3, [100, 50]), record)
	}

	#[test]
	fn a_payment_within_the_payers_balance_becomes_the_record() {
		let (view, stored) = receiver(Some((4, 20)));
		let proof = signed_by(&payer(), 3, 5, 50);
		let record = check_one(view, 0, &stored, proof.clone(), 12, 0).unwrap();
		assert_eq!(record.received, Some(proof));
		assert_eq!(record.sent, stored.sent);
	}

	#[test]
	fn a_payment_over_the_payers_balance_is_refused() {
		let (view, stored) = receiver(None);
		let refused = check_one(view, 0, &stored, signed_by(&payer(), 3, 1, 51), 12, 0);
		assert_eq!(refused.unwrap_err().to_string(), "the payment exceeds the payer's balance");
	}

	#[test]
	fn a_payment_that_leaves_less_than_a_rebalance_plan_may_take_is_refused() {
		let (view, stored) = receiver(None);
		// A plan may still move 15 of the payer's 50 to this party: 35 is all it can pay.
		assert!(check_one(view.clone(), 0, &stored, signed_by(&payer(), 3, 1, 35), 12, 15).is_ok());
		let refused = check_one(view, 0, &stored, signed_by(&payer(), 3, 1, 36), 12, 15);
		assert_eq!(
			refused.unwrap_err().to_string(),
			"the payment would leave the payer 14 on its side, less than the 15 a rebalance plan \
			 may still move from it"
		);
	}

	#[test]
	fn a_payment_is_refused_while_a_signed_close_can_land_and_when_the_store_moved_on() {
		let (view, mut stored) = receiver(Some((4, 20)));
		stored.close_signed_until = 12;
		let frozen = check_one(view.clone(), 0, &stored, signed_by(&payer(), 3, 5, 30), 12, 0);
		assert!(frozen.unwrap_err().to_string().contains("can land until block 12"));
		assert!(check_one(view.clone(), 0, &stored, signed_by(&payer(), 3, 5, 30), 13, 0).is_ok());
		// Another session took nonce 6 meanwhile: this session's nonce 5 is stale in the
		// write transaction, whatever it read before.
		stored.received = Some(signed_by(&payer(), 3, 6, 30));
		let stale = check_one(view, 0, &stored, signed_by(&payer(), 3, 5, 40), 13, 0);
		assert_eq!(
			stale.unwrap_err().to_string(),
			"nonces must increase and amounts must not fall (held 6, offered 5)"
		);
	}

	fn locked_by(keys: &Keys, nonce: Nonce, transferred: u128, locks: Vec<HtlcLock>) -> ProofState {
		let state = crate::htlc::LockedState { nonce, transferred, locks };
		state.signed(keys, GENESIS, 3)
	}

	#[test]
	fn a_group_of_locked_proofs_is_checked_change_by_change() {
		let (view, stored) = receiver(Some((4, 20)));
		let lock = HtlcLock { amount: 10, expires_at: 40, secret_hash: [5; 32] };
		let rules = Transitions { now: 12, reveal_margin: 10 };
		// A lock, then a payment on top of it: both changes are taken, the lock reported.
		let locked = locked_by(&payer(), 5, 20, vec![lock.clone()]);
		let paid = locked_by(&payer(), 6, 25, vec![lock.clone()]);
		let (record, transitions) =
			check_payment(view.clone(), 0, &stored, &[locked.clone(), paid.clone()], 0, &rules)
				.unwrap();
		assert_eq!(
			transitions,
			vec![Transition::Lock(lock.clone()), Transition::Pay { amount: 5 }]
		);
		assert_eq!(record.received, Some(paid.clone()));
		// The payer's side covers what it paid and what it locked: 50 in all.
		let over = locked_by(&payer(), 5, 45, vec![HtlcLock { amount: 6, ..lock.clone() }]);
		let mut just_paid = stored.clone();
		just_paid.received = Some(signed_by(&payer(), 3, 4, 45));
		let refused = check_payment(view.clone(), 0, &just_paid, &[over], 0, &rules).unwrap_err();
		assert_eq!(refused.to_string(), "the payment exceeds the payer's balance");
		// Dropping the lock unpaid before it expires, in the middle of a group: refused, and
		// so is a plain proof after a locked one.
		let mut held = stored.clone();
		held.received = Some(paid);
		let dropped = locked_by(&payer(), 7, 25, vec![]);
		let more = locked_by(&payer(), 8, 30, vec![]);
		let refused = check_payment(view.clone(), 0, &held, &[dropped, more], 0, &rules);
		assert!(refused.unwrap_err().to_string().contains("cannot be dropped unpaid before"));
		let plain = signed_by(&payer(), 3, 7, 30);
		let refused = check_payment(view, 0, &held, &[plain], 0, &rules).unwrap_err();
		assert_eq!(refused.to_string(), "after a locked proof every proof must be locked");
	}

	#[test]
	fn a_lock_is_added_only_by_a_lock_message_and_one_at_a_time() {
		let lock = |hash: u8| HtlcLock { amount: 1, expires_at: 90, secret_hash: [hash; 32] };
		let state = |nonce: Nonce, locks: Vec<HtlcLock>| ProofState {
			nonce,
			transferred: 0,
			signature: [0; 64],
			locks: Some(locks),
		};
		let onward = Some(vec![]);
		let one = state(1, vec![lock(1)]);
		assert_eq!(lock_messages(None, &[(one.clone(), onward.clone())]), Ok(true));
		assert_eq!(lock_messages(None, &[(state(1, vec![]), None)]), Ok(false));
		let outside = lock_messages(None, &[(one.clone(), None)]).unwrap_err();
		assert_eq!(outside, "proof 1 adds a lock outside a Lock message");
		let two = state(2, vec![lock(1), lock(2)]);
		let refused = lock_messages(None, &[(two.clone(), onward.clone())]).unwrap_err();
		assert_eq!(refused, "proof 2 is a Lock message that adds no lock");
		// Paying a held lock is a Pay.
		let paid = state(2, vec![]);
		assert_eq!(lock_messages(Some(&one), &[(paid, None)]), Ok(false));
		assert_eq!(lock_messages(Some(&one), &[(two, onward)]), Ok(true));
	}
}
