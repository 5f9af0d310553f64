//! A bounded load generator: it floods a node with a fixed number of channel operations, valid
//! and invalid, and accounts for every one: each valid operation must be included and succeed,
//! each invalid one must be refused with the right error (by the transaction pool, or in its
//! block with the right pallet error), and nothing may go missing. The same number of plain
//! balance transfers is measured in the same run for comparison.

use anyhow::{bail, Context, Result};
use paychan_primitives::{ChannelId, Nonce};
use serde::Serialize;
use std::{
	collections::{BTreeMap, HashMap},
	time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use subxt::{
	config::{polkadot::PolkadotConfig, DefaultExtrinsicParamsBuilder},
	events::Phase,
	transactions::Payload,
	utils::{AccountId32, MultiAddress, H256},
};

use crate::{
	chain::{runtime, signed_balance_proof, Chain},
	keys::Keys,
	session::proof_message,
	wire::ProofState,
};

/// What must become of one submitted transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
	/// Included, and dispatched successfully.
	Success,
	/// Included, and refused by the pallet with this error (`PaymentChannels.<name>`).
	PalletError(&'static str),
	/// Refused by the transaction pool when submitted; the error text contains this.
	PoolRejects(&'static str),
}

/// The kinds of operation in the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Kind {
	/// `deposit` into the sender's own channel: valid.
	Deposit,
	/// `close` with a counterparty proof that the counterparty did not sign.
	BadSignature,
	/// `update_balance_proof` with a proof that does not raise what the closing channel has.
	StaleProof,
	/// A transaction whose account nonce was already used.
	StaleTransactionNonce,
	/// Bytes that are not an extrinsic.
	Garbage,
	/// `Balances::transfer_keep_alive`, the baseline.
	Transfer,
	/// `open_channel`, while setting up.
	Open,
}

/// Submissions awaiting the pool's answer at any time.
const SUBMISSIONS_IN_FLIGHT: usize = 256;

/// The outcome of one flood.
#[derive(Debug, Default, Serialize)]
pub struct FloodReport {
	pub submitted: usize,
	/// Included in blocks (successful or refused by the pallet).
	pub included: usize,
	/// Refused by the pool at submission.
	pub refused_by_pool: usize,
	/// Per kind: how many, and how many ended as expected.
	pub by_kind: BTreeMap<String, (usize, usize)>,
	/// Blocks that included at least one of them.
	pub blocks: usize,
	pub max_per_block: usize,
	pub per_block: f64,
	/// From the first submission until the pool had answered every one.
	pub submission_seconds: f64,
	/// From the first submission to the timestamp of the block that included the last one.
	pub seconds: f64,
	pub per_second: f64,
	/// Outcomes that differed from the expectation (must be empty).
	pub mismatches: Vec<String>,
}

struct Pending {
	kind: Kind,
	expect: Expect,
}

/// A prepared transaction: its bytes, what it is and what must become of it.
pub struct Prepared {
	bytes: Vec<u8>,
	kind: Kind,
	expect: Expect,
}

/// Builds and signs transactions offline (immortal, explicit nonces) against one block's
/// metadata, so preparing thousands costs no round trips.
pub struct Signer {
	transactions: Transactions,
}

type Transactions = subxt::transactions::TransactionsClient<
	PolkadotConfig,
	subxt::client::OnlineClientAtBlockImpl<PolkadotConfig>,
>;

impl Signer {
	pub async fn new(chain: &Chain) -> Result<Signer> {
		Ok(Signer { transactions: chain.api.transactions().await? })
	}

	/// Signs `call` with `keys` at account nonce `nonce`.
	pub fn prepare<Call: Payload>(
		&self,
		keys: &Keys,
		nonce: u64,
		call: &Call,
		kind: Kind,
		expect: Expect,
	) -> Result<Prepared> {
		let params =
			DefaultExtrinsicParamsBuilder::<PolkadotConfig>::new().immortal().nonce(nonce).build();
		// Offline: the nonce is given and the transaction immortal, so nothing is fetched.
		let tx = self.transactions.create_signable_offline(call, params)?.sign(keys.signer())?;
		Ok(Prepared { bytes: tx.into_encoded(), kind, expect })
	}
}

/// Garbage: random bytes submitted as an extrinsic.
pub fn garbage(seed: u64) -> Prepared {
	let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	let len = 8 + (seed % 120) as usize;
	let bytes = (0..len)
		.map(|_| {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			state as u8
		})
		.collect();
	Prepared { bytes, kind: Kind::Garbage, expect: Expect::PoolRejects("") }
}

/// Submits every prepared transaction as fast as the node takes them, then follows finalized
/// blocks until each one the pool accepted is accounted for.
pub async fn flood(
	chain: &Chain,
	prepared: Vec<Prepared>,
	timeout: Duration,
) -> Result<FloodReport> {
	let mut report = FloodReport { submitted: prepared.len(), ..Default::default() };
	let mut blocks = chain.api.stream_blocks().await?;
	let submitter = chain.api.transactions().await?;
	let started = Instant::now();
	let started_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
	let mut pending: HashMap<H256, Pending> = HashMap::new();
	// Many submissions in flight at once: each waits for the pool to validate it, and an
	// account's later nonces simply wait in the pool's future queue until the earlier arrive.
	let submissions = futures::StreamExt::buffered(
		futures::stream::iter(prepared.into_iter().map(|tx| {
			let submitter = &submitter;
			async move {
				let result = submitter.from_bytes(tx.bytes).submit().await;
				(tx.kind, tx.expect, result)
			}
		})),
		SUBMISSIONS_IN_FLIGHT,
	);
	let results: Vec<_> = futures::StreamExt::collect(submissions).await;
	for (kind, expect, result) in results {
		let tx = Pending { kind, expect };
		let entry = report.by_kind.entry(format!("{:?}", tx.kind)).or_default();
		entry.0 += 1;
		match (result, &tx.expect) {
			(Err(error), Expect::PoolRejects(text)) => {
				let message = error.to_string();
				// Through the legacy RPC backend the pool's reason ("Transaction is outdated") is
				// in the JSON-RPC error's data, which only the debug form shows.
				if message.contains(text) || format!("{error:?}").contains(text) {
					entry.1 += 1;
				} else {
					report.mismatches.push(format!("{:?}: refused with {message}", tx.kind));
				}
				report.refused_by_pool += 1;
			}
			(Err(error), expect) => {
				report
					.mismatches
					.push(format!("{:?} (expected {expect:?}): refused: {error}", tx.kind));
				report.refused_by_pool += 1;
			}
			(Ok(_), Expect::PoolRejects(_)) => {
				report.mismatches.push(format!("{:?}: accepted by the pool", tx.kind));
			}
			(Ok(hash), _) => {
				pending.insert(hash, tx);
			}
		}
	}

	report.submission_seconds = started.elapsed().as_secs_f64();

	let metadata = chain.api.at_current_block().await?.metadata();
	let mut last_progress = Instant::now();
	let mut last_inclusion_ms = started_ms;
	while !pending.is_empty() {
		if last_progress.elapsed() > timeout {
			bail!("{} transactions were never included (lost)", pending.len());
		}
		let Ok(next) = tokio::time::timeout(timeout, futures::StreamExt::next(&mut blocks)).await
		else {
			bail!("no finalized block for {timeout:?}: the node stopped producing blocks");
		};
		let block = next.context("the block stream ended")??;
		let at = block.at().await?;
		// One read of the block's events: which extrinsics failed, and with which error.
		let mut failures: HashMap<u32, String> = HashMap::new();
		for event in at.events().fetch().await?.iter() {
			let event = event?;
			let Phase::ApplyExtrinsic(index) = event.phase() else { continue };
			let Some(failed) = event.decode_fields_as::<runtime::system::events::ExtrinsicFailed>()
			else {
				continue;
			};
			let error = match failed?.dispatch_error {
				runtime::runtime_types::sp_runtime::DispatchError::Module(error) => {
					let pallet = metadata.pallet_by_error_index(error.index).context("pallet")?;
					let variant = pallet.error_variant_by_index(error.error[0]).context("error")?;
					variant.name.clone()
				}
				other => format!("{other:?}"),
			};
			failures.insert(index, error);
		}
		let mut in_block = 0;
		for extrinsic in at.extrinsics().fetch().await?.iter() {
			let extrinsic = extrinsic?;
			let Some(expected) = pending.remove(&extrinsic.hash()) else { continue };
			in_block += 1;
			let failure = failures.remove(&(extrinsic.index() as u32));
			let as_expected = match (&expected.expect, &failure) {
				(Expect::Success, None) => true,
				(Expect::PalletError(name), Some(error)) => error == name,
				_ => false,
			};
			let entry = report.by_kind.entry(format!("{:?}", expected.kind)).or_default();
			if as_expected {
				entry.1 += 1;
			} else {
				report.mismatches.push(format!(
					"{:?}: expected {:?}, got {}",
					expected.kind,
					expected.expect,
					failure.as_deref().unwrap_or("success"),
				));
			}
		}
		if in_block > 0 {
			report.included += in_block;
			report.blocks += 1;
			report.max_per_block = report.max_per_block.max(in_block);
			last_progress = Instant::now();
			// When the block was authored (its slot's timestamp), not when this loop got to it.
			let timestamp = at.storage().entry(runtime::storage().timestamp().now())?;
			last_inclusion_ms = timestamp.fetch(()).await?.decode()?;
		}
	}
	report.seconds = last_inclusion_ms.saturating_sub(started_ms) as f64 / 1000.0;
	report.per_second = report.included as f64 / report.seconds.max(1e-3);
	report.per_block = report.included as f64 / report.blocks.max(1) as f64;
	Ok(report)
}

/// The accounts that generate load, derived from `//Alice` so a dev chain's funds can reach
/// them.
pub fn load_keys(count: usize) -> Result<Vec<Keys>> {
	(0..count).map(|i| Keys::from_uri(&format!("//Alice//load//{i}"))).collect()
}

/// Everything the flood needs: funded senders, a channel each with Bob, and one closing
/// channel whose recorded proof is newer than the stale one the flood submits.
pub struct Setup {
	pub senders: Vec<Keys>,
	pub nonces: Vec<u64>,
	pub channels: Vec<ChannelId>,
	pub closing_channel: ChannelId,
	pub counterparty: Keys,
}

async fn nonce_of(chain: &Chain, keys: &Keys) -> Result<u64> {
	Ok(chain.api.transactions().await?.account_nonce(&keys.account()).await?)
}

/// Funds `senders` load accounts from Alice and opens their channels.
pub async fn setup(chain: &Chain, senders: usize) -> Result<Setup> {
	let alice = Keys::from_uri("//Alice")?;
	let bob = Keys::from_uri("//Bob")?;
	let keys = load_keys(senders)?;
	let signer = Signer::new(chain).await?;
	let mut alice_nonce = nonce_of(chain, &alice).await?;
	let mut batch = Vec::new();
	for sender in &keys {
		let call = runtime::tx()
			.balances()
			.transfer_keep_alive(MultiAddress::Id(sender.account()), 10_000 * crate::UNIT);
		batch.push(signer.prepare(&alice, alice_nonce, &call, Kind::Transfer, Expect::Success)?);
		alice_nonce += 1;
	}
	ensure_clean(flood(chain, batch, Duration::from_secs(120)).await?, "funding")?;

	// The same call for every load account: a channel to Bob, and one more for the closing one.
	let open = runtime::tx().payment_channels().open_channel(
		MultiAddress::Id(bob.account()),
		100 * crate::UNIT,
		10_000,
		None,
	);
	let mut batch = Vec::new();
	for sender in &keys {
		let nonce = nonce_of(chain, sender).await?;
		batch.push(signer.prepare(sender, nonce, &open, Kind::Open, Expect::Success)?);
	}
	ensure_clean(flood(chain, batch, Duration::from_secs(120)).await?, "opening channels")?;
	let mut channels = Vec::new();
	for sender in &keys {
		let ids = chain.channels_of(&sender.account()).await?;
		channels.push(*ids.last().context("the load account has no channel")?);
	}

	// A closing channel on which Bob's proof 1000 is recorded.
	let opener = &keys[0];
	let receipt = chain.submit("open the closing channel", &open, opener).await?;
	let closing_channel =
		receipt.event::<runtime::payment_channels::events::ChannelOpened>()?.channel_id;
	let proof = bob_proof(chain, &bob, closing_channel, 1_000);
	let close = runtime::tx().payment_channels().close(
		closing_channel,
		Some(signed_balance_proof(chain.genesis_hash, closing_channel, bob.public(), &proof)),
	);
	chain.submit("close it", &close, opener).await?;
	let mut nonces = Vec::with_capacity(keys.len());
	for sender in &keys {
		nonces.push(nonce_of(chain, sender).await?);
	}
	Ok(Setup { senders: keys, nonces, channels, closing_channel, counterparty: bob })
}

fn bob_proof(chain: &Chain, bob: &Keys, channel_id: ChannelId, nonce: Nonce) -> ProofState {
	let mut proof =
		ProofState { nonce, transferred: nonce as u128, signature: [0; 64], locks: None };
	proof.signature = bob.sign(&proof_message(chain.genesis_hash, channel_id, &proof));
	proof
}

fn ensure_clean(report: FloodReport, what: &str) -> Result<()> {
	if !report.mismatches.is_empty() {
		bail!("{what}: {}", report.mismatches.join("; "));
	}
	Ok(())
}

/// The channel-operation mix: of every 10 operations, 6 valid deposits, 1 bad signature, 1
/// stale proof, 1 stale transaction nonce and 1 garbage extrinsic.
pub async fn channel_operations(
	chain: &Chain,
	setup: &mut Setup,
	count: usize,
) -> Result<Vec<Prepared>> {
	let mut prepared = Vec::with_capacity(count);
	let signer = Signer::new(chain).await?;
	// Bob's proof 10 against the recorded 1000: the same stale dispute from every sender.
	let stale_proof = bob_proof(chain, &setup.counterparty, setup.closing_channel, 10);
	let stale_dispute = runtime::tx().payment_channels().update_balance_proof(
		setup.closing_channel,
		signed_balance_proof(
			chain.genesis_hash,
			setup.closing_channel,
			setup.counterparty.public(),
			&stale_proof,
		),
	);
	for i in 0..count {
		let s = i % setup.senders.len();
		let sender = &setup.senders[s];
		let channel = setup.channels[s];
		let nonce = setup.nonces[s];
		let tx = match i % 10 {
			0..=5 => {
				let call =
					runtime::tx().payment_channels().deposit(channel, 10 * crate::MILLI_UNIT);
				signer.prepare(sender, nonce, &call, Kind::Deposit, Expect::Success)?
			}
			6 => {
				// Claims to be Bob's proof, signed by the sender.
				let mut proof =
					ProofState { nonce: 5, transferred: 5, signature: [0; 64], locks: None };
				proof.signature = sender.sign(&proof_message(chain.genesis_hash, channel, &proof));
				let forged = signed_balance_proof(
					chain.genesis_hash,
					channel,
					setup.counterparty.public(),
					&proof,
				);
				let call = runtime::tx().payment_channels().close(channel, Some(forged));
				signer.prepare(
					sender,
					nonce,
					&call,
					Kind::BadSignature,
					Expect::PalletError("InvalidSignature"),
				)?
			}
			7 => signer.prepare(
				sender,
				nonce,
				&stale_dispute,
				Kind::StaleProof,
				Expect::PalletError("StaleBalanceProof"),
			)?,
			8 => {
				// Reuses a nonce this account spent before the flood.
				let call =
					runtime::tx().payment_channels().deposit(channel, 10 * crate::MILLI_UNIT);
				let tx = signer.prepare(
					sender,
					0,
					&call,
					Kind::StaleTransactionNonce,
					Expect::PoolRejects("outdated"),
				)?;
				prepared.push(tx);
				continue;
			}
			_ => {
				prepared.push(garbage(i as u64));
				continue;
			}
		};
		setup.nonces[s] += 1;
		prepared.push(tx);
	}
	Ok(prepared)
}

/// `count` plain transfers from the load accounts to Bob: the baseline.
pub async fn transfers(chain: &Chain, setup: &mut Setup, count: usize) -> Result<Vec<Prepared>> {
	let mut prepared = Vec::with_capacity(count);
	let signer = Signer::new(chain).await?;
	let to: AccountId32 = setup.counterparty.account();
	let call =
		runtime::tx().balances().transfer_keep_alive(MultiAddress::Id(to), 10 * crate::MILLI_UNIT);
	for i in 0..count {
		let s = i % setup.senders.len();
		prepared.push(signer.prepare(
			&setup.senders[s],
			setup.nonces[s],
			&call,
			Kind::Transfer,
			Expect::Success,
		)?);
		setup.nonces[s] += 1;
	}
	Ok(prepared)
}
