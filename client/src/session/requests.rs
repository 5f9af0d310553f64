//! What one party asks of the other and the chain then takes: the cooperative close's terms and
//! both signatures, and a withdrawal consent.

use super::*;

/// A cooperative close's terms: the split, and the channel state and expiry it is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseTerms {
	/// `[opener, counterparty]`.
	pub payouts: [u128; 2],
	/// The channel's state version on chain.
	pub version: StateVersion,
	/// The nonces of both sides' newest proofs the split accounts for, `[opener, counterparty]`.
	pub nonces: [Nonce; 2],
	/// The last block it may land in.
	pub expires_at: u32,
}

impl CloseTerms {
	/// The terms this party would sign now for the channel `ledger` describes, or `None` if a
	/// balance is negative (the proofs over-spend, which honest parties never sign) or a lock
	/// is pending (a split has no place for it: its receiver would lose the claim).
	pub fn of(ledger: &Ledger, expires_at: u32) -> Option<CloseTerms> {
		let mut nonces: [Nonce; 2] = [0; 2];
		let held = [&ledger.record.sent, &ledger.record.received];
		if held.iter().any(|proof| proof.as_ref().is_some_and(|proof| proof.locked() > 0)) {
			return None;
		}
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
		channel_id: ChannelId,
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

/// The withdraw proof that lets `participant` take its withdrawn total to `total_withdrawn`,
/// until block `expires_at`: what its counterparty signs and the chain's `withdraw` takes.
pub fn withdraw_proof(
	genesis_hash: [u8; 32],
	channel_id: ChannelId,
	participant: [u8; 32],
	total_withdrawn: u128,
	expires_at: u32,
) -> WithdrawProof<[u8; 32], u128, u32, [u8; 32]> {
	WithdrawProof { genesis_hash, channel_id, participant, total_withdrawn, expires_at }
}

/// Asks the counterparty to co-sign a cooperative close of `channel_id`. Returns the terms and
/// both signatures `[opener, counterparty]`. From the moment it signs, this party neither pays
/// nor accepts payments in the channel until the terms expire.
pub async fn request_close(
	party: &Party,
	channel_id: ChannelId,
	address: &str,
) -> Result<(CloseTerms, [[u8; 64]; 2])> {
	let (mut link, mut ledger) = party.connect(channel_id, address).await?;
	let expires_at = party.chain.block_number().await? + CLOSE_SPLIT_BLOCKS;
	let terms = CloseTerms::of(&ledger, expires_at).context(
		"no split can be signed now: a routed payment's lock is pending in the channel, or the \
		 channel's proofs over-spend a side",
	)?;
	let message = terms.payload(party.chain.genesis_hash, channel_id).signing_message();
	ledger.record.close_signed_until = ledger.record.close_signed_until.max(expires_at);
	ledger.record = party.commit(channel_id, &ledger.record).await?;
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
	channel_id: ChannelId,
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
			let message = withdraw_proof(
				party.chain.genesis_hash,
				channel_id,
				party.keys.public(),
				total_withdrawn,
				expires_at,
			)
			.signing_message();
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

#[cfg(test)]
mod tests {
	use super::*;
	use crate::chain::ChannelView;
	use crate::store::ChannelRecord;

	fn proof(nonce: Nonce, transferred: u128) -> Option<ProofState> {
		Some(ProofState { nonce, transferred, signature: [0; 64], locks: None })
	}

	#[test]
	fn close_terms_name_the_chain_version_and_the_newest_nonces_either_side_knows() {
		let mut view = ChannelView::funded(1, [100, 50]);
		view.version = 3;
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
}
