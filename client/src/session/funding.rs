//! Dual funding: the opener asks the counterparty over a link for a funding consent
//! (`FundingRequest`, answered `FundingSigned`) and submits it with `open_channel`, so the
//! channel opens with both deposits in one extrinsic. The counterparty signs only what its
//! policy allows (`--fund-up-to`, [`Listener::max_funding`]); the consent is bound to the
//! opener's open nonce, so it opens one channel at most, and expires within
//! [`FUNDING_CONSENT_BLOCKS`].

use super::*;
use paychan_primitives::FundingConsent;

/// How long a funding consent stays usable, in blocks.
pub const FUNDING_CONSENT_BLOCKS: u32 = 20;

/// A funding consent as this client builds and signs it.
pub type Consent = FundingConsent<[u8; 32], u128, u32, [u8; 32]>;

/// What the opener asks the counterparty to lock, as a `FundingRequest` carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundingTerms {
	pub open_nonce: u64,
	pub opener_deposit: u128,
	pub amount: u128,
	pub challenge_period: u32,
	pub expires_at: u32,
}

impl FundingTerms {
	/// The consent payload these terms describe, for the channel `opener` opens.
	pub fn consent(&self, genesis_hash: [u8; 32], opener: [u8; 32]) -> Consent {
		FundingConsent {
			genesis_hash,
			opener,
			open_nonce: self.open_nonce,
			opener_deposit: self.opener_deposit,
			amount: self.amount,
			challenge_period: self.challenge_period,
			expires_at: self.expires_at,
		}
	}

	pub fn message(&self) -> Message {
		Message::FundingRequest {
			open_nonce: self.open_nonce,
			opener_deposit: self.opener_deposit,
			amount: self.amount,
			challenge_period: self.challenge_period,
			expires_at: self.expires_at,
		}
	}
}

/// Whether the counterparty's policy lets it sign `terms` at block `now` with `free` on its
/// account: a positive amount within `max_funding`, covered by its free balance, and a consent
/// that expires soon (a consent usable far later would lock funds the party may need then).
/// Pure, so each refusal is unit-tested.
pub fn check_terms(terms: &FundingTerms, max_funding: u128, now: u32, free: u128) -> Result<()> {
	ensure!(
		max_funding > 0,
		"this party funds no channel another opens (its daemon runs without --fund-up-to)"
	);
	ensure!(terms.amount > 0, "a funding request needs a positive amount");
	ensure!(
		terms.amount <= max_funding,
		"this party funds channels others open with at most {max_funding} planck, not {}",
		terms.amount
	);
	ensure!(
		terms.amount <= free,
		"this party has {free} planck free, less than the {} asked",
		terms.amount
	);
	ensure!(
		terms.expires_at >= now && terms.expires_at <= now + FUNDING_CONSENT_BLOCKS,
		"a funding consent must expire within {FUNDING_CONSENT_BLOCKS} blocks of block {now}, \
		 not at block {}",
		terms.expires_at
	);
	Ok(())
}

impl Party {
	/// Asks the counterparty listening at `address` to consent to lock `amount` in the channel
	/// this party is about to open with `opener_deposit` and `challenge_period`; returns the
	/// consent and its signature, checked.
	pub async fn request_funding(
		&self,
		counterparty: [u8; 32],
		address: &str,
		opener_deposit: u128,
		amount: u128,
		challenge_period: u32,
	) -> Result<(Consent, [u8; 64])> {
		let me = subxt::utils::AccountId32(self.keys.public());
		let terms = FundingTerms {
			open_nonce: self.chain.open_nonce(&me).await?,
			opener_deposit,
			amount,
			challenge_period,
			expires_at: self.chain.block_number().await? + FUNDING_CONSENT_BLOCKS,
		};
		let mut link =
			Link::connect(address, &self.keys, Some(counterparty)).await.map_err(|error| {
				crate::calls::refuse(format!(
					"the counterparty at {address} cannot be reached to co-fund the channel: \
					 {error:#}; nothing was submitted"
				))
			})?;
		link.writer.send(terms.message()).await?;
		let answer = tokio::time::timeout(ANSWER_TIMEOUT, link.reader.receive_one())
			.await
			.map_err(|_| anyhow!("the counterparty did not answer the funding request"))??;
		let signature = match answer {
			Message::FundingSigned { signature } => signature,
			Message::Error(reason) => {
				return Err(crate::calls::refuse(format!(
					"the counterparty does not co-fund the channel: {reason}; nothing was submitted"
				)))
			}
			other => bail!("unexpected answer to a funding request: {other:?}"),
		};
		let consent = terms.consent(self.chain.genesis_hash, self.keys.public());
		ensure!(
			keys::verify(&counterparty, &consent.signing_message(), &signature),
			"the counterparty's funding consent has an invalid signature; nothing was submitted"
		);
		Ok((consent, signature))
	}
}

impl Listener {
	/// Answers a funding request from `opener`: signs the consent if the policy allows it.
	pub(super) async fn answer_funding(
		&self,
		opener: [u8; 32],
		terms: FundingTerms,
		writer: &mut LinkWriter,
	) -> Result<()> {
		let party = &self.party;
		let now = party.chain.block_number().await?;
		let free = party.chain.free_balance(&party.keys.account()).await?;
		if let Err(refused) = check_terms(&terms, self.max_funding, now, free) {
			writer.send(Message::Error(format!("{refused:#}"))).await?;
			return Err(refused.context("a funding request was refused"));
		}
		let consent = terms.consent(party.chain.genesis_hash, opener);
		let signature = party.keys.sign(&consent.signing_message());
		writer.send(Message::FundingSigned { signature }).await?;
		report(
			&self.events,
			Event::FundingConsented {
				opener: subxt::utils::AccountId32(opener).to_string(),
				amount: terms.amount,
				expires_at: terms.expires_at,
			},
		);
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn terms(amount: u128, expires_at: u32) -> FundingTerms {
		FundingTerms {
			open_nonce: 0,
			opener_deposit: 100,
			amount,
			challenge_period: 10,
			expires_at,
		}
	}

	#[test]
	fn a_party_signs_only_what_its_policy_and_balance_allow() {
		assert!(check_terms(&terms(50, 110), 60, 100, 1_000).is_ok());
		let refused = |t: FundingTerms, max, free| check_terms(&t, max, 100, free).unwrap_err();
		assert!(refused(terms(50, 110), 0, 1_000).to_string().contains("--fund-up-to"));
		assert!(refused(terms(61, 110), 60, 1_000).to_string().contains("at most 60"));
		assert!(refused(terms(50, 110), 60, 40).to_string().contains("40 planck free"));
		assert!(refused(terms(0, 110), 60, 1_000).to_string().contains("positive"));
		let late = refused(terms(50, 100 + FUNDING_CONSENT_BLOCKS + 1), 60, 1_000);
		assert!(late.to_string().contains("must expire within"), "{late}");
		assert!(refused(terms(50, 99), 60, 1_000).to_string().contains("must expire within"));
	}

	#[test]
	fn the_consent_names_the_opener_and_every_term() {
		let t = terms(50, 110);
		let consent = t.consent([7; 32], [1; 32]);
		assert_eq!(
			(consent.opener, consent.open_nonce, consent.opener_deposit, consent.amount),
			([1; 32], 0, 100, 50)
		);
		assert_eq!((consent.challenge_period, consent.expires_at), (10, 110));
		let other_opener = t.consent([7; 32], [2; 32]);
		assert_ne!(consent.signing_message(), other_opener.signing_message());
	}
}
