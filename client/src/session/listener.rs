//! The receiver's end: accepts links, makes proofs durable before acknowledging them, and
//! answers close and withdrawal requests.

use super::*;

/// Where a listener hands the proofs it receives, so that a watchtower can enforce them.
pub type WatchQueue = mpsc::UnboundedSender<(ChannelId, [u8; 32], ProofState)>;

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
		let result = async {
			while let Some(first) = frames_rx.recv().await {
				let Ok(first) = first else { return Ok(()) }; // the peer left
				let mut messages = first;
				while let Ok(Ok(more)) = frames_rx.try_recv() {
					messages.extend(more);
				}
				self.handle(channel_id, ledger, messages, &mut exposure, writer).await?;
			}
			Ok(())
		}
		.await;
		read_task.abort();
		result
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
				Message::Pay(proof) => payments.push(proof),
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
		payments: Vec<ProofState>,
		exposure_cache: &mut ExposureCache,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let Some(newest) = payments.last().cloned() else { return Ok(()) };
		let refuse = |reason: String| Message::Refused { nonce: payments[0].nonce, reason };
		let at = self.party.chain.api.at_current_block().await?;
		let now = at.block_number() as u32;
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
		let taken = newest.clone();
		let committed = tokio::task::spawn_blocking(move || {
			store.update_channel_logged(channel_id, &[entry], keep, |stored| {
				let record = check_payment(view, me, stored, taken, now, exposure)?;
				*stored = record;
				Ok(())
			})
		})
		.await?;
		let record = match committed {
			Ok((record, ())) => record,
			Err(error) => {
				writer.send(refuse(format!("{error:#}"))).await?;
				return Err(error
					.context(format!("channel {channel_id}: payment {} refused", newest.nonce)));
			}
		};
		ledger.record = record;
		// Queued for the watchtower before the acknowledgement leaves: a listener stopped right
		// after acknowledging has already queued what it acknowledged.
		if let Some(queue) = &self.watch_queue {
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

/// The record that taking `proof` from the counterparty makes of `stored`, or why it is
/// refused: the channel is frozen by a close this party signed, the proof is not newer than the
/// one held, it over-spends the payer's side, or it leaves the payer less than a rebalance plan
/// may still take from it (`exposure`). Pure: it runs inside the store's write transaction.
fn check_payment(
	view: crate::chain::ChannelView,
	me: usize,
	stored: &ChannelRecord,
	proof: ProofState,
	now: u32,
	exposure: u128,
) -> Result<ChannelRecord> {
	let channel_id = view.id;
	let mut candidate = Ledger::new(view, me, stored.clone());
	ensure_not_frozen(&candidate, now, channel_id)?;
	if let Some(held) = &stored.received {
		ensure!(
			proof.nonce > held.nonce && proof.transferred >= held.transferred,
			"nonces must increase and amounts must not fall (held {}, offered {})",
			held.nonce,
			proof.nonce
		);
	}
	candidate.record.received = Some(proof);
	let available = candidate.counterparty_available();
	ensure!(available >= 0, "the payment exceeds the payer's balance");
	ensure!(
		available >= exposure as i128,
		"the payment would leave the payer {available} on its side, less than the {exposure} a \
		 rebalance plan may still move from it"
	);
	Ok(candidate.record)
}
