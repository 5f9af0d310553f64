//! The payer's end: a stream of balance proofs with a window of unacknowledged ones.

use super::*;

/// What a payment stream achieved.
#[derive(Debug, Default, Serialize)]
pub struct PayReport {
	pub channel_id: ChannelId,
	/// Payments the receiver acknowledged (durable there).
	pub acknowledged: u64,
	/// The nonce of the newest acknowledged proof.
	pub acknowledged_nonce: Nonce,
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
	channel_id: ChannelId,
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
	let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<Result<Nonce>>();
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
	// Once this party used locks in the channel, every proof it signs there is locked (§10.3).
	let locks = ledger.record.sent.as_ref().and_then(|proof| proof.locks.clone());
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
			let mut proof = ProofState {
				nonce: next_nonce,
				transferred,
				signature: [0; 64],
				locks: locks.clone(),
			};
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
			ledger.record = party.commit(channel_id, &ledger.record).await?;
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
