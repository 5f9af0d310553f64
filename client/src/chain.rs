//! Chain access over subxt, typed by the runtime metadata in `client/metadata/paychan.scale`
//! (refreshed by `scripts/refresh-metadata.sh`): extrinsics, the `PaymentChannelsApi` runtime
//! API, balances and block streams.

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::{io::IsTerminal, time::Duration};
use subxt::{
	config::polkadot::PolkadotConfig,
	transactions::{DefaultParams, Payload},
	utils::{AccountId32, H256},
	OnlineClient,
};

use crate::{keys::Keys, wire::ProofState};
use paychan_primitives::{ChannelId, Nonce, SideTotals, StateVersion};

#[subxt::subxt(runtime_metadata_path = "metadata/paychan.scale")]
pub mod runtime {}

pub use runtime::runtime_types::paychan_primitives as payloads;
use runtime::runtime_types::{
	pallet_payment_channels::types::{Channel as RuntimeChannel, ChannelStatus},
	sp_runtime::MultiSignature,
};

/// One participant's on-chain totals in a channel (the pallet's `SideBooks`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SideView {
	pub deposited: u128,
	pub withdrawn: u128,
	pub transferred: u128,
	pub nonce: Nonce,
	pub rebalanced_in: u128,
	pub rebalanced_out: u128,
	/// The part of the channel's funds held in this participant's account.
	pub custody: u128,
}

impl SideView {
	/// The totals the settlement formula reads, with `transferred` as the chain recorded it.
	pub fn totals(&self) -> SideTotals<u128> {
		SideTotals {
			deposited: self.deposited,
			withdrawn: self.withdrawn,
			transferred: self.transferred,
			rebalanced_in: self.rebalanced_in,
			rebalanced_out: self.rebalanced_out,
		}
	}
}

/// A channel as the chain has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
	pub id: ChannelId,
	pub participants: [[u8; 32]; 2],
	pub sides: [SideView; 2],
	pub challenge_period: u32,
	/// `Some((closer, deadline))` once a unilateral close started.
	pub closing: Option<([u8; 32], u32)>,
	/// The channel's state version: a cooperative close is signed for it.
	pub version: StateVersion,
	/// The block the channel was opened in.
	pub opened_at: u32,
}

impl ChannelView {
	/// The funds the channel holds, as the pallet's `Channel::total` counts them: what sits in
	/// the two sides' custody.
	pub fn total(&self) -> u128 {
		self.sides[0].custody.saturating_add(self.sides[1].custody)
	}

	/// The index (0 opener, 1 counterparty) of `who`, if it participates.
	/// What each participant would be paid out with the chain's own records (the settlement
	/// formula over the recorded totals, without the proofs a party holds off chain).
	pub fn chain_balances(&self) -> [u128; 2] {
		let [opener, counterparty] = self.sides.each_ref().map(SideView::totals);
		paychan_primitives::settlement(self.total(), &opener, &counterparty)
	}

	pub fn side_of(&self, who: &[u8; 32]) -> Option<usize> {
		self.participants.iter().position(|p| p == who)
	}

	fn from_runtime(id: ChannelId, channel: RuntimeChannel<AccountId32, u128, u32>) -> ChannelView {
		let side = |s: &runtime::runtime_types::pallet_payment_channels::types::SideBooks<u128>| {
			SideView {
				deposited: s.deposited,
				withdrawn: s.withdrawn,
				transferred: s.transferred,
				nonce: s.nonce,
				rebalanced_in: s.rebalanced_in,
				rebalanced_out: s.rebalanced_out,
				custody: s.custody,
			}
		};
		ChannelView {
			id,
			participants: [channel.participants[0].0, channel.participants[1].0],
			sides: [side(&channel.sides[0]), side(&channel.sides[1])],
			challenge_period: channel.challenge_period,
			version: channel.version,
			opened_at: channel.opened_at,
			closing: match channel.status {
				ChannelStatus::Open => None,
				ChannelStatus::Closing { closer, deadline, .. } => Some((closer.0, deadline)),
			},
		}
	}
}

#[cfg(test)]
impl ChannelView {
	/// An open channel `id` between accounts `[1; 32]` (the opener) and `[2; 32]`, funded with
	/// `deposits` and nothing else yet: the client's unit tests start from it.
	pub fn funded(id: ChannelId, deposits: [u128; 2]) -> ChannelView {
		ChannelView {
			id,
			participants: [[1; 32], [2; 32]],
			sides: deposits.map(|deposited| SideView {
				deposited,
				custody: deposited,
				..SideView::default()
			}),
			challenge_period: 10,
			closing: None,
			version: 0,
			opened_at: 0,
		}
	}
}

/// One move of a rebalance plan: `amount` left `from`'s side of `channel_id` for the other.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlanMove {
	pub channel_id: ChannelId,
	pub from: String,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub amount: u128,
}

/// One entry of a request as the chain stores it.
pub type RequestEntryView = payloads::RequestEntry<u128>;

/// A rebalance request as the chain stores it (its entries hold what is left of each bound).
pub type RequestView =
	runtime::runtime_types::pallet_payment_channels::types::RebalanceRequest<u128, u32>;

/// The runtime's limits that the client checks before paying a fee for a call the chain
/// would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
	/// The smallest deposit a channel opens with or a participant adds (`MinDeposit`).
	pub min_deposit: u128,
	/// Held from the opener while a channel exists (`ChannelRecordDeposit`).
	pub channel_record_deposit: u128,
	/// Held from a declarer while its request exists (`RequestDeposit`).
	pub request_deposit: u128,
	pub min_challenge_period: u32,
	pub max_challenge_period: u32,
	/// An account's free balance may not fall below this (`ExistentialDeposit`).
	pub existential_deposit: u128,
	/// The chain's SS58 address prefix.
	pub ss58_prefix: u16,
}

/// How a long wait reports its progress: a spinner on a terminal, otherwise one line on standard
/// error per new block (a JSON object with `--json`), so that logs and scripts see it too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
	/// Nothing (tests of the library, quiet callers).
	Silent,
	/// A spinner if standard error is a terminal, else text lines.
	Human,
	/// JSON lines on standard error.
	Json,
}

/// The chain refused an extrinsic (it was submitted; its fee may have been paid).
#[derive(Debug)]
pub struct ChainRefused(pub String);

impl std::fmt::Display for ChainRefused {
	fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
		f.write_str(&self.0)
	}
}

impl std::error::Error for ChainRefused {}

/// The client refused a call before submitting it, because the chain would refuse it: no fee
/// was paid.
#[derive(Debug)]
pub struct NotSubmitted(pub String);

impl std::fmt::Display for NotSubmitted {
	fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
		write!(f, "{} (nothing was submitted)", self.0)
	}
}

impl std::error::Error for NotSubmitted {}

/// How long without a new block before a wait explains why blocks may not come.
pub const IDLE_HINT_AFTER: Duration = Duration::from_secs(6);

/// The chain's state at one block.
pub type AtBlock = subxt::OnlineClientAtBlock<PolkadotConfig>;

/// What an included extrinsic did.
pub struct Receipt {
	pub events: subxt::extrinsics::ExtrinsicEvents<PolkadotConfig>,
	/// The fee the signer paid (`TransactionFeePaid`).
	pub fee: u128,
}

impl Receipt {
	/// The first event of type `E`.
	pub fn event<E: subxt::events::DecodeAsEvent>(&self) -> Result<E> {
		self.events
			.find_first::<E>()
			.ok_or_else(|| {
				anyhow!("the extrinsic emitted no {} event", std::any::type_name::<E>())
			})?
			.map_err(|error| anyhow!("cannot decode an event: {error}"))
	}
}

/// A connection to a Paychan node.
#[derive(Clone)]
pub struct Chain {
	pub api: OnlineClient<PolkadotConfig>,
	pub genesis_hash: [u8; 32],
	/// How long waits report progress.
	pub progress: Progress,
}

/// A signature over a payload as the chain's calls take it, with its declared form.
pub type PayloadSignature = payloads::PayloadSignature<MultiSignature>;

/// An sr25519 signature over a payload's signing message, as the chain's calls take it. The
/// client signs the message itself, so the signature is declared `Raw` and the chain checks that
/// form only.
pub fn sr25519(signature: [u8; 64]) -> PayloadSignature {
	payloads::PayloadSignature::Raw(MultiSignature::Sr25519(signature))
}

/// A signed balance proof as the chain's calls take it.
pub type SignedBalanceProof =
	payloads::Signed<payloads::BalanceProof<H256, u128>, AccountId32, PayloadSignature>;

/// `signer`'s balance proof `proof` in `channel_id`, as the chain's calls take it.
pub fn signed_balance_proof(
	genesis_hash: [u8; 32],
	channel_id: ChannelId,
	signer: [u8; 32],
	proof: &ProofState,
) -> SignedBalanceProof {
	payloads::Signed {
		payload: runtime_twin(&proof.payload(genesis_hash, channel_id)),
		signer: AccountId32(signer),
		signature: sr25519(proof.signature),
	}
}

/// A payload built by `paychan_primitives`, as the metadata-generated type a call takes. The
/// runtime's payload types are the primitives' own, so each payload is built once, by the
/// primitives' type that is also signed, and only moved field by field into its twin here.
pub trait RuntimeTwin {
	/// The metadata-generated type.
	type Twin;
	/// The same payload as that type.
	fn runtime_twin(&self) -> Self::Twin;
}

impl RuntimeTwin for paychan_primitives::BalanceProof<[u8; 32], u128> {
	type Twin = payloads::BalanceProof<H256, u128>;
	fn runtime_twin(&self) -> Self::Twin {
		payloads::BalanceProof {
			genesis_hash: H256(self.genesis_hash),
			channel_id: self.channel_id,
			nonce: self.nonce,
			transferred: self.transferred,
		}
	}
}

impl RuntimeTwin for paychan_primitives::WithdrawProof<[u8; 32], u128, u32, [u8; 32]> {
	type Twin = payloads::WithdrawProof<AccountId32, u128, u32, H256>;
	fn runtime_twin(&self) -> Self::Twin {
		payloads::WithdrawProof {
			genesis_hash: H256(self.genesis_hash),
			channel_id: self.channel_id,
			participant: AccountId32(self.participant),
			total_withdrawn: self.total_withdrawn,
			expires_at: self.expires_at,
		}
	}
}

impl RuntimeTwin for paychan_primitives::CooperativeClose<[u8; 32], u128, u32> {
	type Twin = payloads::CooperativeClose<H256, u128, u32>;
	fn runtime_twin(&self) -> Self::Twin {
		payloads::CooperativeClose {
			genesis_hash: H256(self.genesis_hash),
			channel_id: self.channel_id,
			version: self.version,
			nonces: self.nonces,
			payout_opener: self.payout_opener,
			payout_counterparty: self.payout_counterparty,
			expires_at: self.expires_at,
		}
	}
}

impl RuntimeTwin for paychan_primitives::FundingConsent<[u8; 32], u128, u32, [u8; 32]> {
	type Twin = payloads::FundingConsent<AccountId32, u128, u32, H256>;
	fn runtime_twin(&self) -> Self::Twin {
		payloads::FundingConsent {
			genesis_hash: H256(self.genesis_hash),
			opener: AccountId32(self.opener),
			open_nonce: self.open_nonce,
			opener_deposit: self.opener_deposit,
			amount: self.amount,
			challenge_period: self.challenge_period,
			expires_at: self.expires_at,
		}
	}
}

/// `signer`'s funding consent as `open_channel` takes it.
pub fn signed_funding_consent(
	consent: &paychan_primitives::FundingConsent<[u8; 32], u128, u32, [u8; 32]>,
	signer: [u8; 32],
	signature: [u8; 64],
) -> payloads::Signed<
	payloads::FundingConsent<AccountId32, u128, u32, H256>,
	AccountId32,
	PayloadSignature,
> {
	payloads::Signed {
		payload: runtime_twin(consent),
		signer: AccountId32(signer),
		signature: sr25519(signature),
	}
}

/// [`RuntimeTwin::runtime_twin`] of `payload`.
pub fn runtime_twin<P: RuntimeTwin>(payload: &P) -> P::Twin {
	payload.runtime_twin()
}

/// The transaction pool's reason for refusing a transaction ("Transaction is outdated", "Priority
/// is too low", …), which the legacy RPC backend returns in the JSON-RPC error's `data` and
/// subxt's message of the error leaves out (it shows only "Invalid Transaction (1010)").
fn pool_reason(error: &anyhow::Error) -> Option<String> {
	use subxt::error::{BackendError, ExtrinsicError, RpcError};
	let ExtrinsicError::ErrorSubmittingTransaction(BackendError::Rpc(RpcError::ClientError(
		subxt::rpcs::Error::User(user),
	))) = error.downcast_ref::<ExtrinsicError>()?
	else {
		return None;
	};
	let data = user.data.as_ref()?.get();
	Some(serde_json::from_str::<String>(data).unwrap_or_else(|_| data.to_owned()))
}

impl Chain {
	/// Connects to the node at `url` (`ws://…`).
	pub async fn connect(url: &str, progress: Progress) -> Result<Chain> {
		// The legacy RPC backend: each read is one request. subxt's default (chainHead) answers
		// a runtime call or a header through its follow subscription, about 40 ms per read on a
		// dev node, which a receiver that reads the chain for each group of payments cannot pay.
		let rpc = subxt::rpcs::RpcClient::from_insecure_url(url)
			.await
			.with_context(|| format!("cannot reach the node at {url}"))?;
		let backend = subxt::backend::LegacyBackend::<PolkadotConfig>::builder().build(rpc);
		let api = OnlineClient::<PolkadotConfig>::from_backend(std::sync::Arc::new(backend))
			.await
			.with_context(|| format!("cannot reach the node at {url}"))?;
		let genesis_hash = api.genesis_hash().0;
		Ok(Chain { api, genesis_hash, progress })
	}

	fn spinner(&self, message: String) -> ProgressBar {
		let spin = self.progress == Progress::Human && std::io::stderr().is_terminal();
		let bar = if spin { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
		bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid"));
		bar.set_message(message);
		bar.enable_steady_tick(Duration::from_millis(120));
		bar
	}

	/// Signs `call` with `keys`, submits it and waits until it is in a finalized block and
	/// succeeded; a dispatch error becomes an error naming the pallet error.
	pub async fn submit<Call: Payload>(
		&self,
		what: &str,
		call: &Call,
		keys: &Keys,
	) -> Result<Receipt> {
		let bar = self.spinner(format!("{what}: waiting for inclusion"));
		let result = async {
			let progress = self
				.api
				.transactions()
				.await?
				.sign_and_submit_then_watch_default(call, keys.signer())
				.await?;
			let events = progress.wait_for_finalized_success().await?;
			anyhow::Ok(events)
		}
		.await;
		bar.finish_and_clear();
		let events = result.map_err(|error| {
			let reason =
				pool_reason(&error).map(|reason| format!(": {reason}")).unwrap_or_default();
			anyhow::Error::new(ChainRefused(format!("{what} failed: {error}{reason}")))
		})?;
		let who = keys.account();
		let fee = events
			.find::<runtime::transaction_payment::events::TransactionFeePaid>()
			.filter_map(|event| event.ok())
			.filter(|event| event.who == who)
			.map(|event| event.actual_fee)
			.sum();
		Ok(Receipt { events, fee })
	}

	/// The number of the newest finalized block.
	pub async fn block_number(&self) -> Result<u32> {
		Ok(self.api.at_current_block().await?.block_number() as u32)
	}

	/// A channel, if it is open or closing at the newest finalized block.
	pub async fn channel(&self, channel_id: ChannelId) -> Result<Option<ChannelView>> {
		let at = self.api.at_current_block().await?;
		Self::channel_at(&at, channel_id).await
	}

	/// A channel, if it is open or closing at block `at` (which may be a best, not yet
	/// finalized, block).
	pub async fn channel_at(at: &AtBlock, channel_id: ChannelId) -> Result<Option<ChannelView>> {
		let call = runtime::runtime_apis().payment_channels_api().channel(channel_id);
		let channel = at.runtime_apis().call(call).await?;
		Ok(channel.map(|channel| ChannelView::from_runtime(channel_id, channel)))
	}

	/// The hash of block `number` of this chain.
	pub async fn block_hash(&self, number: u32) -> Result<[u8; 32]> {
		Ok(self.api.at_block(number).await?.block_hash().0)
	}

	/// A channel that must exist.
	pub async fn existing_channel(&self, channel_id: ChannelId) -> Result<ChannelView> {
		self.channel(channel_id).await?.ok_or_else(|| {
			anyhow!("channel {channel_id} does not exist on chain (never opened, or settled)")
		})
	}

	/// The id the next opened channel will get; every lower id was opened once.
	pub async fn next_channel_id(&self) -> Result<ChannelId> {
		let call = runtime::runtime_apis().payment_channels_api().next_channel_id();
		Ok(self.api.at_current_block().await?.runtime_apis().call(call).await?)
	}

	/// Every open or closing channel at the newest finalized block, newest first: at most
	/// `limit` of the newest ids are read, and whether older ids were left out.
	pub async fn all_channels(&self, limit: u64) -> Result<(Vec<ChannelView>, bool)> {
		let next = self.next_channel_id().await?;
		let oldest = next.saturating_sub(limit);
		let at = self.api.at_current_block().await?;
		let reads = (oldest..next).rev().map(|id| {
			let at = &at;
			async move { Chain::channel_at(at, id).await }
		});
		let channels: Vec<Option<ChannelView>> = futures::StreamExt::collect::<Vec<_>>(
			futures::StreamExt::buffered(futures::stream::iter(reads), 16),
		)
		.await
		.into_iter()
		.collect::<Result<_>>()?;
		Ok((channels.into_iter().flatten().collect(), oldest > 0))
	}

	/// The moves of rebalance plans in block `at` (its `ChannelRebalanced` events).
	pub async fn plan_moves_at(at: &AtBlock) -> Result<Vec<PlanMove>> {
		let mut moves = Vec::new();
		for event in at.events().fetch().await?.iter() {
			let event = event?;
			let Some(moved) =
				event.decode_fields_as::<runtime::payment_channels::events::ChannelRebalanced>()
			else {
				continue;
			};
			let moved = moved?;
			moves.push(PlanMove {
				channel_id: moved.channel_id,
				from: moved.from.to_string(),
				amount: moved.amount,
			});
		}
		Ok(moves)
	}

	/// The channels `who` participates in.
	pub async fn channels_of(&self, who: &AccountId32) -> Result<Vec<ChannelId>> {
		let call = runtime::runtime_apis().payment_channels_api().channels_of(*who);
		Ok(self.api.at_current_block().await?.runtime_apis().call(call).await?)
	}

	/// What each participant would receive if the channel settled now.
	pub async fn settlement_preview(&self, channel_id: ChannelId) -> Result<Option<[u128; 2]>> {
		let call = runtime::runtime_apis().payment_channels_api().settlement_preview(channel_id);
		Ok(self.api.at_current_block().await?.runtime_apis().call(call).await?)
	}

	/// Every open rebalance request: `(declarer, request)`.
	pub async fn open_requests(
		&self,
	) -> Result<
		Vec<(
			AccountId32,
			runtime::runtime_types::pallet_payment_channels::types::RebalanceRequest<u128, u32>,
		)>,
	> {
		let call = runtime::runtime_apis().payment_channels_api().open_requests();
		Ok(self.api.at_current_block().await?.runtime_apis().call(call).await?)
	}

	/// `who`'s open nonce (`OpenNonces`): what the next channel it opens binds a funding
	/// consent to.
	pub async fn open_nonce(&self, who: &AccountId32) -> Result<u64> {
		let at = self.api.at_current_block().await?;
		let entry = at.storage().entry(runtime::storage().payment_channels().open_nonces())?;
		Ok(entry.fetch((*who,)).await?.decode()?)
	}

	/// The free balance of `who`.
	pub async fn free_balance(&self, who: &AccountId32) -> Result<u128> {
		let at = self.api.at_current_block().await?;
		let entry = at.storage().entry(runtime::storage().system().account())?;
		let account = entry.fetch((*who,)).await?.decode()?;
		Ok(account.data.free)
	}

	/// Waits until the finalized chain has passed block `number`, reporting every new block
	/// ("block N of M") and, if none comes for a while, why that may be.
	pub async fn wait_past(&self, number: u32, what: &str) -> Result<()> {
		let target = number + 1;
		let bar = self.spinner(format!("{what}: waiting for block {target}"));
		let mut blocks = self.api.stream_blocks().await?;
		let mut now = self.block_number().await?;
		let mut hinted = false;
		while now <= number {
			bar.set_message(format!("{what}: block {now} of {target}"));
			self.report_wait(what, now, target, None);
			let block =
				match tokio::time::timeout(IDLE_HINT_AFTER, futures::StreamExt::next(&mut blocks))
					.await
				{
					Ok(block) => block,
					Err(_) => {
						if !hinted {
							hinted = true;
							let hint = format!(
							"no new block for {} s. A node started with `--sealing instant` makes a \
							 block only when a transaction arrives: send any transaction, or seal \
							 empty blocks with the `engine_createBlock` RPC (see docs/client.md), or \
							 run the node with the default sealing",
							IDLE_HINT_AFTER.as_secs()
						);
							bar.suspend(|| self.report_wait(what, now, target, Some(&hint)));
						}
						continue;
					}
				};
			let Some(block) = block else {
				bail!("the node stopped sending blocks");
			};
			now = block?.number() as u32;
		}
		bar.finish_and_clear();
		Ok(())
	}

	/// One progress line of a wait, unless a spinner shows it.
	fn report_wait(&self, what: &str, now: u32, target: u32, hint: Option<&str>) {
		match self.progress {
			Progress::Silent => {}
			Progress::Human => {
				if let Some(hint) = hint {
					eprintln!("{what}: {hint}");
				} else if !std::io::stderr().is_terminal() {
					eprintln!("{what}: block {now} of {target}");
				}
			}
			Progress::Json => eprintln!(
				"{}",
				serde_json::json!({ "waiting": { "for": what, "block": now, "until": target, "hint": hint } })
			),
		}
	}

	/// What the signed `call` would cost in fees now (the runtime's `query_info`).
	pub async fn estimate_fee<Call: Payload>(&self, call: &Call, keys: &Keys) -> Result<u128> {
		let mut transactions = self.api.transactions().await?;
		let signed = transactions
			.create_signed(call, keys.signer(), DefaultParams::default_params())
			.await
			.map_err(|error| anyhow!("cannot build the transaction: {error}"))?;
		signed
			.partial_fee_estimate()
			.await
			.map_err(|error| anyhow!("cannot estimate the fee: {error}"))
	}

	/// The runtime's limits (constants of its metadata).
	pub async fn limits(&self) -> Result<Limits> {
		let at = self.api.at_current_block().await?;
		let constants = at.constants();
		let channels = runtime::constants().payment_channels();
		Ok(Limits {
			min_deposit: constants.entry(channels.min_deposit())?,
			channel_record_deposit: constants.entry(channels.channel_record_deposit())?,
			request_deposit: constants.entry(channels.request_deposit())?,
			min_challenge_period: constants.entry(channels.min_challenge_period())?,
			max_challenge_period: constants.entry(channels.max_challenge_period())?,
			existential_deposit: constants
				.entry(runtime::constants().balances().existential_deposit())?,
			ss58_prefix: constants.entry(runtime::constants().system().ss58_prefix())?,
		})
	}

	/// `who`'s open rebalance request at block `at`, if any.
	pub async fn request_at(at: &AtBlock, who: &AccountId32) -> Result<Option<RequestView>> {
		let entry =
			at.storage().entry(runtime::storage().payment_channels().rebalance_requests())?;
		match entry.try_fetch((*who,)).await? {
			Some(value) => Ok(Some(value.decode()?)),
			None => Ok(None),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use paychan_primitives::{CooperativeClose, WithdrawProof};

	#[test]
	fn the_chains_balances_follow_its_records_of_payments_and_plans() {
		let mut view = ChannelView::funded(1, [100, 50]);
		assert_eq!(view.chain_balances(), [100, 50]);
		// The counterparty's recorded payments, and a plan that moved 20 from the opener's side.
		view.sides[1].transferred = 30;
		view.sides[0].rebalanced_out = 20;
		view.sides[1].rebalanced_in = 20;
		assert_eq!(view.chain_balances(), [110, 40]);
	}

	#[test]
	fn payloads_become_the_runtime_types_field_for_field() {
		let close = CooperativeClose {
			genesis_hash: [7; 32],
			channel_id: 3,
			version: 9,
			nonces: [1, 2],
			payout_opener: 5,
			payout_counterparty: 6,
			expires_at: 40,
		};
		let twin: payloads::CooperativeClose<H256, u128, u32> = runtime_twin(&close);
		assert_eq!(
			(twin.genesis_hash, twin.channel_id, twin.version, twin.nonces),
			(H256([7; 32]), 3, 9, [1, 2])
		);
		assert_eq!((twin.payout_opener, twin.payout_counterparty, twin.expires_at), (5, 6, 40));

		let withdraw = WithdrawProof {
			genesis_hash: [1; 32],
			channel_id: 4,
			participant: [2; 32],
			total_withdrawn: 70,
			expires_at: 12,
		};
		let twin: payloads::WithdrawProof<AccountId32, u128, u32, H256> = runtime_twin(&withdraw);
		assert_eq!(
			(twin.genesis_hash, twin.channel_id, twin.participant, twin.total_withdrawn),
			(H256([1; 32]), 4, AccountId32([2; 32]), 70)
		);
		assert_eq!(twin.expires_at, 12);

		let proof = ProofState { nonce: 8, transferred: 55, signature: [9; 64], locks: None };
		let signed = signed_balance_proof([3; 32], 5, [4; 32], &proof);
		assert_eq!((signed.payload.genesis_hash, signed.payload.channel_id), (H256([3; 32]), 5));
		assert_eq!((signed.payload.nonce, signed.payload.transferred), (8, 55));
		assert_eq!(signed.signer, AccountId32([4; 32]));
	}
}
