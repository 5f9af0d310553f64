//! The daemon's JSON-RPC 2.0 API, over HTTP and WebSocket on one port (docs/api.md has every
//! method with an example). Amounts are decimal strings (planck, or with a unit: `"1.5UNIT"`),
//! so no JSON reader rounds them; numbers are taken too while they are exact.
//!
//! Errors have stable codes: [`auth::UNAUTHORIZED`], `-32602` for malformed parameters (the
//! JSON-RPC standard's), [`REFUSED_LOCALLY`] for a call the chain would refuse (nothing was
//! submitted, no fee paid), [`CHAIN_REFUSED`] for one the chain refused, [`PAYMENT_FAILED`] for a
//! payment that was not acknowledged, and [`FAILED`] for anything else (the node or the peer
//! unreachable).

use anyhow::Result;
use jsonrpsee::{
	server::{RpcModule, Server, ServerHandle, SubscriptionMessage},
	types::{ErrorObjectOwned, Params},
};
use paychan_primitives::ChannelId;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::net::SocketAddr;

use super::{auth, Shared};
use crate::{calls, planner};

/// Anything else that failed.
pub const FAILED: i32 = -32000;
/// The daemon refused a call the chain would refuse; nothing was submitted.
pub const REFUSED_LOCALLY: i32 = -32010;
/// The chain refused the extrinsic (its fee may have been paid).
pub const CHAIN_REFUSED: i32 = -32011;
/// A payment was not acknowledged by the receiver.
pub const PAYMENT_FAILED: i32 = -32012;
/// The standard code of parameters that do not parse.
pub const INVALID_PARAMS: i32 = -32602;

/// The largest request body the API reads.
pub const MAX_REQUEST_BYTES: u32 = 1 << 20;
/// The most history entries one `paychan_payments` call returns.
pub const MAX_PAGE: usize = 1_000;
/// The most channels `paychan_network` reads (the newest ids).
pub const NETWORK_CHANNELS: usize = 1_000;

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// An error of the library as an API error with its stable code.
fn api_error(failure: anyhow::Error) -> ErrorObjectOwned {
	let code = match calls::error_code(&failure) {
		"chain_refused" => CHAIN_REFUSED,
		"refused_locally" => REFUSED_LOCALLY,
		_ => FAILED,
	};
	error(code, format!("{failure:#}"))
}

fn to_value<T: serde::Serialize>(value: T) -> Result<Value, ErrorObjectOwned> {
	serde_json::to_value(value).map_err(|e| error(FAILED, e.to_string()))
}

/// An amount in planck: a decimal string, with or without a unit, or an exact JSON integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount(pub u128);

impl<'de> Deserialize<'de> for Amount {
	fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
		#[derive(Deserialize)]
		#[serde(untagged)]
		enum Raw {
			Text(String),
			Number(u64),
		}
		match Raw::deserialize(deserializer).map_err(|_| {
			serde::de::Error::custom(
				"an amount is a string of planck or with a unit (\"1.5UNIT\"), or a whole number \
				 below 2^64",
			)
		})? {
			Raw::Text(text) => {
				crate::amount::parse(&text).map(Amount).map_err(serde::de::Error::custom)
			}
			Raw::Number(number) => Ok(Amount(number.into())),
		}
	}
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelParam {
	channel_id: ChannelId,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelAmount {
	channel_id: ChannelId,
	amount: Amount,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceParams {
	amount: Amount,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteParams {
	to: String,
	amount: Amount,
	#[serde(default)]
	max_hops: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRoutedParams {
	to: String,
	amount: Amount,
	/// The invoice's secret hash, 0x and 64 hex digits.
	secret_hash: String,
	/// How long to wait for the secret to come back.
	#[serde(default = "default_routed_timeout")]
	timeout_seconds: u64,
	/// The most hops the route may take (the daemon's limit if absent).
	#[serde(default)]
	max_hops: Option<usize>,
}

fn default_routed_timeout() -> u64 {
	60
}

/// The most seconds a `paychan_payRouted` call waits for its secret.
pub const MAX_ROUTED_TIMEOUT: u64 = 3_600;

fn hash32(text: &str) -> Result<[u8; 32], ErrorObjectOwned> {
	let digits = text.strip_prefix("0x").unwrap_or(text);
	let bytes = hex::decode(digits).ok().filter(|bytes| bytes.len() == 32).ok_or_else(|| {
		error(INVALID_PARAMS, format!("`{text}` is not a secret hash (0x and 64 hex digits)"))
	})?;
	Ok(bytes.try_into().expect("32 bytes"))
}

impl PayRoutedParams {
	fn check(&self) -> Result<([u8; 32], [u8; 32]), ErrorObjectOwned> {
		if self.amount.0 == 0 {
			return Err(error(INVALID_PARAMS, "the amount must be positive"));
		}
		if self.timeout_seconds == 0 || self.timeout_seconds > MAX_ROUTED_TIMEOUT {
			return Err(error(
				INVALID_PARAMS,
				format!("timeout_seconds must be 1 to {MAX_ROUTED_TIMEOUT}"),
			));
		}
		check_hops(self.max_hops)?;
		Ok((account(&self.to)?, hash32(&self.secret_hash)?))
	}
}

fn check_hops(max_hops: Option<usize>) -> Result<(), ErrorObjectOwned> {
	let most = crate::wire::MAX_ONWARD_HOPS + 1;
	match max_hops {
		Some(hops) if hops == 0 || hops > most => {
			Err(error(INVALID_PARAMS, format!("max_hops must be 1 to {most}")))
		}
		_ => Ok(()),
	}
}

/// The most payments one `paychan_payMany` call carries.
pub const MAX_PAYMENTS_PER_CALL: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayManyParams {
	channel_id: ChannelId,
	amounts: Vec<Amount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenParams {
	counterparty: String,
	deposit: Amount,
	#[serde(default = "default_challenge_period")]
	challenge_period: u32,
	/// Where the counterparty listens: recorded in the peer book.
	#[serde(default)]
	peer_address: Option<String>,
	/// Dual funding: what the counterparty locks too, by a consent its daemon signs.
	#[serde(default)]
	counterparty_deposit: Option<Amount>,
}

fn default_challenge_period() -> u32 {
	20
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseParams {
	channel_id: ChannelId,
	#[serde(default)]
	force: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BalanceParams {
	#[serde(default)]
	channel_id: Option<ChannelId>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PaymentsParams {
	#[serde(default)]
	before: Option<u64>,
	#[serde(default)]
	limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerParams {
	account: String,
	address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestEntry {
	channel_id: ChannelId,
	max_send: Amount,
	max_receive: Amount,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RebalanceParams {
	entries: Vec<RequestEntry>,
	#[serde(default = "zero_amount")]
	max_fee: Amount,
	#[serde(default = "default_expiry")]
	expires_in: u32,
}

fn zero_amount() -> Amount {
	Amount(0)
}

fn default_expiry() -> u32 {
	100
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SolveParams {
	#[serde(default)]
	dry_run: bool,
}

/// Parses `params` (an object, or absent where every field has a default) as `T`.
fn parse<T: for<'de> Deserialize<'de> + Default>(params: &Params) -> Result<T, ErrorObjectOwned> {
	if params.as_str().is_none() {
		return Ok(T::default());
	}
	parse_required(params)
}

fn parse_required<T: for<'de> Deserialize<'de>>(params: &Params) -> Result<T, ErrorObjectOwned> {
	let text = params.as_str().unwrap_or("null");
	serde_json::from_str(text)
		.map_err(|e| error(INVALID_PARAMS, format!("invalid parameters: {e}")))
}

/// The methods whose parameters [`decode_params`] reads (subscriptions take none).
pub const METHODS: &[&str] = &[
	"paychan_info",
	"paychan_balance",
	"paychan_channels",
	"paychan_open",
	"paychan_deposit",
	"paychan_withdraw",
	"paychan_pay",
	"paychan_payMany",
	"paychan_close",
	"paychan_dispute",
	"paychan_settle",
	"paychan_payments",
	"paychan_peers",
	"paychan_addPeer",
	"paychan_rebalanceRequest",
	"paychan_rebalanceCancel",
	"paychan_rebalanceSolve",
	"paychan_rebalanceStatus",
	"paychan_stats",
	"paychan_network",
	"paychan_invoice",
	"paychan_route",
	"paychan_payRouted",
	"paychan_routedPayments",
];

/// Decodes `params` of `method` into the type its handler reads, and nothing more: the API's
/// request decoder without a daemon behind it (the fuzz target `api_request` drives it; the
/// handlers call the same `parse` and `parse_required`).
pub fn decode_params(method: &str, params: Option<&str>) -> Result<(), ErrorObjectOwned> {
	let params = Params::new(params);
	match method {
		"paychan_info"
		| "paychan_channels"
		| "paychan_peers"
		| "paychan_rebalanceCancel"
		| "paychan_rebalanceStatus"
		| "paychan_stats"
		| "paychan_routedPayments"
		| "paychan_network" => Ok(()),
		"paychan_invoice" => parse_required::<InvoiceParams>(&params).map(drop),
		"paychan_route" => {
			let RouteParams { to, max_hops, .. } = parse_required(&params)?;
			check_hops(max_hops)?;
			account(&to).map(drop)
		}
		"paychan_payRouted" => parse_required::<PayRoutedParams>(&params)?.check().map(drop),
		"paychan_balance" => parse::<BalanceParams>(&params).map(drop),
		"paychan_open" => parse_required::<OpenParams>(&params).map(drop),
		"paychan_deposit" | "paychan_withdraw" | "paychan_pay" => {
			parse_required::<ChannelAmount>(&params).map(drop)
		}
		"paychan_payMany" => check_many(&parse_required::<PayManyParams>(&params)?.amounts),
		"paychan_close" | "paychan_dispute" => parse_required::<CloseParams>(&params).map(drop),
		"paychan_settle" => parse_required::<ChannelParam>(&params).map(drop),
		"paychan_payments" => parse::<PaymentsParams>(&params).map(drop),
		"paychan_addPeer" => parse_required::<PeerParams>(&params).map(drop),
		"paychan_rebalanceRequest" => parse_required::<RebalanceParams>(&params).map(drop),
		"paychan_rebalanceSolve" => parse::<SolveParams>(&params).map(drop),
		_ => Err(error(jsonrpsee::types::error::METHOD_NOT_FOUND_CODE, "Method not found")),
	}
}

fn check_many(amounts: &[Amount]) -> Result<(), ErrorObjectOwned> {
	if amounts.is_empty() || amounts.len() > MAX_PAYMENTS_PER_CALL {
		return Err(error(
			INVALID_PARAMS,
			format!("amounts must hold 1 to {MAX_PAYMENTS_PER_CALL} payments"),
		));
	}
	if amounts.iter().any(|amount| amount.0 == 0) {
		return Err(error(INVALID_PARAMS, "every amount must be positive"));
	}
	Ok(())
}

fn account(text: &str) -> Result<[u8; 32], ErrorObjectOwned> {
	crate::address::account(text)
		.map(|account| account.0)
		.ok_or_else(|| error(INVALID_PARAMS, format!("`{text}` is not an SS58 account")))
}

/// The API's methods on `shared`.
pub fn module(shared: Shared) -> Result<RpcModule<Shared>> {
	let mut module = RpcModule::new(shared);
	module.register_async_method("paychan_info", |_, shared, _| async move {
		let party = &shared.party;
		Ok::<_, ErrorObjectOwned>(json!({
			"account": party.keys.account().to_string(),
			"genesis_hash": format!("0x{}", hex::encode(party.chain.genesis_hash)),
			"peer_listen": shared.config.peer_listen,
			"history_entries": party.store.payment_count().map_err(api_error)?,
			"block": party.chain.block_number().await.map_err(api_error)?,
			"version": env!("CARGO_PKG_VERSION"),
		}))
	})?;
	module.register_async_method("paychan_balance", |params, shared, _| async move {
		let params: BalanceParams = parse(&params)?;
		to_value(shared.party.balance(params.channel_id).await.map_err(api_error)?)
	})?;
	module.register_async_method("paychan_channels", |_, shared, _| async move {
		to_value(shared.party.balance(None).await.map_err(api_error)?.channels)
	})?;
	module.register_async_method("paychan_open", |params, shared, _| async move {
		let params: OpenParams = parse_required(&params)?;
		let counterparty = account(&params.counterparty)?;
		if let Some(address) = params.peer_address {
			shared.add_peer(counterparty, address).map_err(api_error)?;
		}
		let co_funding = match params.counterparty_deposit {
			None => None,
			Some(amount) => match shared.peer_address(&counterparty) {
				Some(address) => Some((amount.0, address)),
				None => {
					return Err(error(
						REFUSED_LOCALLY,
						"dual funding asks the counterparty's daemon for its consent: give 						 peer_address (or add the peer first)",
					))
				}
			},
		};
		let co_funding = co_funding.as_ref().map(|(amount, address)| (*amount, address.as_str()));
		let opened = shared
			.party
			.open(&params.counterparty, params.deposit.0, params.challenge_period, co_funding)
			.await
			.map_err(api_error)?;
		to_value(opened)
	})?;
	module.register_async_method("paychan_deposit", |params, shared, _| async move {
		let params: ChannelAmount = parse_required(&params)?;
		to_value(shared.party.deposit(params.channel_id, params.amount.0).await.map_err(api_error)?)
	})?;
	module.register_async_method("paychan_withdraw", |params, shared, _| async move {
		let ChannelAmount { channel_id, amount } = parse_required(&params)?;
		let job: super::payer::Exclusive = Box::new(move |party, peer| {
			Box::pin(async move {
				Ok(serde_json::to_value(party.withdraw(channel_id, &peer, amount.0).await?)?)
			})
		});
		shared.exclusive(channel_id, job).await.map_err(api_error)
	})?;
	module.register_async_method("paychan_pay", |params, shared, _| async move {
		let ChannelAmount { channel_id, amount } = parse_required(&params)?;
		if amount.0 == 0 {
			return Err(error(INVALID_PARAMS, "the amount must be positive"));
		}
		match shared.pay(channel_id, amount.0).await {
			Ok(paid) => to_value(paid),
			Err(failure) => Err(error(PAYMENT_FAILED, format!("{failure:#}"))),
		}
	})?;
	module.register_async_method("paychan_invoice", |params, shared, _| async move {
		let InvoiceParams { amount } = parse_required(&params)?;
		if amount.0 == 0 {
			return Err(error(INVALID_PARAMS, "the amount must be positive"));
		}
		to_value(shared.invoice(amount.0).map_err(api_error)?)
	})?;
	module.register_async_method("paychan_route", |params, shared, _| async move {
		let RouteParams { to, amount, max_hops } = parse_required(&params)?;
		let to = account(&to)?;
		if amount.0 == 0 {
			return Err(error(INVALID_PARAMS, "the amount must be positive"));
		}
		check_hops(max_hops)?;
		match shared.route(to, amount.0, max_hops).await {
			Ok(route) => to_value(route),
			Err(failure) => Err(error(PAYMENT_FAILED, format!("{failure:#}"))),
		}
	})?;
	module.register_async_method("paychan_payRouted", |params, shared, _| async move {
		let params: PayRoutedParams = parse_required(&params)?;
		let (to, hash) = params.check()?;
		let timeout = std::time::Duration::from_secs(params.timeout_seconds);
		match shared.pay_routed(to, params.amount.0, hash, params.max_hops, timeout).await {
			Ok(paid) => to_value(paid),
			Err(failed) => Err(ErrorObjectOwned::owned(
				PAYMENT_FAILED,
				failed.to_string(),
				Some(json!({ "attempts": failed.attempts })),
			)),
		}
	})?;
	module.register_async_method("paychan_routedPayments", |_, shared, _| async move {
		let entries = shared.party.store.htlcs().map_err(api_error)?;
		let payments: Vec<Value> = entries
			.into_iter()
			.map(|(hash, entry)| {
				// A payer whose every route was refused before a lock was taken is no longer
				// `origin`, and received nothing.
				let role = match (entry.origin || entry.incoming.is_empty(), entry.invoice) {
					(_, Some(_)) => "payee",
					(true, None) => "payer",
					(false, None) => "forwarder",
				};
				let status = match (entry.reveal, &entry.failed) {
					(true, _) => "paid",
					(false, Some(_)) => "failed",
					(false, None) => "pending",
				};
				json!({
					"secret_hash": format!("0x{}", hex::encode(hash)),
					"role": role,
					"status": status,
					"invoice": entry.invoice.map(|amount| amount.to_string()),
					"failed": entry.failed,
					"incoming": entry.incoming.iter().map(|(channel, amount, expires_at, _)| json!({
						"channel_id": channel,
						"amount": amount.to_string(),
						"expires_at": expires_at,
					})).collect::<Vec<_>>(),
					"outgoing": entry.outgoing,
					"unix_ms": entry.unix_ms,
				})
			})
			.collect();
		Ok::<_, ErrorObjectOwned>(Value::from(payments))
	})?;
	module.register_async_method("paychan_payMany", |params, shared, _| async move {
		let PayManyParams { channel_id, amounts } = parse_required(&params)?;
		check_many(&amounts)?;
		// Submitted together, so they share proofs; each is answered on its own.
		let answers = futures::future::join_all(
			amounts.iter().map(|amount| shared.pay(channel_id, amount.0)),
		)
		.await;
		let results: Vec<Value> = answers
			.into_iter()
			.map(|answer| match answer {
				Ok(paid) => serde_json::to_value(paid).expect("serializable"),
				Err(failure) => json!({ "error": {
					"code": PAYMENT_FAILED,
					"message": format!("{failure:#}"),
				}}),
			})
			.collect();
		Ok::<_, ErrorObjectOwned>(Value::from(results))
	})?;
	module.register_async_method("paychan_close", |params, shared, _| async move {
		let CloseParams { channel_id, force } = parse_required(&params)?;
		if force {
			return to_value(shared.party.close_unilaterally(channel_id).await.map_err(api_error)?);
		}
		let job: super::payer::Exclusive = Box::new(move |party, peer| {
			Box::pin(async move {
				Ok(serde_json::to_value(party.close_cooperatively(channel_id, &peer).await?)?)
			})
		});
		shared.exclusive(channel_id, job).await.map_err(api_error)
	})?;
	module.register_async_method("paychan_dispute", |params, shared, _| async move {
		let CloseParams { channel_id, force } = parse_required(&params)?;
		to_value(shared.party.dispute(channel_id, force).await.map_err(api_error)?)
	})?;
	module.register_async_method("paychan_settle", |params, shared, _| async move {
		let ChannelParam { channel_id } = parse_required(&params)?;
		to_value(shared.party.settle(channel_id).await.map_err(api_error)?)
	})?;
	module.register_async_method("paychan_payments", |params, shared, _| async move {
		let params: PaymentsParams = parse(&params)?;
		let limit = params.limit.unwrap_or(100);
		if limit == 0 || limit > MAX_PAGE {
			return Err(error(INVALID_PARAMS, format!("limit must be 1 to {MAX_PAGE}")));
		}
		let page = shared.party.store.payments(params.before, limit).map_err(api_error)?;
		let next_before = if page.len() == limit { page.last().map(|(seq, _)| *seq) } else { None };
		let entries: Vec<Value> = page
			.into_iter()
			.map(|(seq, entry)| {
				let mut value = serde_json::to_value(entry).expect("serializable");
				value["seq"] = seq.into();
				value
			})
			.collect();
		Ok::<_, ErrorObjectOwned>(json!({ "entries": entries, "next_before": next_before }))
	})?;
	module.register_async_method("paychan_peers", |_, shared, _| async move {
		let peers: Vec<Value> = shared
			.peers()
			.into_iter()
			.map(|(account, address)| json!({ "account": account, "address": address }))
			.collect();
		Ok::<_, ErrorObjectOwned>(Value::from(peers))
	})?;
	module.register_async_method("paychan_addPeer", |params, shared, _| async move {
		let PeerParams { account: who, address } = parse_required(&params)?;
		let key = account(&who)?;
		if address.parse::<SocketAddr>().is_err() && !address.contains(':') {
			return Err(error(INVALID_PARAMS, format!("`{address}` is not HOST:PORT")));
		}
		shared.add_peer(key, address.clone()).map_err(api_error)?;
		Ok::<_, ErrorObjectOwned>(json!({ "account": who, "address": address }))
	})?;
	module.register_async_method("paychan_rebalanceRequest", |params, shared, _| async move {
		let params: RebalanceParams = parse_required(&params)?;
		let entries: Vec<planner::Entry> = params
			.entries
			.iter()
			.map(|entry| (entry.channel_id, entry.max_send.0, entry.max_receive.0))
			.collect();
		let requested = shared
			.request_rebalance(&entries, params.max_fee.0, params.expires_in, false)
			.await
			.map_err(api_error)?;
		let mut answer = to_value(&requested)?;
		answer["done"] = json!("rebalance request declared");
		Ok::<_, ErrorObjectOwned>(answer)
	})?;
	module.register_async_method("paychan_rebalanceStatus", |_, shared, _| async move {
		shared.rebalance_status().await.map_err(api_error)
	})?;
	module.register_method("paychan_stats", |_, shared, _| {
		Ok::<_, ErrorObjectOwned>(shared.metrics.snapshot())
	})?;
	module.register_async_method("paychan_network", |_, shared, _| async move {
		let chain = &shared.party.chain;
		let block = chain.block_number().await.map_err(api_error)?;
		let (channels, truncated) =
			chain.all_channels(NETWORK_CHANNELS as u64).await.map_err(api_error)?;
		let pair = |view: &crate::chain::ChannelView,
		            field: fn(&crate::chain::SideView) -> u128| {
			view.sides.each_ref().map(|side| field(side).to_string())
		};
		let channels: Vec<Value> = channels
			.iter()
			.map(|view| {
				json!({
					"channel_id": view.id,
					"participants": view.participants.map(|who| subxt::utils::AccountId32(who).to_string()),
					"deposited": pair(view, |side| side.deposited),
					"custody": pair(view, |side| side.custody),
					"balances": view.chain_balances().map(|balance| balance.to_string()),
					"transferred": pair(view, |side| side.transferred),
					"rebalanced_in": pair(view, |side| side.rebalanced_in),
					"rebalanced_out": pair(view, |side| side.rebalanced_out),
					"closing": view.closing.is_some(),
				})
			})
			.collect();
		let last_round = shared.last_round.lock().expect("not poisoned").clone();
		let last_round = last_round.map(|(block, moves)| json!({ "block": block, "moves": moves }));
		Ok::<_, ErrorObjectOwned>(json!({
			"block": block,
			"channels": channels,
			"truncated": truncated,
			"last_round": last_round,
		}))
	})?;
	module.register_async_method("paychan_rebalanceCancel", |_, shared, _| async move {
		let party = &shared.party;
		let call = crate::chain::runtime::tx().payment_channels().cancel_rebalance_request();
		let receipt = party
			.chain
			.submit("cancel_rebalance_request", &call, &party.keys)
			.await
			.map_err(api_error)?;
		Ok::<_, ErrorObjectOwned>(
			json!({ "done": "rebalance request cancelled", "fee": receipt.fee.to_string() }),
		)
	})?;
	module.register_async_method("paychan_rebalanceSolve", |params, shared, _| async move {
		let SolveParams { dry_run } = parse(&params)?;
		let party = &shared.party;
		to_value(planner::solve(&party.chain, &party.keys, dry_run).await.map_err(api_error)?)
	})?;
	module.register_subscription(
		"paychan_subscribeEvents",
		"paychan_event",
		"paychan_unsubscribeEvents",
		|_, pending, shared, _| async move {
			let Some(events) = shared.events.as_ref() else { return Ok(()) };
			let mut events = events.subscribe();
			let sink = pending.accept().await?;
			loop {
				let event = match events.recv().await {
					Ok(event) => serde_json::to_value(event)?,
					Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
						json!({ "event": "lagged", "missed": missed })
					}
					Err(_) => return Ok(()),
				};
				if sink.send(SubscriptionMessage::from_json(&event)?).await.is_err() {
					return Ok(());
				}
			}
		},
	)?;
	let mut registered: Vec<&str> =
		module.method_names().filter(|name| !name.contains("ubscribe")).collect();
	registered.sort_unstable();
	let mut decoded = METHODS.to_vec();
	decoded.sort_unstable();
	anyhow::ensure!(registered == decoded, "decode_params does not cover every API method");
	Ok(module)
}

/// Serves the API on `address` for requests that carry `token`.
pub async fn serve(
	shared: Shared,
	address: &str,
	token: String,
) -> Result<(ServerHandle, SocketAddr)> {
	let middleware = tower::ServiceBuilder::new().layer(auth::CookieAuthLayer::new(token));
	let server = Server::builder()
		.max_request_body_size(MAX_REQUEST_BYTES)
		.set_http_middleware(middleware)
		.build(address)
		.await
		.map_err(|e| anyhow::anyhow!("cannot serve the API on {address}: {e}"))?;
	let local = server.local_addr()?;
	let handle = server.start(module(shared)?);
	Ok((handle, local))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_parse_from_strings_with_units_and_exact_numbers_only() {
		let amount = |text: &str| serde_json::from_str::<Amount>(text);
		assert_eq!(amount("\"1.5UNIT\"").unwrap(), Amount(crate::UNIT * 3 / 2));
		assert_eq!(
			amount("\"340282366920938463463374607431768211455\"").unwrap(),
			Amount(u128::MAX)
		);
		assert_eq!(amount("12").unwrap(), Amount(12));
		let too_large = amount("\"340282366920938463463374607431768211456\"").unwrap_err();
		assert!(too_large.to_string().contains("too large"), "{too_large}");
		assert!(amount("-1").is_err());
		assert!(amount("1.5").is_err(), "a float is not an exact amount");
		assert!(amount("\"ten\"").is_err());
	}

	#[test]
	fn the_request_decoder_names_unknown_methods_and_bad_parameters() {
		assert_eq!(decode_params("paychan_nope", None).unwrap_err().code(), -32601);
		assert_eq!(decode_params("paychan_pay", None).unwrap_err().code(), INVALID_PARAMS);
		let overflow = r#"{"channel_id":0,"amount":"340282366920938463463374607431768211456"}"#;
		assert_eq!(
			decode_params("paychan_pay", Some(overflow)).unwrap_err().code(),
			INVALID_PARAMS
		);
		assert!(decode_params("paychan_payments", None).is_ok());
		assert!(decode_params("paychan_close", Some(r#"{"channel_id":3,"force":true}"#)).is_ok());
	}

	#[test]
	fn unknown_fields_and_wrong_types_are_refused_with_the_standard_code() {
		let params = |text: &'static str| Params::new(Some(text));
		let wrong_type =
			parse_required::<ChannelAmount>(&params(r#"{"channel_id":"x","amount":"1"}"#));
		assert_eq!(wrong_type.unwrap_err().code(), INVALID_PARAMS);
		let unknown =
			parse_required::<ChannelAmount>(&params(r#"{"channel_id":1,"amount":"1","fee":2}"#));
		assert_eq!(unknown.unwrap_err().code(), INVALID_PARAMS);
		let ok = parse_required::<ChannelAmount>(&params(r#"{"channel_id":1,"amount":"2UNIT"}"#))
			.unwrap();
		assert_eq!((ok.channel_id, ok.amount), (1, Amount(2 * crate::UNIT)));
		let page: PaymentsParams = parse(&Params::new(None)).unwrap();
		assert_eq!((page.before, page.limit), (None, None));
	}
}
