//! Routed payments between five `paychan daemon`s on a dev node (issue #19): a line of channels
//! alice → bob → charlie → dave → eve, each funded by its opener. Alice pays eve over three
//! forwarding parties; a payment eve never issued an invoice for fails and every lock comes
//! back at its expiry; a forwarding party that goes offline after forwarding leaves its
//! downstream neighbour to claim on chain (secret registered, channel closed, lock unlocked),
//! and, back while its upstream neighbour is gone, gets its own funds by an on-chain unlock; a
//! route short of capacity succeeds after a rebalancing round; a payment no route carries
//! alone is split.
//!
//! Every balance is checked to the planck against what the route's fees say.

mod common;

use common::*;
use serde_json::{json, Value};
use std::{thread, time::Duration};

const NAMES: [&str; 5] = ["alice", "bob", "charlie", "dave", "eve"];
/// The daemons' fee policy, as the route assumes it: 0.000001 UNIT + 100 ppm.
const FEE_BASE: u128 = UNIT / 1_000_000;
const FEE_PPM: u128 = 100;

fn fee(amount: u128) -> u128 {
	FEE_BASE + (amount * FEE_PPM).div_ceil(1_000_000)
}

struct Net {
	node: Node,
	parties: Vec<Party>,
	accounts: Vec<String>,
	ports: Vec<(u16, u16)>,
	daemons: Vec<Option<Listener>>,
	/// Channel `k` joins party `k` (its opener) and party `k + 1`.
	channels: Vec<u64>,
}

/// The line alice → bob → charlie → dave → eve, each channel with 100 UNIT on its opener's side.
const LINE: [(usize, usize, u128, u128); 4] =
	[(0, 1, 100 * UNIT, 0), (1, 2, 100 * UNIT, 0), (2, 3, 100 * UNIT, 0), (3, 4, 100 * UNIT, 0)];

impl Net {
	/// Five daemons and `channels`: `(opener, counterparty, opener's deposit, counterparty's)`.
	fn start(name: &str, channels: &[(usize, usize, u128, u128)]) -> Net {
		let node = Node::start(name);
		let parties: Vec<Party> = NAMES.iter().map(|name| Party::new(&node, name)).collect();
		let accounts: Vec<String> = parties.iter().map(Party::address).collect();
		let ports: Vec<(u16, u16)> = NAMES.iter().map(|_| (free_port(), free_port())).collect();
		let mut net = Net { node, parties, accounts, ports, daemons: vec![], channels: vec![] };
		for k in 0..NAMES.len() {
			let daemon = net.daemon(k, &[]);
			net.daemons.push(Some(daemon));
		}
		for &(opener, counterparty, deposit, counter_deposit) in channels {
			let opened = net.parties[opener].rpc(
				"paychan_open",
				json!({
					"counterparty": net.accounts[counterparty],
					"deposit": deposit.to_string(),
					"challenge_period": 5,
				}),
			);
			let channel = opened["channel_id"].as_u64().unwrap();
			if counter_deposit > 0 {
				net.parties[counterparty].rpc(
					"paychan_deposit",
					json!({ "channel_id": channel, "amount": counter_deposit.to_string() }),
				);
			}
			net.channels.push(channel);
		}
		net
	}

	/// Starts party `k`'s daemon with `extra` options, every other party in its peer book.
	fn daemon(&self, k: usize, extra: &[&str]) -> Listener {
		let peers: Vec<String> = (0..NAMES.len())
			.filter(|&j| j != k)
			.map(|j| format!("--peer={}=127.0.0.1:{}", self.accounts[j], self.ports[j].0))
			.collect();
		let mut options: Vec<&str> = peers.iter().map(String::as_str).collect();
		options.extend_from_slice(extra);
		let (peer, api) = self.ports[k];
		self.parties[k].daemon_with(peer, api, &options)
	}

	/// Party `k`'s view of channel `c` (`mine`, `theirs`, ...).
	fn view(&self, k: usize, c: usize) -> Value {
		let balance =
			self.parties[k].rpc("paychan_balance", json!({ "channel_id": self.channels[c] }));
		balance["channels"][0].clone()
	}

	/// `[mine, theirs]` of party `k` in channel `c`.
	fn split(&self, k: usize, c: usize) -> [u128; 2] {
		let view = self.view(k, c);
		[number(&view["mine"]), number(&view["theirs"])]
	}

	fn invoice(&self, k: usize, amount: u128) -> Value {
		self.parties[k].rpc("paychan_invoice", json!({ "amount": amount.to_string() }))
	}

	/// `paychan_payRouted` from party `k`; the answer or the error as JSON.
	fn pay_routed(&self, k: usize, to: usize, amount: u128, hash: &str, timeout: u64) -> Value {
		self.pay_routed_with(k, to, amount, hash, json!({ "timeout_seconds": timeout }))
	}

	/// [`Net::pay_routed`] with more parameters.
	fn pay_routed_with(&self, k: usize, to: usize, amount: u128, hash: &str, more: Value) -> Value {
		let mut params = json!({
			"to": self.accounts[to],
			"amount": amount.to_string(),
			"secret_hash": hash,
		});
		for (key, value) in more.as_object().unwrap() {
			params[key] = value.clone();
		}
		let output = self.parties[k]
			.command(&["rpc", "paychan_payRouted", &params.to_string()])
			.output()
			.unwrap();
		if output.status.success() {
			last_json(&output)
		} else {
			json!({ "error": String::from_utf8_lossy(&output.stderr) })
		}
	}

	fn routed(&self, k: usize, hash: &str) -> Value {
		let all = self.parties[k].rpc("paychan_routedPayments", json!({}));
		all.as_array()
			.unwrap()
			.iter()
			.find(|payment| payment["secret_hash"] == hash)
			.cloned()
			.unwrap_or(Value::Null)
	}
}

#[test]
fn alice_pays_eve_over_three_hops_and_an_unpayable_payment_returns_at_expiry() {
	let _serial = serial();
	let net = Net::start("routed", &LINE);
	let [ab, bc, cd, de] = [0, 1, 2, 3];
	let before: Vec<[u128; 2]> = (0..4).map(|c| net.split(c, c)).collect();
	assert_eq!(before[ab], [100 * UNIT, 0]);

	// The route alice's daemon finds: three forwarding parties, fees falling along it.
	let amount = 10 * UNIT;
	let route = net.parties[0]
		.rpc("paychan_route", json!({ "to": net.accounts[4], "amount": amount.to_string() }));
	// docs/api.md shows these answers.
	println!("alice's paychan_route: {route}");
	let hops = route["hops"].as_array().unwrap();
	assert_eq!(hops.len(), 4, "{route}");
	let into_dave = amount + fee(amount);
	let into_charlie = into_dave + fee(into_dave);
	let into_bob = into_charlie + fee(into_charlie);
	let carried: Vec<u128> = hops.iter().map(|hop| number(&hop["amount"])).collect();
	assert_eq!(carried, vec![into_bob, into_charlie, into_dave, amount]);
	assert_eq!(number(&route["fees"]), into_bob - amount);
	let expiries: Vec<u64> = hops.iter().map(|hop| hop["expires_at"].as_u64().unwrap()).collect();
	assert!(expiries.windows(2).all(|pair| pair[0] == pair[1] + 20), "{expiries:?}");

	// Eve's invoice, paid by alice: the secret comes back and hashes to the invoice's.
	let invoice = net.invoice(4, amount);
	let hash = invoice["secret_hash"].as_str().unwrap().to_owned();
	let paid = net.pay_routed(0, 4, amount, &hash, 60);
	assert!(paid.get("error").is_none(), "{paid}");
	println!("eve's paychan_invoice: {invoice}\nalice's paychan_payRouted: {paid}");
	let secret = paid["secret"].as_str().unwrap();
	let secret_bytes: [u8; 32] =
		hex::decode(secret.trim_start_matches("0x")).unwrap().try_into().unwrap();
	assert_eq!(
		format!("0x{}", hex::encode(paychan_primitives::locks::secret_hash(&secret_bytes))),
		hash
	);
	assert_eq!(number(&paid["fees"]), into_bob - amount);

	// Every hop's lock is paid off chain: each party's side moved by what its locks carried.
	let expect = |c: usize, moved: u128| [before[c][0] - moved, before[c][1] + moved];
	for (c, moved) in [(ab, into_bob), (bc, into_charlie), (cd, into_dave), (de, amount)] {
		let split = wait_until(
			&format!("channel {c} paid"),
			Duration::from_secs(30),
			|| net.split(c, c),
			|split| *split == expect(c, moved),
		);
		assert_eq!(net.split(c + 1, c), [split[1], split[0]], "both ends agree on channel {c}");
	}
	// Each forwarding party earned its fee: what came in less what went out.
	assert_eq!(into_bob - into_charlie, fee(into_charlie));
	for (k, role) in
		[(0, "payer"), (1, "forwarder"), (2, "forwarder"), (3, "forwarder"), (4, "payee")]
	{
		let entry = wait_until(
			&format!("{} sees the payment paid", NAMES[k]),
			Duration::from_secs(30),
			|| net.routed(k, &hash),
			|entry| entry["status"] == "paid",
		);
		assert_eq!(entry["role"], role, "{entry}");
		println!("{}'s paychan_routedPayments entry: {entry}", NAMES[k]);
	}

	// A second route under the same hash is refused: it could pay a party that forwarded nothing.
	let again = net.pay_routed(0, 4, amount, &hash, 10);
	assert!(
		again["error"].as_str().unwrap().contains("ask the payee for a new invoice"),
		"{again}"
	);

	// A payment eve issued no invoice for: dave cannot deliver it, every lock up to dave stays
	// pending until it expires, then comes back to its sender.
	let unknown = format!("0x{}", hex::encode([0x42u8; 32]));
	let before: Vec<[u128; 2]> = (0..4).map(|c| net.split(c, c)).collect();
	let failed = net.pay_routed(0, 4, UNIT, &unknown, 30);
	let error = failed["error"].as_str().unwrap_or_default();
	assert!(error.contains("issued no invoice under this secret hash"), "{failed}");
	for (k, c) in [(0, ab), (1, bc), (2, cd)] {
		let view = net.view(k, c);
		assert!(
			number(&view["locked_out"]) > 0,
			"{}'s lock in channel {c} is pending: {view}",
			NAMES[k]
		);
	}
	assert_eq!(net.split(3, de), before[de], "nothing reached eve");
	// Past the first lock's expiry (alice's, the latest: 40 + 3 × 20 blocks) every lock is
	// dropped.
	let alice_lock = &net.routed(0, &unknown);
	assert_eq!(alice_lock["status"], "failed", "{alice_lock}");
	net.node.make_blocks(40 + 3 * 20 + 2);
	for (k, c) in [(0, ab), (1, bc), (2, cd)] {
		wait_until(
			&format!("{}'s lock in channel {c} back", NAMES[k]),
			Duration::from_secs(30),
			|| net.view(k, c),
			|view| number(&view["locked_out"]) == 0,
		);
		assert_eq!(net.split(k, c), before[c], "channel {c} as before the payment");
		assert_eq!(net.split(k + 1, c), [before[c][1], before[c][0]]);
	}
	for (k, name) in NAMES.iter().enumerate().take(4) {
		assert_eq!(net.routed(k, &unknown)["status"], "failed", "{name}");
	}
	drop(net);
}

/// Waits until `daemon` printed `text` on standard error.
fn wait_for_log(daemon: &Listener, text: &str) {
	wait_until(
		&format!("`{text}` in the daemon's log"),
		Duration::from_secs(60),
		|| daemon.errors(),
		|log| log.contains(text),
	);
}

#[test]
fn a_forwarding_party_offline_after_forwarding_is_claimed_from_on_chain_and_claims_on_chain() {
	let _serial = serial();
	let mut net = Net::start("routed-offline", &LINE);
	let [ab, bc, cd, de] = [0, 1, 2, 3];
	let (alice, charlie, dave, eve) = (0, 2, 3, 4);
	let amount = 10 * UNIT;
	let into_dave = amount + fee(amount);
	let into_charlie = into_dave + fee(into_dave);
	let into_bob = into_charlie + fee(into_charlie);
	let invoice = net.invoice(eve, amount);
	let hash = invoice["secret_hash"].as_str().unwrap().to_owned();
	let start = net.node.block_number(false);

	// Eve is offline when the payment sets out: dave holds charlie's lock and waits to forward.
	net.daemons[eve].take().unwrap().stop();
	let payment = {
		let payer = Party::new(&net.node, NAMES[alice]);
		let params = json!({
			"to": net.accounts[eve],
			"amount": amount.to_string(),
			"secret_hash": hash,
			"timeout_seconds": 300,
		});
		let mut command = payer.command(&["rpc", "paychan_payRouted", &params.to_string()]);
		thread::spawn(move || command.output().unwrap())
	};
	wait_until(
		"dave holding charlie's lock",
		Duration::from_secs(30),
		|| net.view(dave, cd),
		|view| number(&view["locked_in"]) == into_dave,
	);
	// Dave is killed and restarted while it waits: it takes the lock up again from its store.
	net.daemons[dave].take().unwrap().kill();
	net.daemons[dave] = Some(net.daemon(dave, &[]));
	// Charlie goes offline for good (SIGKILL), and eve comes back: dave forwards, eve reveals
	// the secret, dave pays eve, but charlie is not there to pay dave.
	net.daemons[charlie].take().unwrap().kill();
	net.daemons[eve] = Some(net.daemon(eve, &[]));
	let de_paid = [100 * UNIT - amount, amount];
	wait_until(
		"dave paying eve",
		Duration::from_secs(60),
		|| net.split(dave, de),
		|s| *s == de_paid,
	);
	assert_eq!(net.view(dave, cd)["locked_in"], into_dave.to_string(), "charlie's lock pending");

	// Within the reveal margin of charlie's lock (it expires 40 + 20 blocks after the start) dave
	// registers the secret; past its expiry (and the grace) it closes the channel with charlie's
	// locked proof; once it is settled it unlocks the lock.
	let cd_expiry = start + 60;
	let free_before = number(&net.parties[dave].run(&["balance"])["free"]);
	let to = |block: u32| {
		let now = net.node.block_number(false);
		net.node.make_blocks(block.saturating_sub(now));
	};
	to(cd_expiry - 10);
	let dave_log = net.daemons[dave].as_ref().unwrap();
	wait_for_log(dave_log, "registered at block");
	to(cd_expiry + 4);
	wait_until(
		"dave's close",
		Duration::from_secs(60),
		|| net.view(dave, cd),
		|view| view["closing"] == true,
	);
	// The close is two extrinsics (`close`, then charlie's locked proof): blocks are sealed past
	// the 5-block challenge period, after which the runtime settles the channel, only once both
	// are in.
	wait_for_log(dave_log, "closed: a claimable lock was not paid off chain");
	net.node.make_blocks(8);
	wait_for_log(dave_log, "1 locks unlocked");
	let free_after = number(&net.parties[dave].run(&["balance"])["free"]);
	// What dave got: the lock; what it paid: four transactions' fees (register, close, the
	// locked proof, unlock), each well under a hundredth of a UNIT.
	let gained = free_after - free_before;
	assert!(gained <= into_dave && into_dave - gained < UNIT / 100, "dave gained {gained}");

	// Bob's lock to charlie expires at block start + 80; the secret was registered before, so
	// bob pays it (to charlie, offline) and tells alice, who pays bob: alice's payment succeeds.
	to(start + 82);
	let answer = payment.join().unwrap();
	assert!(answer.status.success(), "{}", String::from_utf8_lossy(&answer.stderr));
	let paid = last_json(&answer);
	assert_eq!(paid["secret_hash"], hash.as_str(), "{paid}");
	let ab_paid = [100 * UNIT - into_bob, into_bob];
	wait_until(
		"alice paying bob",
		Duration::from_secs(60),
		|| net.split(alice, ab),
		|s| *s == ab_paid,
	);

	// Bob goes offline too before charlie comes back, his payment of charlie's lock unsent: charlie
	// reads the secret on chain and, with nobody to pay the lock off chain, closes the channel
	// with bob's locked proof and unlocks the lock once the channel is settled.
	net.daemons[1].take().unwrap().kill();
	let free = |k: usize| number(&net.parties[k].run(&["balance"])["free"]);
	let charlie_before = free(charlie);
	net.daemons[charlie] = Some(net.daemon(charlie, &[]));
	// Its watch acts at each new block: one is sealed at every look until it closed.
	wait_until(
		"charlie's close",
		Duration::from_secs(60),
		|| {
			net.node.make_blocks(1);
			net.view(charlie, bc)
		},
		|view| view["closing"] == true,
	);
	// The close is two extrinsics (`close`, then bob's locked proof): blocks are sealed past the
	// challenge period only once both are in.
	let charlie_log = net.daemons[charlie].as_ref().unwrap();
	wait_for_log(charlie_log, "closed: a claimable lock was not paid off chain");
	net.node.make_blocks(8);
	wait_for_log(charlie_log, "1 locks unlocked");
	let gained = free(charlie) - charlie_before;
	assert!(
		gained <= into_charlie && into_charlie - gained < UNIT / 100,
		"charlie gained {gained} of {into_charlie}"
	);
	wait_until(
		"charlie knowing the secret",
		Duration::from_secs(30),
		|| net.routed(charlie, &hash),
		|e| e["status"] == "paid",
	);
	drop(net);
}

#[test]
fn a_route_short_of_capacity_fails_a_rebalancing_round_runs_and_the_same_payment_succeeds() {
	let _serial = serial();
	let (alice, bob, charlie, dave) = (0, 1, 2, 3);
	// Alice pays dave through bob, whose side of his channel with dave is nearly empty. Bob,
	// charlie and dave form a cycle that a circulation can move 14 UNIT around: dave is full in
	// bob–dave, bob in bob–charlie, charlie in charlie–dave.
	let channels = [
		(alice, bob, 40 * UNIT, 0),
		(bob, dave, 6 * UNIT, 34 * UNIT),
		(bob, charlie, 40 * UNIT, 0),
		(charlie, dave, 40 * UNIT, 0),
	];
	let mut net = Net::start("routed-rebalance", &channels);
	let bd = 1;
	let amount = 10 * UNIT;
	let invoice = net.invoice(dave, amount);
	let hash = invoice["secret_hash"].as_str().unwrap().to_owned();
	// Two hops at most: the only route is through bob, who cannot forward 10 UNIT to dave. He
	// refuses before acknowledging, so nothing is locked anywhere.
	let two_hops = json!({ "timeout_seconds": 30, "max_hops": 2 });
	let failed = net.pay_routed_with(alice, dave, amount, &hash, two_hops.clone());
	let error = failed["error"].as_str().unwrap_or_default();
	assert!(error.contains("cannot forward"), "{failed}");
	assert!(error.contains("no route of at most 2 hops"), "{failed}");
	assert_eq!(net.view(alice, 0)["locked_out"], "0", "nothing stays locked");
	assert_eq!(net.split(bob, bd), [6 * UNIT, 34 * UNIT]);

	// Bob, charlie and dave restart with a band; dave also solves: the round moves 14 UNIT
	// dave → bob → charlie → dave.
	let band = ["--rebalance-band", "20:80", "--rebalance-expiry", "200"];
	for k in [bob, charlie, dave] {
		net.daemons[k].take().unwrap().stop();
		let mut extra = band.to_vec();
		if k == dave {
			extra.extend(["--solve-every", "1"]);
		}
		net.daemons[k] = Some(net.daemon(k, &extra));
	}
	wait_until(
		"the round",
		Duration::from_secs(120),
		|| net.split(bob, bd),
		|split| *split == [20 * UNIT, 20 * UNIT],
	);

	// The same invoice, the same two-hop limit: paid through bob now.
	let paid = net.pay_routed_with(alice, dave, amount, &hash, two_hops);
	assert!(paid.get("error").is_none(), "{paid}");
	assert_eq!(paid["attempts"].as_array().map(Vec::len), Some(1), "{paid}");
	let into_dave = amount;
	let into_bob = into_dave + fee(into_dave);
	wait_until(
		"bob paying dave",
		Duration::from_secs(30),
		|| net.split(bob, bd),
		|split| *split == [20 * UNIT - into_dave, 20 * UNIT + into_dave],
	);
	assert_eq!(net.split(alice, 0), [40 * UNIT - into_bob, into_bob]);
	drop(net);
}

#[test]
fn a_payment_no_single_route_carries_is_split_and_paid_in_full_or_not_at_all() {
	let _serial = serial();
	let (alice, bob, charlie, dave) = (0, 1, 2, 3);
	// Two routes from alice to dave, each of 60 UNIT.
	let channels = [
		(alice, bob, 60 * UNIT, 0),
		(bob, dave, 60 * UNIT, 0),
		(alice, charlie, 60 * UNIT, 0),
		(charlie, dave, 60 * UNIT, 0),
	];
	let net = Net::start("routed-split", &channels);
	// Through the CLI this time, as a user would.
	let invoice = net.parties[dave].run(&["invoice", "--amount", "100UNIT"]);
	assert_eq!(number(&invoice["amount"]), 100 * UNIT);
	let hash = invoice["secret_hash"].as_str().unwrap().to_owned();
	let paid = net.parties[alice].run(&[
		"pay-invoice",
		"--to",
		invoice["payee"].as_str().unwrap(),
		"--amount",
		"100UNIT",
		"--secret-hash",
		&hash,
	]);
	let parts = paid["attempts"][0]["parts"].as_array().unwrap();
	let last_hop = |part: &Value| part["hops"].as_array().unwrap().last().unwrap().clone();
	let delivered: Vec<u128> = parts.iter().map(|part| number(&last_hop(part)["amount"])).collect();
	assert_eq!(delivered, vec![50 * UNIT, 50 * UNIT], "{paid}");
	// Each part reached dave through its own forwarding party, which kept its fee.
	let part = 50 * UNIT;
	let sent = part + fee(part);
	for (c, moved) in [(0, sent), (1, part), (2, sent), (3, part)] {
		let opener = channels[c].0;
		wait_until(
			&format!("channel {c} paid"),
			Duration::from_secs(30),
			|| net.split(opener, c),
			|s| *s == [60 * UNIT - moved, moved],
		);
	}
	assert_eq!(number(&paid["fees"]), 2 * fee(part));

	// More than both routes carry together: refused before anything is locked.
	let invoice = net.invoice(dave, 150 * UNIT);
	let hash = invoice["secret_hash"].as_str().unwrap().to_owned();
	let failed = net.pay_routed(alice, dave, 150 * UNIT, &hash, 10);
	let error = failed["error"].as_str().unwrap_or_default();
	assert!(error.contains("in up to 8 parts"), "{failed}");
	assert_eq!(net.view(alice, 0)["locked_out"], "0");
	let routed = net.parties[alice].run(&["routed"]);
	assert_eq!(routed.as_array().map(Vec::len), Some(1), "only the paid one: {routed}");
	drop(net);
}
