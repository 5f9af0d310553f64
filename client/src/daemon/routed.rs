//! Routed payments in the daemon (docs/protocol.md §10): invoices, paying any reachable account
//! over a path of channels with one hash-time lock per hop, and forwarding the locks other
//! parties route through this one.
//!
//! A payment's parts are tied together by its secret hash. The payee issues an invoice (a fresh
//! secret, kept in the store); the payer finds the cheapest route over the channels the chain
//! lists and locks the first hop; each forwarding party checks its fee and timing, takes the
//! lock and locks the next hop; the payee reveals the secret to its sender once the invoice's
//! amount is locked to it, and each sender pays its lock and tells the secret upstream in turn.
//!
//! A lock that was acknowledged is only ever resolved by its payment or its expiry, never
//! dropped early on a failure downstream: the chain keeps no record of which of a sender's
//! locked proofs came last, so a receiver could still submit an older proof that holds the lock
//! and claim it once the secret is out (§10.7). For the same reason a payer never tries a second
//! route under a secret hash while a lock of the first is pending: a party on the first route
//! could be paid without forwarding. A route refused before its first lock was acknowledged
//! (the first forwarding party checks that it can forward before it acknowledges) is retried
//! over another.

use anyhow::{anyhow, bail, ensure, Context, Result};
use paychan_primitives::{locks::secret_hash, ChannelId};
use paychan_rebalancer::routing::{
	Edge, FeePolicy, Graph, Parts, Route, Router, Scratch, Sharing, Timing,
};
use serde::Serialize;
use std::{
	collections::{BTreeMap, HashSet},
	time::{Duration, Instant},
};
use subxt::utils::AccountId32;
use tokio::sync::{mpsc, oneshot};

use super::{payer::Order, Shared};
use crate::{
	htlc::HtlcLock,
	keys::hex,
	session::IncomingLock,
	wire::{Hop, MAX_ONWARD_HOPS},
};

/// How this party routes, forwards and takes locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockPolicy {
	/// What it charges to forward (and assumes every other party charges, having no other
	/// source for their fees yet).
	pub fee: FeePolicy,
	/// Blocks the payee's lock runs, from now.
	pub final_margin: u32,
	/// Blocks each lock runs longer than the next one along the route.
	pub hop_margin: u32,
	/// Blocks it needs to register a secret on chain: it takes no lock expiring sooner.
	pub reveal_margin: u32,
	/// The most hops a route of its payments may take.
	pub max_hops: usize,
}

impl Default for LockPolicy {
	fn default() -> LockPolicy {
		LockPolicy {
			fee: FeePolicy { base: 1_000_000, ppm: 100 },
			final_margin: 40,
			hop_margin: 20,
			reveal_margin: crate::session::REVEAL_MARGIN,
			max_hops: 8,
		}
	}
}

/// Where a routed payment's outcome goes: its secret, or why it failed.
pub type Outcome = oneshot::Sender<Result<[u8; 32], String>>;

/// The most parts a payment is split into when no single route carries it.
pub const MAX_PARTS: usize = 8;

/// Routes tried at most for one payment (each after the one before was refused before any lock
/// was acknowledged).
const ROUTE_ATTEMPTS: usize = 4;
/// The channels the chain lists that a route is looked for in, newest first.
const GRAPH_CHANNELS: u64 = 10_000;

/// An invoice: what the payee asks, under the hash of a secret only it knows.
#[derive(Clone, Debug, Serialize)]
pub struct Invoice {
	pub payee: String,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub amount: u128,
	pub secret_hash: String,
}

/// One hop of a route as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RouteHopView {
	pub channel_id: ChannelId,
	pub to: String,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub amount: u128,
	pub expires_at: u32,
}

/// A route as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RouteView {
	#[serde(serialize_with = "crate::amount::as_string")]
	pub sent: u128,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub fees: u128,
	pub hops: Vec<RouteHopView>,
}

/// One route tried for a payment, and what came of it.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
	/// The routes of the payment's parts (one unless it was split).
	pub parts: Vec<RouteView>,
	/// `None` if the payment succeeded over it.
	pub error: Option<String>,
}

/// A routed payment that was paid: the secret is the payee's receipt.
#[derive(Clone, Debug, Serialize)]
pub struct RoutedPaid {
	pub secret_hash: String,
	pub secret: String,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub amount: u128,
	#[serde(serialize_with = "crate::amount::as_string")]
	pub fees: u128,
	pub attempts: Vec<Attempt>,
	pub latency_us: u64,
}

/// Why a routed payment failed, with every route tried.
#[derive(Debug)]
pub struct RoutedFailed {
	pub reason: String,
	pub attempts: Vec<Attempt>,
}

impl std::fmt::Display for RoutedFailed {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "{}", self.reason)?;
		for (index, attempt) in self.attempts.iter().enumerate() {
			let parts: Vec<String> = attempt
				.parts
				.iter()
				.map(|part| {
					let channels: Vec<String> =
						part.hops.iter().map(|hop| hop.channel_id.to_string()).collect();
					channels.join(" → ")
				})
				.collect();
			let error = attempt.error.as_deref().unwrap_or("paid");
			write!(f, "; attempt {} over channels {}: {error}", index + 1, parts.join(" and "))?;
		}
		Ok(())
	}
}

impl std::error::Error for RoutedFailed {}

/// The chain's open channels as a routing graph: parties by account, both directions of each
/// channel, this party's own directions with what it may spend, the others with the channel's
/// whole funds (an upper bound: their split is known only to their participants).
pub struct ChainGraph {
	pub graph: Graph,
	pub accounts: Vec<[u8; 32]>,
	index: BTreeMap<[u8; 32], usize>,
}

impl ChainGraph {
	pub fn node(&self, account: &[u8; 32]) -> Option<usize> {
		self.index.get(account).copied()
	}
}

/// Builds the routing graph from `channels` (the chain's), where `own` gives what this party
/// may spend in each of its channels and `fee` is every party's assumed fee. Pure.
pub fn chain_graph(
	channels: &[crate::chain::ChannelView],
	own: &BTreeMap<ChannelId, u128>,
	me: [u8; 32],
	fee: FeePolicy,
	excluded: &HashSet<ChannelId>,
) -> ChainGraph {
	let mut index = BTreeMap::new();
	let mut accounts = Vec::new();
	let mut node = |account: [u8; 32]| {
		*index.entry(account).or_insert_with(|| {
			accounts.push(account);
			accounts.len() - 1
		})
	};
	let me_node = node(me);
	let mut edges = Vec::new();
	for view in channels.iter().filter(|view| view.closing.is_none()) {
		if excluded.contains(&view.id) {
			continue;
		}
		let ends = view.participants.map(&mut node);
		for (from, to) in [(ends[0], ends[1]), (ends[1], ends[0])] {
			let capacity = match (from == me_node, to == me_node) {
				(true, _) => own.get(&view.id).copied().unwrap_or(0),
				// Nothing routes back into the payer.
				(_, true) => 0,
				_ => view.total(),
			};
			if capacity > 0 {
				edges.push(Edge { channel_id: view.id, from, to, capacity });
			}
		}
	}
	let nodes = accounts.len();
	ChainGraph { graph: Graph { nodes, edges, fees: vec![fee; nodes] }, accounts, index }
}

/// The checks a forwarding party makes of a lock before it acknowledges it, with the outgoing
/// channel's spendable amount already read: its fee, the timing, and the capacity. Pure.
pub fn check_forward(
	lock: &HtlcLock,
	next: &Hop,
	policy: &LockPolicy,
	now: u32,
	spendable: i128,
) -> std::result::Result<(), String> {
	let fee = policy.fee.fee(next.amount).ok_or("the amount overflows")?;
	if lock.amount < next.amount.saturating_add(fee) {
		return Err(format!(
			"the lock carries {} to forward {}: this party's fee is {fee}",
			lock.amount, next.amount
		));
	}
	if lock.expires_at < next.expires_at.saturating_add(policy.hop_margin) {
		return Err(format!(
			"the lock expires at block {}, less than {} blocks after the next one (block {})",
			lock.expires_at, policy.hop_margin, next.expires_at
		));
	}
	if next.expires_at < now.saturating_add(policy.reveal_margin) {
		return Err(format!(
			"the next lock would expire at block {}, too soon after block {now}",
			next.expires_at
		));
	}
	if next.amount as i128 > spendable {
		return Err(format!(
			"channel {}: cannot forward {}: {} can be spent there",
			next.channel_id,
			next.amount,
			spendable.max(0)
		));
	}
	Ok(())
}

impl Shared {
	/// Issues an invoice for `amount`: a fresh secret, kept in the store until it is paid.
	pub fn invoice(&self, amount: u128) -> Result<Invoice> {
		ensure!(amount > 0, "an invoice must ask for a positive amount");
		let secret: [u8; 32] = rand::random();
		let hash = secret_hash(&secret);
		self.party.store.update_htlc(hash, |entry| {
			entry.secret = Some(secret);
			entry.invoice = Some(amount);
			Ok(())
		})?;
		Ok(Invoice {
			payee: self.party.keys.account().to_string(),
			amount,
			secret_hash: format!("0x{}", hex(&hash)),
		})
	}

	/// The route a payment of `amount` to `payee` would take now, of at most `max_hops` hops
	/// (the policy's limit if `None`).
	pub async fn route(
		&self,
		payee: [u8; 32],
		amount: u128,
		max_hops: Option<usize>,
	) -> Result<RouteView> {
		let (routes, graph) = self.find_routes(payee, amount, max_hops, 1, &HashSet::new()).await?;
		Ok(route_view(&routes[0], &graph))
	}

	/// The cheapest route for `amount`, or, if none carries it and `max_parts` allows, routes
	/// for its parts over routes that share no channel direction ([`Sharing::Disjoint`]).
	async fn find_routes(
		&self,
		payee: [u8; 32],
		amount: u128,
		max_hops: Option<usize>,
		max_parts: usize,
		excluded: &HashSet<ChannelId>,
	) -> Result<(Vec<Route>, ChainGraph)> {
		let party = &self.party;
		let me = party.keys.public();
		ensure!(payee != me, "a payment to oneself needs no route");
		ensure!(amount > 0, "the amount must be positive");
		let (channels, _) = party.chain.all_channels(GRAPH_CHANNELS).await?;
		let mut own = BTreeMap::new();
		let entries = party.request_entries().await?;
		for view in channels.iter().filter(|view| view.side_of(&me).is_some()) {
			if view.closing.is_some() || excluded.contains(&view.id) {
				continue;
			}
			// The view is the one just read: the ledger needs only the store's record.
			let ledger = party.ledger_of(view.clone()).await?;
			let pledged = crate::session::pledged_in(&entries, view.id);
			own.insert(view.id, ledger.spendable(pledged).max(0) as u128);
		}
		let policy = self.config.locks;
		let graph = chain_graph(&channels, &own, me, policy.fee, excluded);
		let payee_node = graph.node(&payee).ok_or_else(|| {
			anyhow!("{} has no open channel on chain: no route reaches it", AccountId32(payee))
		})?;
		let timing = Timing {
			now: party.chain.block_number().await?,
			final_margin: policy.final_margin,
			hop_margin: policy.hop_margin,
			max_hops: max_hops.unwrap_or(policy.max_hops).min(MAX_ONWARD_HOPS + 1),
		};
		let router = Router::new(&graph.graph);
		let payer = graph.node(&me).expect("added first");
		let in_parts =
			if max_parts > 1 { format!(", in up to {max_parts} parts") } else { String::new() };
		let parts = Parts { max: max_parts, sharing: Sharing::Disjoint };
		let capacities = router.capacities();
		let routes = router
			.split_sharing(
				&mut Scratch::default(),
				&capacities,
				payer,
				payee_node,
				amount,
				parts,
				timing,
			)
			.ok_or_else(|| {
				anyhow!(
					"no route of at most {} hops can carry {amount} to {}{in_parts} (this \
					 party's channels can spend {} together)",
					timing.max_hops,
					AccountId32(payee),
					own.values().sum::<u128>()
				)
			})?;
		Ok((routes, graph))
	}

	/// Pays `amount` to `payee` under the invoice's `hash`, over the cheapest route of at most
	/// `max_hops` hops the daemon finds (another, if the first party refuses it); returns once
	/// the payee's secret came back.
	pub async fn pay_routed(
		&self,
		payee: [u8; 32],
		amount: u128,
		hash: [u8; 32],
		max_hops: Option<usize>,
		timeout: Duration,
	) -> std::result::Result<RoutedPaid, RoutedFailed> {
		let started = Instant::now();
		let mut attempts = Vec::new();
		let fail = |reason: String, attempts: Vec<Attempt>| RoutedFailed { reason, attempts };
		let entry = self.party.store.htlc(&hash).map_err(|e| fail(format!("{e:#}"), vec![]))?;
		if let Some(entry) = &entry {
			if entry.origin {
				return Err(fail(
					"this party has paid, or is paying, under this secret hash already: a second \
					 route could pay a party that forwarded nothing; ask the payee for a new \
					 invoice"
						.into(),
					attempts,
				));
			}
		}
		let mut excluded = HashSet::new();
		for _ in 0..ROUTE_ATTEMPTS {
			let found = self.find_routes(payee, amount, max_hops, MAX_PARTS, &excluded).await;
			let (routes, graph) = match found {
				Ok(found) => found,
				Err(error) => return Err(fail(format!("{error:#}"), attempts)),
			};
			let parts: Vec<RouteView> =
				routes.iter().map(|route| route_view(route, &graph)).collect();
			let firsts: Vec<ChannelId> =
				routes.iter().map(|route| route.hops[0].channel_id).collect();
			let latest = routes.iter().map(|route| route.hops[0].expires_at).max().unwrap_or(0);
			let (done_tx, done) = oneshot::channel();
			self.routed.lock().expect("not poisoned").insert(hash, done_tx);
			let noted = self.party.store.update_htlc(hash, |entry| {
				entry.origin = true;
				entry.outgoing.extend(&firsts);
				Ok(())
			});
			if let Err(error) = noted {
				self.routed.lock().expect("not poisoned").remove(&hash);
				return Err(fail(format!("{error:#}"), attempts));
			}
			// Every part's first lock at once; each forwarding party checks before it
			// acknowledges that it can forward.
			let locked = futures::future::join_all(routes.iter().map(|route| {
				let first = &route.hops[0];
				let lock = HtlcLock {
					amount: first.amount,
					expires_at: first.expires_at,
					secret_hash: hash,
				};
				self.lock(first.channel_id, lock, onward_of(route))
			}))
			.await;
			let refused: Vec<(usize, String)> = locked
				.into_iter()
				.enumerate()
				.filter_map(|(part, result)| result.err().map(|error| (part, format!("{error:#}"))))
				.collect();
			if !refused.is_empty() {
				let reasons: Vec<String> = refused
					.iter()
					.map(|(part, error)| match routes.len() {
						1 => error.clone(),
						_ => format!("part {}: {error}", part + 1),
					})
					.collect();
				let reason = reasons.join("; ");
				attempts.push(Attempt { parts, error: Some(reason.clone()) });
				self.routed.lock().expect("not poisoned").remove(&hash);
				if refused.len() < routes.len() {
					// Some parts are locked: they stay until the payee takes all or they expire.
					return Err(fail(
						format!(
							"the payment failed: {reason}; the other parts' locks stay pending \
							 until block {latest} at the latest"
						),
						attempts,
					));
				}
				// Refused before any was acknowledged: nothing is pending; other routes.
				let _ = self.party.store.update_htlc(hash, |entry| {
					entry.origin = false;
					entry.outgoing.retain(|channel| !firsts.contains(channel));
					entry.failed = Some(format!("refused before any lock was taken: {reason}"));
					Ok(())
				});
				for (part, _) in &refused {
					for hop in routes[*part].hops.iter().take(2) {
						excluded.insert(hop.channel_id);
					}
				}
				continue;
			}
			let outcome = tokio::time::timeout(timeout, done).await;
			let result = match outcome {
				Ok(Ok(Ok(secret))) => Ok(secret),
				Ok(Ok(Err(reason))) => Err(reason),
				Ok(Err(_)) => Err("the daemon stopped".to_string()),
				Err(_) => Err(format!(
					"no answer within {} s; the locks stay pending until block {latest} at the \
					 latest (the payment may still succeed: `paychan_routedPayments` shows it)",
					timeout.as_secs(),
				)),
			};
			self.routed.lock().expect("not poisoned").remove(&hash);
			return match result {
				Ok(secret) => {
					attempts.push(Attempt { parts, error: None });
					Ok(RoutedPaid {
						secret_hash: format!("0x{}", hex(&hash)),
						secret: format!("0x{}", hex(&secret)),
						amount,
						fees: routes.iter().map(Route::fees).sum(),
						attempts,
						latency_us: started.elapsed().as_micros() as u64,
					})
				}
				Err(reason) => {
					attempts.push(Attempt { parts, error: Some(reason.clone()) });
					Err(fail(format!("the payment failed: {reason}"), attempts))
				}
			};
		}
		Err(fail(format!("{ROUTE_ATTEMPTS} routes were refused"), attempts))
	}

	/// Adds `lock` in `channel_id`, to be forwarded along `onward`; returns once the receiver
	/// acknowledged it.
	pub async fn lock(
		&self,
		channel_id: ChannelId,
		lock: HtlcLock,
		onward: Vec<Hop>,
	) -> Result<()> {
		let (reply, answer) = oneshot::channel();
		let stopped = || anyhow!("channel {channel_id}: the payer stopped");
		self.payer(channel_id)
			.send(Order::Lock { lock, onward, reply })
			.await
			.map_err(|_| stopped())?;
		answer.await.map_err(|_| stopped())?.map_err(|reason| anyhow!(reason))
	}

	/// This party learned `secret` (from its receiver or the chain): it reveals it to its own
	/// senders from now on, and a payment it made under it is done.
	pub fn learned_secret(&self, secret: [u8; 32]) -> Result<()> {
		self.learned_secrets(&[secret])
	}

	/// [`Shared::learned_secret`] for several secrets, in one commit.
	pub fn learned_secrets(&self, secrets: &[[u8; 32]]) -> Result<()> {
		if secrets.is_empty() {
			return Ok(());
		}
		let hashes: Vec<[u8; 32]> = secrets.iter().map(secret_hash).collect();
		self.party.store.update_htlcs(&hashes, |index, entry| {
			entry.secret = Some(secrets[index]);
			entry.reveal = true;
		})?;
		let mut routed = self.routed.lock().expect("not poisoned");
		for (hash, secret) in hashes.iter().zip(secrets) {
			if let Some(done) = routed.remove(hash) {
				let _ = done.send(Ok(*secret));
			}
		}
		drop(routed);
		self.htlc_changed.send_modify(|count| *count += 1);
		Ok(())
	}

	/// The payment of `hash` failed downstream of this party: its senders are told, and a payment
	/// it made under it fails. A secret it knows wins: a failure after it is moot.
	pub fn payment_failed(&self, hash: [u8; 32], reason: &str) -> Result<()> {
		let (entry, ()) = self.party.store.update_htlc(hash, |entry| {
			if !entry.reveal && entry.failed.is_none() {
				entry.failed = Some(reason.to_owned());
			}
			Ok(())
		})?;
		if entry.reveal {
			return Ok(());
		}
		if let Some(done) = self.routed.lock().expect("not poisoned").remove(&hash) {
			let _ = done.send(Err(reason.to_owned()));
		}
		self.htlc_changed.send_modify(|count| *count += 1);
		Ok(())
	}

	/// Whether this party takes `lock`, to be forwarded along `onward` (a listener asks before it
	/// acknowledges; the frame decoder bounded `onward` already): as the payee, it must have
	/// issued the invoice; as a forwarding party, its fee, the timing and the next channel's
	/// capacity must allow forwarding.
	pub async fn admit_lock(
		&self,
		lock: &HtlcLock,
		onward: &[Hop],
	) -> std::result::Result<(), String> {
		let Some(next) = onward.first() else {
			let entry = self.party.store.htlc(&lock.secret_hash).map_err(|e| format!("{e:#}"))?;
			return match entry {
				Some(entry) if entry.invoice.is_some() && entry.secret.is_some() => Ok(()),
				_ => Err("this party issued no invoice under this secret hash".into()),
			};
		};
		let party = &self.party;
		let read = async {
			let ledger = party.ledger(next.channel_id).await?;
			ensure!(ledger.view.closing.is_none(), "channel {} is closing", next.channel_id);
			let pledged = party.pledged(next.channel_id).await?;
			let now = party.chain.block_number().await?;
			Ok::<_, anyhow::Error>((ledger.spendable(pledged), now))
		};
		let (spendable, now) = read
			.await
			.map_err(|error| format!("cannot forward in channel {}: {error:#}", next.channel_id))?;
		check_forward(lock, next, &self.config.locks, now, spendable)
	}
}

/// What a route's first lock carries on: every hop after the first.
fn onward_of(route: &Route) -> Vec<Hop> {
	route.hops[1..]
		.iter()
		.map(|hop| Hop {
			channel_id: hop.channel_id,
			amount: hop.amount,
			expires_at: hop.expires_at,
		})
		.collect()
}

/// The API's view of `route` over `graph`.
pub fn route_view(route: &Route, graph: &ChainGraph) -> RouteView {
	RouteView {
		sent: route.sent(),
		fees: route.fees(),
		hops: route
			.hops
			.iter()
			.map(|hop| RouteHopView {
				channel_id: hop.channel_id,
				to: AccountId32(graph.accounts[hop.to]).to_string(),
				amount: hop.amount,
				expires_at: hop.expires_at,
			})
			.collect(),
	}
}

/// Takes the locks the listener acknowledged: forwards each along its route, or, as the payee,
/// reveals the secret once the invoice's amount is locked to this party.
pub async fn run(shared: Shared, mut incoming: mpsc::UnboundedReceiver<IncomingLock>) {
	// Payers of channels with locks pending start at once: they resolve the locks as their
	// secrets come back or they expire.
	if let Ok(records) = shared.party.store.channels() {
		for (channel_id, record) in records {
			if record.sent.is_some_and(|proof| !proof.pending_locks().is_empty()) {
				shared.payer(channel_id);
			}
		}
	}
	// Locks acknowledged before a stop and not carried on are taken again.
	match unfinished(&shared) {
		Ok(locks) => {
			for lock in locks {
				eprintln!(
					"routed payment 0x{}: the lock received in channel {} is taken up again",
					hex(&lock.lock.secret_hash),
					lock.channel_id
				);
				spawn_take(&shared, lock);
			}
		}
		Err(error) => eprintln!("routed payments: cannot read the store: {error:#}"),
	}
	while let Some(taken) = incoming.recv().await {
		spawn_take(&shared, taken);
	}
}

fn spawn_take(shared: &Shared, taken: IncomingLock) {
	let shared = shared.clone();
	tokio::spawn(async move {
		if let Err(error) = take(&shared, taken.clone()).await {
			let hash = taken.lock.secret_hash;
			let reason = format!("{error:#}");
			eprintln!("routed payment 0x{}: {reason}", hex(&hash));
			let _ = shared.payment_failed(hash, &reason);
		}
	});
}

/// The received locks still pending in `entry`'s channels (each channel's newest received
/// proof holds them): `(channel, lock, onward)`.
fn pending_incoming(
	shared: &Shared,
	hash: &[u8; 32],
	entry: &crate::store::HtlcEntry,
) -> Result<Vec<IncomingLock>> {
	let mut pending = Vec::new();
	for (channel_id, _, _, onward) in &entry.incoming {
		let record = shared.party.store.channel(*channel_id)?;
		let held = record.received.as_ref().map_or(&[][..], |proof| proof.pending_locks());
		if let Some(lock) = held.iter().find(|lock| lock.secret_hash == *hash) {
			let taken = IncomingLock {
				channel_id: *channel_id,
				lock: lock.clone(),
				onward: onward.clone(),
			};
			if !pending.contains(&taken) {
				pending.push(taken);
			}
		}
	}
	Ok(pending)
}

/// Locks this party acknowledged and has not carried on (a stop between the acknowledgement and
/// the forwarding, or before the payee's check): neither paid nor failed, still pending, and,
/// for a forwarding party, not yet locked in the next channel.
fn unfinished(shared: &Shared) -> Result<Vec<IncomingLock>> {
	let mut locks = Vec::new();
	for (hash, entry) in shared.party.store.htlcs()? {
		if entry.reveal || entry.failed.is_some() {
			continue;
		}
		for taken in pending_incoming(shared, &hash, &entry)? {
			let carried = taken.onward.first().is_some_and(|next| {
				let record = shared.party.store.channel(next.channel_id);
				record.ok().and_then(|record| record.sent).is_some_and(|proof| {
					proof.pending_locks().iter().any(|lock| lock.secret_hash == hash)
				})
			});
			if !carried {
				locks.push(taken);
			}
		}
	}
	Ok(locks)
}

async fn take(shared: &Shared, taken: IncomingLock) -> Result<()> {
	let IncomingLock { lock, onward, .. } = taken;
	let hash = lock.secret_hash;
	let Some(next) = onward.first().cloned() else {
		// This party is the payee: it reveals once the locks still pending to it under the hash
		// add up to the invoice (parts that expired meanwhile do not count).
		let entry = shared.party.store.htlc(&hash)?.context("no invoice under this hash")?;
		let (Some(asked), Some(secret)) = (entry.invoice, entry.secret) else {
			bail!("no invoice under this secret hash");
		};
		let arrived: u128 =
			pending_incoming(shared, &hash, &entry)?.iter().map(|taken| taken.lock.amount).sum();
		if arrived >= asked {
			shared.learned_secret(secret)?;
		}
		return Ok(());
	};
	let forwarded =
		HtlcLock { amount: next.amount, expires_at: next.expires_at, secret_hash: hash };
	shared.lock(next.channel_id, forwarded, onward[1..].to_vec()).await?;
	shared.party.store.update_htlc(hash, |entry| {
		entry.outgoing.push(next.channel_id);
		Ok(())
	})?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::chain::ChannelView;

	fn lock(amount: u128, expires_at: u32) -> HtlcLock {
		HtlcLock { amount, expires_at, secret_hash: [1; 32] }
	}

	#[test]
	fn a_lock_is_forwarded_only_with_its_fee_its_margins_and_the_capacity() {
		let policy = LockPolicy {
			fee: FeePolicy { base: 10, ppm: 1_000 },
			hop_margin: 20,
			reveal_margin: 10,
			..LockPolicy::default()
		};
		let next = Hop { channel_id: 7, amount: 1_000, expires_at: 60 };
		// The fee on 1 000 is 10 + 1.
		assert_eq!(check_forward(&lock(1_011, 80), &next, &policy, 50, 1_000), Ok(()));
		let short = check_forward(&lock(1_010, 80), &next, &policy, 50, 1_000).unwrap_err();
		assert_eq!(short, "the lock carries 1010 to forward 1000: this party's fee is 11");
		let soon = check_forward(&lock(1_011, 79), &next, &policy, 50, 1_000).unwrap_err();
		assert!(soon.contains("less than 20 blocks after the next one"), "{soon}");
		let late = check_forward(&lock(1_011, 80), &next, &policy, 51, 1_000).unwrap_err();
		assert!(late.contains("too soon after block 51"), "{late}");
		let poor = check_forward(&lock(1_011, 80), &next, &policy, 50, 999).unwrap_err();
		assert_eq!(poor, "channel 7: cannot forward 1000: 999 can be spent there");
	}

	#[test]
	fn the_graph_has_own_directions_by_what_may_be_spent_and_nothing_back_into_the_payer() {
		let me = [1; 32];
		let mut mine = ChannelView::funded(0, [50, 50]);
		mine.participants = [me, [2; 32]];
		let mut theirs = ChannelView::funded(1, [30, 10]);
		theirs.participants = [[2; 32], [3; 32]];
		let mut closing = ChannelView::funded(2, [30, 10]);
		closing.participants = [[3; 32], [4; 32]];
		closing.closing = Some(([3; 32], 9));
		let mut excluded_view = ChannelView::funded(3, [30, 10]);
		excluded_view.participants = [[2; 32], [4; 32]];
		let own = BTreeMap::from([(0, 45)]);
		let fee = FeePolicy { base: 1, ppm: 0 };
		let channels = [mine, theirs, closing, excluded_view];
		let graph = chain_graph(&channels, &own, me, fee, &HashSet::from([3]));
		let edges: Vec<(u64, [u8; 32], [u8; 32], u128)> = graph
			.graph
			.edges
			.iter()
			.map(|e| (e.channel_id, graph.accounts[e.from], graph.accounts[e.to], e.capacity))
			.collect();
		assert_eq!(
			edges,
			vec![(0, me, [2; 32], 45), (1, [2; 32], [3; 32], 40), (1, [3; 32], [2; 32], 40)]
		);
		assert_eq!(graph.graph.fees, vec![fee; graph.graph.nodes]);
		assert_eq!(graph.node(&me), Some(0));
	}
}
