//! Every chain command a party runs, as one typed method each: the checks that refuse a call
//! the chain would refuse (before any fee is paid), the extrinsic, and a typed outcome. The
//! `paychan` CLI prints these outcomes; the daemon's API returns them as JSON.

use anyhow::{bail, ensure, Context, Result};
use paychan_primitives::{ChannelId, Nonce};
use serde::Serialize;
use subxt::utils::{AccountId32, MultiAddress};

use crate::{
	address,
	amount::{self, as_string},
	chain::{self, runtime, runtime_twin, signed_balance_proof, sr25519, Limits, NotSubmitted},
	session::{self, Party},
	wire::ProofState,
};

/// A refusal before anything is submitted: no fee is paid.
pub fn refuse(message: String) -> anyhow::Error {
	anyhow::Error::new(NotSubmitted(message))
}

/// Refuses unless `free` covers `needed` plus `fee`, leaving the existential deposit; the message
/// says what the account has and how to fund it.
pub fn ensure_funded(
	account: &str,
	free: u128,
	needed: u128,
	fee: u128,
	limits: &Limits,
) -> Result<()> {
	let required = needed.saturating_add(fee).saturating_add(limits.existential_deposit);
	if free < required {
		return Err(refuse(format!(
			"account {account} has {} free ({free} planck) but needs {} ({needed} for the call, \
			 about {fee} in fees, {} to stay alive). Fund it first, e.g. on a dev chain: \
			 `paychan --dev alice transfer --to {account} --amount 100UNIT`",
			amount::display(free),
			amount::display(required),
			limits.existential_deposit
		)));
	}
	Ok(())
}

/// A channel opened.
#[derive(Clone, Debug, Serialize)]
pub struct Opened {
	pub channel_id: ChannelId,
	#[serde(serialize_with = "as_string")]
	pub deposit: u128,
	/// What the counterparty locked by its funding consent (0 without one).
	#[serde(serialize_with = "as_string")]
	pub counterparty_deposit: u128,
	#[serde(serialize_with = "as_string")]
	pub fee: u128,
}

/// A call that changed a channel's funds, with the channel's totals afterwards.
#[derive(Clone, Debug, Serialize)]
pub struct Totals {
	pub channel_id: ChannelId,
	pub done: String,
	#[serde(serialize_with = "as_string")]
	pub deposited: u128,
	#[serde(serialize_with = "as_string")]
	pub withdrawn: u128,
	/// This party's balance and the counterparty's, by the settlement formula.
	#[serde(serialize_with = "as_string_i128")]
	pub mine: i128,
	#[serde(serialize_with = "as_string_i128")]
	pub theirs: i128,
	#[serde(serialize_with = "as_string")]
	pub fee: u128,
}

fn as_string_i128<S: serde::Serializer>(value: &i128, serializer: S) -> Result<S::Ok, S::Error> {
	serializer.collect_str(value)
}

/// A transfer between accounts.
#[derive(Clone, Debug, Serialize)]
pub struct Transferred {
	pub to: String,
	#[serde(serialize_with = "as_string")]
	pub amount: u128,
	#[serde(serialize_with = "as_string")]
	pub fee: u128,
}

/// How a close went.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "closed", rename_all = "snake_case")]
pub enum Closed {
	/// Both signed the split; the channel paid out at once.
	Cooperatively {
		channel_id: ChannelId,
		/// `[opener, counterparty]`.
		#[serde(serialize_with = "pair_as_strings")]
		payouts: [u128; 2],
		#[serde(serialize_with = "as_string")]
		fee: u128,
	},
	/// A unilateral close started: the counterparty may dispute until `deadline`.
	Unilaterally {
		channel_id: ChannelId,
		deadline: u32,
		#[serde(serialize_with = "as_string")]
		fee: u128,
	},
}

fn pair_as_strings<S: serde::Serializer>(
	pair: &[u128; 2],
	serializer: S,
) -> Result<S::Ok, S::Error> {
	use serde::ser::SerializeSeq;
	let mut seq = serializer.serialize_seq(Some(2))?;
	for value in pair {
		seq.serialize_element(&value.to_string())?;
	}
	seq.end()
}

/// A dispute, or why none was needed.
#[derive(Clone, Debug, Serialize)]
pub struct Disputed {
	pub channel_id: ChannelId,
	pub disputed: bool,
	/// The counterparty's proof submitted, or the one the chain already had.
	pub nonce: Nonce,
	#[serde(serialize_with = "as_string")]
	pub recovered: u128,
	#[serde(serialize_with = "as_string")]
	pub fee: u128,
}

/// Who settled a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettledBy {
	/// It was settled before this call.
	Already,
	/// The runtime's hook paid it out after the deadline.
	TheChain,
	/// This call's `settle`.
	ThisCall,
}

/// A settled channel.
#[derive(Clone, Debug, Serialize)]
pub struct Settled {
	pub channel_id: ChannelId,
	pub settled: SettledBy,
	/// `[opener, counterparty]`, when known.
	#[serde(serialize_with = "option_pair_as_strings")]
	pub payouts: Option<[u128; 2]>,
	#[serde(serialize_with = "as_string")]
	pub fee: u128,
}

fn option_pair_as_strings<S: serde::Serializer>(
	pair: &Option<[u128; 2]>,
	serializer: S,
) -> Result<S::Ok, S::Error> {
	match pair {
		Some(pair) => pair_as_strings(pair, serializer),
		None => serializer.serialize_none(),
	}
}

/// One channel as a party sees it.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelBalance {
	pub channel_id: ChannelId,
	pub counterparty: String,
	#[serde(serialize_with = "as_string_i128")]
	pub mine: i128,
	#[serde(serialize_with = "as_string_i128")]
	pub theirs: i128,
	#[serde(serialize_with = "as_string")]
	pub paid: u128,
	#[serde(serialize_with = "as_string")]
	pub received: u128,
	pub sent_nonce: Nonce,
	pub received_nonce: Nonce,
	pub closing: bool,
	pub deadline: Option<u32>,
	/// Whether this party started the close, while one runs.
	pub closed_by_me: Option<bool>,
	pub challenge_period: u32,
	/// What each side deposited, withdrew and holds in custody on chain, as `[mine, theirs]`.
	#[serde(serialize_with = "pair_as_strings")]
	pub deposited: [u128; 2],
	#[serde(serialize_with = "pair_as_strings")]
	pub withdrawn: [u128; 2],
	#[serde(serialize_with = "pair_as_strings")]
	pub custody: [u128; 2],
	/// What this party's open rebalance request pledges to send from this channel.
	#[serde(serialize_with = "as_string")]
	pub pledged: u128,
	/// What the counterparty may still pay or withdraw (less a withdrawal this party consented
	/// to that the chain has not executed yet).
	#[serde(serialize_with = "as_string_i128")]
	pub theirs_available: i128,
	/// The routed payments' locks pending in the channel: this party's to the counterparty (still
	/// counted in `mine` until they are paid or expire) and the counterparty's to this party
	/// (still in `theirs`).
	#[serde(serialize_with = "as_string")]
	pub locked_out: u128,
	#[serde(serialize_with = "as_string")]
	pub locked_in: u128,
	/// What the chain would pay out if the channel settled now (`settlement_preview`), as
	/// `[mine, theirs]`: equal to `mine` and `theirs` once the chain holds both newest proofs.
	#[serde(serialize_with = "option_pair_as_strings")]
	pub settlement: Option<[u128; 2]>,
}

/// A party's free balance and its channels.
#[derive(Clone, Debug, Serialize)]
pub struct Balance {
	#[serde(serialize_with = "as_string")]
	pub free: u128,
	pub channels: Vec<ChannelBalance>,
}

impl Party {
	/// Opens a channel with `counterparty` (SS58), locking `deposit`; with `co_funding`
	/// `(amount, address)` the counterparty listening at `address` locks `amount` too, by a
	/// consent it signs for this open (dual funding).
	pub async fn open(
		&self,
		counterparty: &str,
		deposit: u128,
		challenge_period: u32,
		co_funding: Option<(u128, &str)>,
	) -> Result<Opened> {
		let (chain, keys) = (&self.chain, &self.keys);
		let limits = chain.limits().await?;
		let counterparty = address::parse(counterparty, limits.ss58_prefix).map_err(refuse)?;
		if counterparty == keys.account() {
			return Err(refuse(
				"a channel needs two parties: the counterparty is this key's own account".into(),
			));
		}
		if deposit == 0 || deposit < limits.min_deposit {
			return Err(refuse(format!(
				"the deposit {deposit} is below the chain's minimum of {} planck",
				limits.min_deposit
			)));
		}
		if !(limits.min_challenge_period..=limits.max_challenge_period).contains(&challenge_period)
		{
			return Err(refuse(format!(
				"the challenge period must be {} to {} blocks, not {challenge_period}",
				limits.min_challenge_period, limits.max_challenge_period
			)));
		}
		let consent = match co_funding {
			None => None,
			Some((amount, address)) => {
				if amount < limits.min_deposit {
					return Err(refuse(format!(
						"the counterparty's deposit {amount} is below the chain's minimum of {} 						 planck",
						limits.min_deposit
					)));
				}
				let theirs = chain.free_balance(&counterparty).await?;
				if theirs < amount {
					return Err(refuse(format!(
						"the counterparty has {theirs} planck free, less than the {amount} asked 						 of it"
					)));
				}
				let (consent, signature) = self
					.request_funding(counterparty.0, address, deposit, amount, challenge_period)
					.await?;
				Some(chain::signed_funding_consent(&consent, counterparty.0, signature))
			}
		};
		let counterparty_deposit = co_funding.map_or(0, |(amount, _)| amount);
		let call = runtime::tx().payment_channels().open_channel(
			MultiAddress::Id(counterparty),
			deposit,
			challenge_period,
			consent,
		);
		let free = chain.free_balance(&keys.account()).await?;
		let fee = chain.estimate_fee(&call, keys).await.unwrap_or(0);
		let needed = deposit.saturating_add(limits.channel_record_deposit);
		ensure_funded(&keys.account().to_string(), free, needed, fee, &limits)?;
		let receipt = chain.submit("open", &call, keys).await?;
		let opened = receipt.event::<runtime::payment_channels::events::ChannelOpened>()?;
		Ok(Opened {
			channel_id: opened.channel_id,
			deposit,
			counterparty_deposit,
			fee: receipt.fee,
		})
	}

	/// Adds `amount` to this party's side of an open channel (splice-in).
	pub async fn deposit(&self, channel_id: ChannelId, amount: u128) -> Result<Totals> {
		let (chain, keys) = (&self.chain, &self.keys);
		let limits = chain.limits().await?;
		let ledger = match chain.channel(channel_id).await? {
			Some(_) => self.ledger(channel_id).await?,
			None => {
				return Err(refuse(format!(
					"channel {channel_id} does not exist on chain (never opened, or settled)"
				)))
			}
		};
		if ledger.view.closing.is_some() {
			return Err(refuse(format!("channel {channel_id} is closing: no more deposits")));
		}
		if amount == 0 || amount < limits.min_deposit {
			return Err(refuse(format!(
				"the amount {amount} is below the chain's minimum deposit of {} planck",
				limits.min_deposit
			)));
		}
		let call = runtime::tx().payment_channels().deposit(channel_id, amount);
		let free = chain.free_balance(&keys.account()).await?;
		let fee = chain.estimate_fee(&call, keys).await.unwrap_or(0);
		ensure_funded(&keys.account().to_string(), free, amount, fee, &limits)?;
		let receipt = chain.submit("deposit", &call, keys).await?;
		self.totals(channel_id, "deposited", receipt.fee).await
	}

	/// Sends `amount` from this party's account to `to` (SS58).
	pub async fn transfer(&self, to: &str, amount: u128) -> Result<Transferred> {
		let limits = self.chain.limits().await?;
		let to = address::parse(to, limits.ss58_prefix).map_err(refuse)?;
		if amount == 0 {
			return Err(refuse("the amount must be positive".into()));
		}
		let call = runtime::tx().balances().transfer_keep_alive(MultiAddress::Id(to), amount);
		let receipt = self.chain.submit("transfer", &call, &self.keys).await?;
		Ok(Transferred { to: to.to_string(), amount, fee: receipt.fee })
	}

	/// Takes `amount` out of an open channel with the consent of the counterparty listening at
	/// `peer` (splice-out).
	pub async fn withdraw(
		&self,
		channel_id: ChannelId,
		peer: &str,
		amount: u128,
	) -> Result<Totals> {
		let (total_withdrawn, expires_at, signature) =
			session::request_withdrawal(self, channel_id, peer, amount).await?;
		let call = runtime::tx().payment_channels().withdraw(
			runtime_twin(&session::withdraw_proof(
				self.chain.genesis_hash,
				channel_id,
				self.keys.public(),
				total_withdrawn,
				expires_at,
			)),
			sr25519(signature),
		);
		let receipt = self.chain.submit("withdraw", &call, &self.keys).await?;
		self.totals(channel_id, "withdrawn", receipt.fee).await
	}

	/// Closes a channel cooperatively with the counterparty listening at `peer`; nothing is
	/// submitted if it cannot be reached or refuses.
	pub async fn close_cooperatively(&self, channel_id: ChannelId, peer: &str) -> Result<Closed> {
		let (terms, signatures) =
			session::request_close(self, channel_id, peer).await.with_context(|| {
				format!(
					"cooperative close of channel {channel_id} failed; nothing was submitted. To \
					 close without the counterparty, run `paychan close --channel {channel_id} \
					 --force`"
				)
			})?;
		let call = runtime::tx().payment_channels().cooperative_close(
			runtime_twin(&terms.payload(self.chain.genesis_hash, channel_id)),
			sr25519(signatures[0]),
			sr25519(signatures[1]),
		);
		let receipt = self.chain.submit("cooperative close", &call, &self.keys).await?;
		Ok(Closed::Cooperatively { channel_id, payouts: terms.payouts, fee: receipt.fee })
	}

	/// Starts an irreversible unilateral close with the counterparty's newest proof this party
	/// holds. A locked proof (§10.6) is submitted right after the close, by
	/// `update_locked_proof`: `close` takes plain proofs only.
	pub async fn close_unilaterally(&self, channel_id: ChannelId) -> Result<Closed> {
		let ledger = self.ledger(channel_id).await?;
		if ledger.view.closing.is_some() {
			return Err(refuse(format!("channel {channel_id} is already closing")));
		}
		let held = ledger.record.received.as_ref();
		let proof = held.filter(|proof| proof.locks.is_none()).map(|proof| {
			signed_balance_proof(self.chain.genesis_hash, channel_id, ledger.counterparty(), proof)
		});
		let call = runtime::tx().payment_channels().close(channel_id, proof);
		let receipt = self.chain.submit("close", &call, &self.keys).await?;
		let started = receipt.event::<runtime::payment_channels::events::CloseStarted>()?;
		let mut fee = receipt.fee;
		if let Some(locked) = held.filter(|proof| proof.locks.is_some()) {
			fee += self.submit_proof(channel_id, ledger.counterparty(), locked).await?;
		}
		Ok(Closed::Unilaterally { channel_id, deadline: started.deadline, fee })
	}

	/// Disputes a unilateral close with the counterparty's newest proof this party holds, if
	/// the chain has an older one; refuses (unless `force`) a dispute that costs more in fees
	/// than it recovers. A locked proof is submitted whenever its nonce is newer than the one
	/// recorded: what its locks are worth shows only once they are unlocked.
	pub async fn dispute(&self, channel_id: ChannelId, force: bool) -> Result<Disputed> {
		let ledger = self.ledger(channel_id).await?;
		ensure!(ledger.view.closing.is_some(), "channel {channel_id} is not closing");
		let Some(proof) = ledger.record.received.clone() else {
			bail!("there is no proof from the counterparty to submit");
		};
		let recorded = &ledger.view.sides[ledger.other()];
		let counterparty = ledger.counterparty();
		if proof.locks.is_some() {
			if recorded.nonce >= proof.nonce {
				let nonce = recorded.nonce;
				return Ok(Disputed { channel_id, disputed: false, nonce, recovered: 0, fee: 0 });
			}
			let recovered = proof.transferred.saturating_sub(recorded.transferred);
			let fee = self.submit_proof(channel_id, counterparty, &proof).await?;
			return Ok(Disputed { channel_id, disputed: true, nonce: proof.nonce, recovered, fee });
		}
		if recorded.transferred >= proof.transferred {
			return Ok(Disputed {
				channel_id,
				disputed: false,
				nonce: recorded.nonce,
				recovered: 0,
				fee: 0,
			});
		}
		let gain = proof.transferred - recorded.transferred;
		let fee = self.dispute_fee(channel_id, counterparty, &proof).await?;
		if gain < fee && !force {
			return Err(refuse(format!(
				"the dispute would recover {gain} planck and cost about {fee} in fees; run it \
				 again with --force to dispute anyway"
			)));
		}
		let fee = self.submit_proof(channel_id, counterparty, &proof).await?;
		Ok(Disputed { channel_id, disputed: true, nonce: proof.nonce, recovered: gain, fee })
	}

	/// The dispute extrinsic with `proof` signed by `signer` (the closing channel's participant
	/// whose payments it raises): `update_balance_proof` for a plain proof, submitted as is for
	/// the `dispute` command, the daemon's watch and the watchtower alike;
	/// `update_locked_proof` for a locked one, which only its beneficiary, this party, may
	/// submit. Returns the fee paid.
	pub async fn submit_proof(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		proof: &ProofState,
	) -> Result<u128> {
		if proof.locks.is_some() {
			let state = crate::htlc::LockedState::of(proof);
			return self.submit_locked_proof(channel_id, signer, &state, proof.signature).await;
		}
		let call = self.dispute_call(channel_id, signer, proof);
		Ok(self.chain.submit("dispute", &call, &self.keys).await?.fee)
	}

	/// What [`Party::submit_proof`] would cost in fees.
	pub async fn dispute_fee(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		proof: &ProofState,
	) -> Result<u128> {
		self.chain.estimate_fee(&self.dispute_call(channel_id, signer, proof), &self.keys).await
	}

	fn dispute_call(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		proof: &ProofState,
	) -> impl subxt::tx::Payload {
		runtime::tx().payment_channels().update_balance_proof(
			channel_id,
			signed_balance_proof(self.chain.genesis_hash, channel_id, signer, proof),
		)
	}

	/// Waits for a closing channel's challenge period to end and pays it out (or reports that
	/// the chain's hook already did).
	pub async fn settle(&self, channel_id: ChannelId) -> Result<Settled> {
		let chain = &self.chain;
		if chain.channel(channel_id).await?.is_none()
			&& channel_id < chain.next_channel_id().await?
		{
			// Ids are never reused: this one was opened and has been paid out.
			return Ok(Settled { channel_id, settled: SettledBy::Already, payouts: None, fee: 0 });
		}
		let view = chain.existing_channel(channel_id).await?;
		let Some((_, deadline)) = view.closing else {
			bail!("channel {channel_id} is not closing; close it first");
		};
		chain.wait_past(deadline, "challenge period").await?;
		let preview = chain.settlement_preview(channel_id).await?;
		// The runtime settles expired channels by itself at the start of a block.
		if chain.channel(channel_id).await?.is_none() {
			// The preview read after the deadline is what the hook paid out.
			return Ok(Settled {
				channel_id,
				settled: SettledBy::TheChain,
				payouts: preview,
				fee: 0,
			});
		}
		let call = runtime::tx().payment_channels().settle(channel_id);
		let receipt = chain.submit("settle", &call, &self.keys).await?;
		let payouts = receipt
			.event::<runtime::payment_channels::events::ChannelSettled>()
			.map(|settled| [settled.opener_payout, settled.counterparty_payout])
			.ok()
			.or(preview);
		Ok(Settled { channel_id, settled: SettledBy::ThisCall, payouts, fee: receipt.fee })
	}

	/// This party's free balance and its channels (or only `channel_id`).
	pub async fn balance(&self, channel_id: Option<ChannelId>) -> Result<Balance> {
		let free = self.chain.free_balance(&self.keys.account()).await?;
		let ids = match channel_id {
			Some(id) => vec![id],
			None => self.chain.channels_of(&self.keys.account()).await?,
		};
		let pledges = self.request_entries().await?;
		let mut channels = Vec::new();
		for id in ids {
			let ledger = self.ledger(id).await?;
			let pledged = session::pledged_in(&pledges, id);
			let sides = |field: fn(&chain::SideView) -> u128| {
				[field(&ledger.view.sides[ledger.me]), field(&ledger.view.sides[ledger.other()])]
			};
			let balances = ledger.balances();
			let preview = self.chain.settlement_preview(id).await?;
			let settlement = preview.map(|payouts| [payouts[ledger.me], payouts[ledger.other()]]);
			channels.push(ChannelBalance {
				channel_id: id,
				counterparty: AccountId32(ledger.counterparty()).to_string(),
				mine: balances[ledger.me],
				theirs: balances[ledger.other()],
				paid: ledger.paid(),
				received: ledger.earned(),
				sent_nonce: ledger.record.sent.as_ref().map_or(0, |p| p.nonce),
				received_nonce: ledger.record.received.as_ref().map_or(0, |p| p.nonce),
				closing: ledger.view.closing.is_some(),
				deadline: ledger.view.closing.map(|(_, deadline)| deadline),
				closed_by_me: ledger
					.view
					.closing
					.map(|(closer, _)| closer == ledger.view.participants[ledger.me]),
				challenge_period: ledger.view.challenge_period,
				deposited: sides(|side| side.deposited),
				withdrawn: sides(|side| side.withdrawn),
				custody: sides(|side| side.custody),
				pledged,
				theirs_available: ledger.counterparty_available(),
				locked_out: ledger.locked_out(),
				locked_in: ledger.locked_in(),
				settlement,
			});
		}
		Ok(Balance { free, channels })
	}

	async fn totals(&self, channel_id: ChannelId, done: &str, fee: u128) -> Result<Totals> {
		let ledger = self.ledger(channel_id).await?;
		let mine = &ledger.view.sides[ledger.me];
		let balances = ledger.balances();
		Ok(Totals {
			channel_id,
			done: done.into(),
			deposited: mine.deposited,
			withdrawn: mine.withdrawn,
			mine: balances[ledger.me],
			theirs: balances[ledger.other()],
			fee,
		})
	}
}

/// [`chain::ChainRefused`] or [`NotSubmitted`] in `error`'s chain, as a stable code: what the
/// CLI's `--json` errors and the daemon's API errors name.
pub fn error_code(error: &anyhow::Error) -> &'static str {
	if error.chain().any(|cause| cause.is::<chain::ChainRefused>()) {
		"chain_refused"
	} else if error.chain().any(|cause| cause.is::<NotSubmitted>()) {
		"refused_locally"
	} else {
		"failed"
	}
}
