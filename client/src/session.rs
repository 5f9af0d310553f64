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
use paychan_primitives::{BalanceProof, CooperativeClose, SignedPayload, WithdrawProof};
use serde::Serialize;
use std::{
	collections::{HashSet, VecDeque},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use tokio::sync::mpsc;

use crate::{
	chain::Chain,
	keys::{self, Keys},
	ledger::Ledger,
	store::{ChannelRecord, Store},
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

/// The message a balance proof signature covers.
pub fn proof_message(genesis_hash: [u8; 32], channel_id: u64, proof: &ProofState) -> Vec<u8> {
	BalanceProof { genesis_hash, channel_id, nonce: proof.nonce, transferred: proof.transferred }
		.signing_message()
}

/// A cooperative close's terms: the split, and the channel state and expiry it is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseTerms {
	/// `[opener, counterparty]`.
	pub payouts: [u128; 2],
	/// The channel's state version on chain.
	pub version: u64,
	/// The nonces of both sides' newest proofs the split accounts for, `[opener, counterparty]`.
	pub nonces: [u64; 2],
	/// The last block it may land in.
	pub expires_at: u32,
}

impl CloseTerms {
	/// The terms this party would sign now for the channel `ledger` describes, or `None` if a
	/// balance is negative (the proofs over-spend, which honest parties never sign).
	pub fn of(ledger: &Ledger, expires_at: u32) -> Option<CloseTerms> {
		let mut nonces = [0u64; 2];
		let held = [&ledger.record.sent, &ledger.record.received];
		for (side, proof) in [(ledger.me, held[0]), (ledger.other(), held[1])] {
			let ours = proof.as_ref().map_or(0, |proof| proof.nonce);
			nonces[side] = ours.max(ledger.view.sides[side].nonce);
		}
		Some(CloseTerms {
			payouts: ledger.payouts()?,
			version: ledger.view.version,
			nonces,
			expires_at,
		})
	}

	/// What both participants sign.
	pub fn payload(
		&self,
		genesis_hash: [u8; 32],
		channel_id: u64,
	) -> CooperativeClose<[u8; 32], u128, u32> {
		CooperativeClose {
			genesis_hash,
			channel_id,
			version: self.version,
			nonces: self.nonces,
			payout_opener: self.payouts[0],
			payout_counterparty: self.payouts[1],
			expires_at: self.expires_at,
		}
	}
}

/// Refuses to move funds in a channel while a cooperative close this party signed can land: the
/// split would not account for them.
fn ensure_not_frozen(ledger: &Ledger, now: u32, channel_id: u64) -> Result<()> {
	ensure!(
		now > ledger.record.close_signed_until,
		"channel {channel_id}: a cooperative close signed for it can land until block {}; no \
		 payments until then",
		ledger.record.close_signed_until
	);
	Ok(())
}

fn withdraw_message(
	genesis_hash: [u8; 32],
	channel_id: u64,
	participant: [u8; 32],
	total_withdrawn: u128,
	expires_at: u32,
) -> Vec<u8> {
	WithdrawProof { genesis_hash, channel_id, participant, total_withdrawn, expires_at }
		.signing_message()
}

/// Puts `offered` in `slot` if it is newer than what `slot` holds; it must then carry `signer`'s
/// signature. Returns whether it was taken.
fn adopt_newer(
	slot: &mut Option<ProofState>,
	offered: Option<ProofState>,
	signer: &[u8; 32],
	genesis_hash: [u8; 32],
	channel_id: u64,
) -> Result<bool> {
	let Some(offered) = offered else { return Ok(false) };
	if slot.as_ref().is_some_and(|held| held.nonce >= offered.nonce) {
		return Ok(false);
	}
	let message = proof_message(genesis_hash, channel_id, &offered);
	ensure!(keys::verify(signer, &message, &offered.signature), "invalid signature");
	*slot = Some(offered);
	Ok(true)
}

impl Party {
	/// This party's ledger of `channel_id`, read from the chain and the store.
	pub async fn ledger(&self, channel_id: u64) -> Result<Ledger> {
		let view = self.chain.existing_channel(channel_id).await?;
		let me = view
			.side_of(&self.keys.public())
			.ok_or_else(|| anyhow!("this key is not a participant of channel {channel_id}"))?;
		let mut record = self.store.channel(channel_id)?;
		record.bind_to(channel_id, self.chain.block_hash(view.opened_at).await?)?;
		Ok(Ledger::new(view, me, record))
	}

	/// What this party pledged (`max_send` of its open rebalance request) in `channel_id`.
	pub async fn pledged(&self, channel_id: u64) -> Result<u128> {
		let me = self.keys.account();
		Ok(self
			.chain
			.open_requests()
			.await?
			.into_iter()
			.filter(|(who, _)| *who == me)
			.flat_map(|(_, request)| request.entries.0)
			.filter(|entry| entry.channel_id == channel_id)
			.map(|entry| entry.max_send)
			.sum())
	}

	/// What a rebalance plan may still move from the counterparty's side to this party's in
	/// `channel_id`: the smaller of its remaining `max_send` and this party's remaining
	/// `max_receive`. The plan takes it from the counterparty's side on chain whatever it paid off
	/// chain meanwhile, so this party accepts no payment that leaves the counterparty less.
	pub async fn inbound_exposure(&self, channel_id: u64, counterparty: [u8; 32]) -> Result<u128> {
		let at = self.chain.api.at_current_block().await?;
		let entry_of = |request: Option<crate::chain::RequestView>| {
			request.and_then(|request| {
				request.entries.0.into_iter().find(|entry| entry.channel_id == channel_id)
			})
		};
		let Some(mine) = entry_of(Chain::request_at(&at, &self.keys.account()).await?) else {
			return Ok(0);
		};
		if mine.max_receive == 0 {
			return Ok(0);
		}
		let theirs =
			entry_of(Chain::request_at(&at, &subxt::utils::AccountId32(counterparty)).await?);
		Ok(theirs.map_or(0, |entry| entry.max_send.min(mine.max_receive)))
	}

	async fn commit(&self, channel_id: u64, record: &ChannelRecord) -> Result<()> {
		let store = self.store.clone();
		let record = record.clone();
		tokio::task::spawn_blocking(move || store.put_channel(channel_id, &record)).await?
	}

	/// Opens a session on `channel_id` with the counterparty listening at `address` and brings
	/// both sides' newest proofs into this party's store.
	pub async fn connect(&self, channel_id: u64, address: &str) -> Result<(Link, Ledger)> {
		let mut ledger = self.ledger(channel_id).await?;
		ensure!(ledger.view.closing.is_none(), "channel {channel_id} is closing");
		let mut link = Link::connect(address, &self.keys, Some(ledger.counterparty())).await?;
		link.writer
			.send(Message::Hello { genesis_hash: self.chain.genesis_hash, channel_id })
			.await?;
		let Message::Welcome { held_from_you, signed_by_me } = link.reader.receive_one().await?
		else {
			bail!("the peer did not welcome the session");
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
		)
		.context("the peer claims a proof of ours that we never signed")?;
		let adopted_received = adopt_newer(
			&mut ledger.record.received,
			signed_by_me,
			&counterparty,
			genesis,
			channel_id,
		)
		.context("the peer's newest proof has an invalid signature")?;
		let changed = adopted_sent || adopted_received;
		if changed {
			self.commit(channel_id, &ledger.record).await?;
		}
		Ok((link, ledger))
	}
}

/// What a payment stream achieved.
#[derive(Debug, Default, Serialize)]
pub struct PayReport {
	pub channel_id: u64,
	/// Payments the receiver acknowledged (durable there).
	pub acknowledged: u64,
	/// The nonce of the newest acknowledged proof.
	pub acknowledged_nonce: u64,
	/// Everything this party has paid in the channel, by its newest acknowledged proof.
	#[serde(serialize_with = "crate::amount::as_string")]
	pub paid_total: u128,
	/// What this run paid: the acknowledged payments of this stream.
	#[serde(serialize_with = "crate::amount::as_string")]
	pub paid_this_run: u128,
	pub seconds: f64,
	pub payments_per_second: f64,
	/// Acknowledgement latency, from signing a payment to its acknowledgement, in microseconds.
	pub latency_p50_us: u64,
	pub latency_p99_us: u64,
	/// Why the stream stopped early, if it did.
	pub error: Option<String>,
}

/// Streams `count` payments of `amount` with at most `window` unacknowledged at a time.
pub async fn pay(
	party: &Party,
	channel_id: u64,
	address: &str,
	amount: u128,
	count: u64,
	window: u64,
) -> Result<PayReport> {
	ensure!(amount > 0, "the amount must be positive");
	ensure!(count > 0 && window > 0, "count and window must be positive");
	let (link, mut ledger) = party.connect(channel_id, address).await?;
	ensure_not_frozen(&ledger, party.chain.block_number().await?, channel_id)?;
	let pledged = party.pledged(channel_id).await?;
	let total = amount.checked_mul(count as u128).context("the payments overflow")?;
	let spendable = ledger.spendable(pledged);
	ensure!(
		total as i128 <= spendable,
		"channel {channel_id}: {count} payments of {amount} need {total}, only {} is spendable{}",
		spendable.max(0),
		if pledged > 0 { format!(" ({pledged} is pledged to rebalancing)") } else { String::new() }
	);

	let genesis = party.chain.genesis_hash;
	let Link { mut reader, mut writer, .. } = link;
	let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<Result<u64>>();
	let ack_task = tokio::spawn(async move {
		loop {
			let messages = match reader.receive().await {
				Ok(messages) => messages,
				Err(error) => {
					let _ = ack_tx.send(Err(error));
					return;
				}
			};
			for message in messages {
				let item = match message {
					Message::Ack { nonce } => Ok(nonce),
					Message::Refused { nonce, reason } => {
						Err(anyhow!("the receiver refused payment {nonce}: {reason}"))
					}
					Message::Error(reason) => Err(anyhow!("the receiver failed: {reason}")),
					other => Err(anyhow!("unexpected message during payments: {other:?}")),
				};
				let stop = item.is_err();
				if ack_tx.send(item).is_err() || stop {
					return;
				}
			}
		}
	});

	let start_nonce = ledger.record.sent.as_ref().map_or(0, |p| p.nonce);
	let mut transferred = ledger.paid();
	let paid_before = transferred;
	let mut in_flight: VecDeque<(ProofState, Instant)> = VecDeque::new();
	let mut latencies = Vec::with_capacity(count as usize);
	let mut acked = start_nonce;
	let mut next_nonce = start_nonce;
	let last_nonce = start_nonce + count;
	let started = Instant::now();
	let mut error = None;

	'stream: while acked < last_nonce {
		// Sign and queue as many as the window allows, flushing in groups.
		while next_nonce < last_nonce && next_nonce - acked < window {
			next_nonce += 1;
			transferred += amount;
			let mut proof = ProofState { nonce: next_nonce, transferred, signature: [0; 64] };
			proof.signature = party.keys.sign(&proof_message(genesis, channel_id, &proof));
			in_flight.push_back((proof.clone(), Instant::now()));
			if let Err(e) = writer.push(Message::Pay(proof)).await {
				error = Some(e.to_string());
				break 'stream;
			}
			if next_nonce % 64 == 0 {
				if let Err(e) = writer.flush().await {
					error = Some(e.to_string());
					break 'stream;
				}
			}
		}
		if let Err(e) = writer.flush().await {
			error = Some(e.to_string());
			break;
		}
		// Wait for at least one acknowledgement, then take every one that arrived.
		let Some(first) = ack_rx.recv().await else { break };
		let mut batch = vec![first];
		while let Ok(more) = ack_rx.try_recv() {
			batch.push(more);
		}
		let mut newest = None;
		for item in batch {
			match item {
				Ok(nonce) => newest = Some(nonce),
				Err(e) => {
					error = Some(e.to_string());
				}
			}
		}
		if let Some(nonce) = newest {
			if nonce < acked || nonce > next_nonce {
				error = Some(format!("the receiver acknowledged nonce {nonce}, never sent"));
				break;
			}
			let now = Instant::now();
			while in_flight.front().is_some_and(|(proof, _)| proof.nonce <= nonce) {
				let (proof, sent_at) = in_flight.pop_front().expect("checked above");
				latencies.push(now.duration_since(sent_at).as_micros() as u64);
				ledger.record.sent = Some(proof);
			}
			acked = nonce;
			party.commit(channel_id, &ledger.record).await?;
		}
		if error.is_some() {
			break;
		}
	}
	ack_task.abort();
	let seconds = started.elapsed().as_secs_f64();
	latencies.sort_unstable();
	let percentile = |p: usize| {
		latencies
			.get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
			.copied()
			.unwrap_or(0)
	};
	Ok(PayReport {
		channel_id,
		acknowledged: acked - start_nonce,
		acknowledged_nonce: acked,
		paid_total: ledger.record.paid(),
		paid_this_run: ledger.record.paid().saturating_sub(paid_before),
		seconds,
		payments_per_second: (acked - start_nonce) as f64 / seconds.max(1e-9),
		latency_p50_us: percentile(50),
		latency_p99_us: percentile(99),
		error,
	})
}

/// Asks the counterparty to co-sign a cooperative close of `channel_id`. Returns the terms and
/// both signatures `[opener, counterparty]`. From the moment it signs, this party neither pays
/// nor accepts payments in the channel until the terms expire.
pub async fn request_close(
	party: &Party,
	channel_id: u64,
	address: &str,
) -> Result<(CloseTerms, [[u8; 64]; 2])> {
	let (mut link, mut ledger) = party.connect(channel_id, address).await?;
	let expires_at = party.chain.block_number().await? + CLOSE_SPLIT_BLOCKS;
	let terms =
		CloseTerms::of(&ledger, expires_at).context("the channel's proofs over-spend a side")?;
	let message = terms.payload(party.chain.genesis_hash, channel_id).signing_message();
	ledger.record.close_signed_until = ledger.record.close_signed_until.max(expires_at);
	party.commit(channel_id, &ledger.record).await?;
	let signature = party.keys.sign(&message);
	link.writer
		.send(Message::CloseRequest {
			payout_opener: terms.payouts[0],
			payout_counterparty: terms.payouts[1],
			version: terms.version,
			nonces: terms.nonces,
			expires_at,
			signature,
		})
		.await?;
	let answer = tokio::time::timeout(ANSWER_TIMEOUT, link.reader.receive_one())
		.await
		.context("the counterparty did not answer the close request")??;
	let their_signature = match answer {
		Message::CloseSigned { signature } => signature,
		Message::Error(reason) => bail!("the counterparty refused to close: {reason}"),
		other => bail!("unexpected answer to a close request: {other:?}"),
	};
	ensure!(
		keys::verify(&ledger.counterparty(), &message, &their_signature),
		"the counterparty's close signature is invalid"
	);
	let mut signatures = [[0u8; 64]; 2];
	signatures[ledger.me] = signature;
	signatures[ledger.other()] = their_signature;
	Ok((terms, signatures))
}

/// A counterparty's consent to withdraw: `(total_withdrawn, expires_at, signature)`.
pub async fn request_withdrawal(
	party: &Party,
	channel_id: u64,
	address: &str,
	amount: u128,
) -> Result<(u128, u32, [u8; 64])> {
	let (mut link, ledger) = party.connect(channel_id, address).await?;
	let pledged = party.pledged(channel_id).await?;
	ensure!(
		amount as i128 <= ledger.spendable(pledged),
		"channel {channel_id}: only {} can be withdrawn",
		ledger.spendable(pledged).max(0)
	);
	link.writer.send(Message::WithdrawRequest { amount }).await?;
	let answer = tokio::time::timeout(ANSWER_TIMEOUT, link.reader.receive_one())
		.await
		.context("the counterparty did not answer the withdrawal request")??;
	match answer {
		Message::WithdrawSigned { total_withdrawn, expires_at, signature } => {
			let message = withdraw_message(
				party.chain.genesis_hash,
				channel_id,
				party.keys.public(),
				total_withdrawn,
				expires_at,
			);
			ensure!(
				keys::verify(&ledger.counterparty(), &message, &signature),
				"the counterparty's withdrawal consent has an invalid signature"
			);
			ensure!(
				total_withdrawn == ledger.view.sides[ledger.me].withdrawn + amount,
				"the counterparty consented to a different amount"
			);
			Ok((total_withdrawn, expires_at, signature))
		}
		Message::Error(reason) => bail!("the counterparty refused the withdrawal: {reason}"),
		other => bail!("unexpected answer to a withdrawal request: {other:?}"),
	}
}

/// Where a listener hands the proofs it receives, so that a watchtower can enforce them.
pub type WatchQueue = mpsc::UnboundedSender<(u64, [u8; 32], ProofState)>;

/// Serves payment sessions on accepted links.
#[derive(Clone)]
pub struct Listener {
	pub party: Party,
	/// Channels with a session in progress: one at a time per channel.
	busy: Arc<Mutex<HashSet<u64>>>,
	pub watch_queue: Option<WatchQueue>,
}

impl Listener {
	pub fn new(party: Party, watch_queue: Option<WatchQueue>) -> Listener {
		Listener { party, busy: Default::default(), watch_queue }
	}

	/// Serves one connection until the peer leaves.
	pub async fn serve(&self, stream: tokio::net::TcpStream) -> Result<()> {
		let link = Link::accept(stream, &self.party.keys).await?;
		let Link { mut reader, mut writer, peer } = link;
		let Message::Hello { genesis_hash, channel_id } = reader.receive_one().await? else {
			writer.send(Message::Error("expected Hello".into())).await?;
			bail!("a peer did not start with Hello");
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
		channel_id: u64,
		ledger: &mut Ledger,
		mut reader: crate::wire::LinkReader,
		writer: &mut LinkWriter,
	) -> Result<()> {
		writer
			.send(Message::Welcome {
				held_from_you: ledger.record.received.clone(),
				signed_by_me: ledger.record.sent.clone(),
			})
			.await?;

		// Frames are read ahead while the previous group commits (group commit).
		let (frames_tx, mut frames_rx) = mpsc::channel::<Result<Vec<Message>>>(1024);
		let read_task = tokio::spawn(async move {
			loop {
				let frame = reader.receive().await;
				let end = frame.is_err();
				if frames_tx.send(frame).await.is_err() || end {
					return;
				}
			}
		});
		let result = async {
			while let Some(first) = frames_rx.recv().await {
				let Ok(first) = first else { return Ok(()) }; // the peer left
				let mut messages = first;
				while let Ok(Ok(more)) = frames_rx.try_recv() {
					messages.extend(more);
				}
				self.handle(channel_id, ledger, messages, writer).await?;
			}
			Ok(())
		}
		.await;
		read_task.abort();
		result
	}

	async fn handle(
		&self,
		channel_id: u64,
		ledger: &mut Ledger,
		messages: Vec<Message>,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let mut payments = Vec::new();
		for message in messages {
			match message {
				Message::Pay(proof) => payments.push(proof),
				other => {
					self.accept_payments(channel_id, ledger, std::mem::take(&mut payments), writer)
						.await?;
					self.answer(channel_id, ledger, other, writer).await?;
				}
			}
		}
		self.accept_payments(channel_id, ledger, payments, writer).await
	}

	/// Checks a group of payments, makes the newest durable and acknowledges them all.
	async fn accept_payments(
		&self,
		channel_id: u64,
		ledger: &mut Ledger,
		payments: Vec<ProofState>,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let Some(newest) = payments.last().cloned() else { return Ok(()) };
		let refuse = |reason: String| Message::Refused { nonce: payments[0].nonce, reason };
		if let Err(error) =
			ensure_not_frozen(ledger, self.party.chain.block_number().await?, channel_id)
		{
			writer.send(refuse(format!("{error:#}"))).await?;
			return Err(error);
		}
		let mut previous =
			ledger.record.received.clone().map_or((0, 0), |p| (p.nonce, p.transferred));
		for proof in &payments {
			if proof.nonce <= previous.0 || proof.transferred < previous.1 {
				writer
					.send(refuse("nonces must increase and amounts must not fall".into()))
					.await?;
				bail!("channel {channel_id}: out-of-order payment {}", proof.nonce);
			}
			previous = (proof.nonce, proof.transferred);
		}
		let message = proof_message(self.party.chain.genesis_hash, channel_id, &newest);
		if !keys::verify(&ledger.counterparty(), &message, &newest.signature) {
			writer.send(refuse("invalid signature".into())).await?;
			bail!("channel {channel_id}: invalid payment signature");
		}
		let mut candidate = ledger.clone();
		candidate.record.received = Some(newest.clone());
		if candidate.counterparty_available() < 0 {
			// A deposit may have landed since the session started.
			candidate.view = self.party.chain.existing_channel(channel_id).await?;
			if candidate.counterparty_available() < 0 {
				writer.send(refuse("the payment exceeds the payer's balance".into())).await?;
				bail!("channel {channel_id}: over-spending payment {}", newest.nonce);
			}
		}
		let exposure = self.party.inbound_exposure(channel_id, ledger.counterparty()).await?;
		if candidate.counterparty_available() < exposure as i128 {
			let reason = format!(
				"the payment would leave the payer {} on its side, less than the {exposure} a \
				 rebalance plan may still move from it",
				candidate.counterparty_available().max(0)
			);
			writer.send(refuse(reason.clone())).await?;
			bail!("channel {channel_id}: {reason}");
		}
		self.party.commit(channel_id, &candidate.record).await?;
		*ledger = candidate;
		// Queued for the watchtower before the acknowledgement leaves: a listener stopped right
		// after acknowledging has already queued what it acknowledged.
		if let Some(queue) = &self.watch_queue {
			let _ = queue.send((channel_id, ledger.counterparty(), newest.clone()));
		}
		writer.send(Message::Ack { nonce: newest.nonce }).await?;
		Ok(())
	}

	async fn answer(
		&self,
		channel_id: u64,
		ledger: &mut Ledger,
		request: Message,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let genesis = self.party.chain.genesis_hash;
		ledger.view = self.party.chain.existing_channel(channel_id).await?;
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
				self.party.commit(channel_id, &ledger.record).await?;
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
				self.party.commit(channel_id, &ledger.record).await?;
				let message = withdraw_message(
					genesis,
					channel_id,
					ledger.counterparty(),
					total_withdrawn,
					expires_at,
				);
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

#[cfg(test)]
mod tests {
	use super::*;
	use crate::chain::{ChannelView, SideView};
	use crate::store::ChannelRecord;

	fn proof(nonce: u64, transferred: u128) -> Option<ProofState> {
		Some(ProofState { nonce, transferred, signature: [0; 64] })
	}

	#[test]
	fn close_terms_name_the_chain_version_and_the_newest_nonces_either_side_knows() {
		let mut view = ChannelView {
			id: 1,
			participants: [[1; 32], [2; 32]],
			sides: [100, 50].map(|deposited| SideView { deposited, ..SideView::default() }),
			challenge_period: 10,
			closing: None,
			version: 3,
			opened_at: 0,
		};
		// The chain recorded a proof of the counterparty's with nonce 5 (and total 10).
		view.sides[1].nonce = 5;
		view.sides[1].transferred = 10;
		let record =
			ChannelRecord { sent: proof(7, 30), received: proof(4, 8), ..ChannelRecord::default() };
		let ledger = Ledger::new(view, 0, record);
		let terms = CloseTerms::of(&ledger, 40).unwrap();
		assert_eq!(
			terms,
			CloseTerms { payouts: [80, 70], version: 3, nonces: [7, 5], expires_at: 40 }
		);
		let payload = terms.payload([9; 32], 1);
		assert_eq!((payload.version, payload.nonces, payload.expires_at), (3, [7, 5], 40));
	}

	#[test]
	fn a_party_that_signed_a_close_moves_no_funds_until_it_expires() {
		let view = ChannelView {
			id: 1,
			participants: [[1; 32], [2; 32]],
			sides: [100, 0].map(|deposited| SideView { deposited, ..SideView::default() }),
			challenge_period: 10,
			closing: None,
			version: 0,
			opened_at: 0,
		};
		let record = ChannelRecord { close_signed_until: 40, ..ChannelRecord::default() };
		let ledger = Ledger::new(view, 0, record);
		assert!(ensure_not_frozen(&ledger, 40, 1).is_err());
		assert!(ensure_not_frozen(&ledger, 41, 1).is_ok());
	}
}
