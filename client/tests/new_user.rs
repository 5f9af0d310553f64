//! What a new user hit (issue #24), each as the user met it: the `paychan` binary against a dev
//! node. Every refusal is checked for its message and for having changed nothing.

mod common;

use common::*;
use std::process::Stdio;

/// Bob's account in Kusama's SS58 format (prefix 2).
const BOB_KUSAMA: &str = "FoQJpPyadYccjavVdTWxpxU7rUEaYhfLCPwXgkfD6Zat9QP";

/// `close --peer` with nobody listening there fails, submits nothing and names `--force`;
/// `--force` starts the unilateral close and says when it settles.
#[test]
fn close_with_an_unreachable_peer_submits_nothing() {
	let _serial = serial();
	let node = Node::start("close-peer");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let (channel, _) = alice.open(&bob, 10 * UNIT, 10);
	let before = alice.free();
	let nobody = format!("127.0.0.1:{}", free_port());
	let error = alice.fail(&["close", "--channel", &channel.to_string(), "--peer", &nobody]);
	assert!(error.contains("--force") && error.contains("nothing was submitted"), "{error}");
	assert_eq!(alice.free(), before, "no fee was paid");
	assert_eq!(alice.channel(channel)["closing"], false);

	let error = alice.fail(&["close", "--channel", &channel.to_string()]);
	assert!(error.contains("--peer") || error.contains("--force"), "{error}");

	let closed = alice.run(&["close", "--channel", &channel.to_string(), "--force"]);
	assert_eq!(closed["closed"], "unilaterally");
	assert_eq!(closed["channel_id"], channel);
	assert!(closed["deadline"].as_u64().unwrap() > 0);
	assert_eq!(alice.channel(channel)["closing"], true);
}

/// A mistyped dev name, another network's address and a channel with oneself are refused
/// before anything is submitted.
#[test]
fn typos_other_networks_and_self_channels_are_refused_for_free() {
	let _serial = serial();
	let node = Node::start("typos");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let zed = Party::new(&node, "zed");
	let error = zed.fail(&["address"]);
	assert!(error.contains("zed") && error.contains("alice"), "{error}");

	let before = alice.free();
	let error = alice.fail(&["open", "--counterparty", BOB_KUSAMA, "--deposit", &UNIT.to_string()]);
	assert!(error.contains("SS58 prefix 2") && error.contains(&bob.address()), "{error}");
	let error =
		alice.fail(&["open", "--counterparty", &alice.address(), "--deposit", &UNIT.to_string()]);
	assert!(error.contains("two parties"), "{error}");
	assert_eq!(alice.free(), before, "no fee was paid");
	let none: Vec<serde_json::Value> = vec![];
	assert_eq!(alice.run(&["balance"])["channels"].as_array().unwrap(), &none);
}

/// `key import` refuses empty input and the public dev phrase, and writes nothing.
#[test]
fn key_import_refuses_empty_input_and_the_dev_phrase() {
	let dir = temp_dir("import");
	let out = dir.join("key.json");
	let import = |input: &str, extra: &[&str]| {
		let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_paychan"))
			.args(["key", "import", "--out"])
			.arg(&out)
			.args(extra)
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.unwrap();
		use std::io::Write;
		child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
		child.wait_with_output().unwrap()
	};
	for (input, expected) in
		[("", "no secret URI"), ("  \n", "no secret URI"), ("//Alice\n", "--allow-dev-key")]
	{
		let output = import(input, &[]);
		assert!(!output.status.success());
		let error = String::from_utf8_lossy(&output.stderr);
		assert!(error.contains(expected), "{input:?}: {error}");
		assert!(!out.exists(), "nothing written for {input:?}");
	}
	assert!(import("//Alice\n", &["--allow-dev-key"]).status.success());
	assert!(out.exists());
}

/// A listener whose watchtower is unreachable does not stop silently: it waits a bounded time,
/// says the tower did not take the proofs, and exits with an error.
#[test]
fn a_listener_says_when_its_watchtower_did_not_take_the_proofs() {
	let _serial = serial();
	let node = Node::start("tower-down");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let (channel, _) = alice.open(&bob, 10 * UNIT, 10);
	let tower = format!("127.0.0.1:{}", free_port());
	let listener = bob.listen(&["--watchtower", &tower, "--watchtower-timeout", "3"]);
	assert_eq!(alice.pay(channel, &listener.address, UNIT, 3)["acknowledged"], 3);
	let started = std::time::Instant::now();
	let (status, errors) = listener.stop_status();
	assert!(!status.success(), "{errors}");
	assert!(errors.contains(&tower) && errors.contains("did not acknowledge"), "{errors}");
	assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// Bob is stopped with SIGTERM in the middle of a stream; on the way out his listener hands the
/// tower the newest proof his store holds, so a stale close pays him exactly what his store says.
#[test]
fn a_listener_stopped_mid_stream_hands_its_newest_proof_to_the_tower() {
	let _serial = serial();
	let node = Node::start("tower-flush");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let charlie = Party::new(&node, "charlie");
	let bob_before = bob.free();
	let (channel, _) = alice.open(&bob, 1000 * UNIT, 8);
	let watchtower = charlie.watch();
	let listener = bob.listen(&["--watchtower", &watchtower.address]);
	let amount = 1_000_000u128;
	let stream = alice
		.command(&with_peer("pay", channel, &listener.address, amount, &["--count", "2000000"]))
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	std::thread::sleep(std::time::Duration::from_millis(1500));
	listener.stop();
	let _ = stream.wait_with_output().unwrap();

	let held = bob.channel(channel);
	let received = number(&held["received"]);
	assert!(received > 0);
	let closed = alice.run(&["close", "--channel", &channel.to_string(), "--force"]);
	let deadline = closed["deadline"].as_u64().unwrap() as u32;
	let expected = format!("\"nonce\":{}", held["received_nonce"]);
	let started = std::time::Instant::now();
	while !watchtower.output().contains(&expected) {
		assert!(
			started.elapsed() < std::time::Duration::from_secs(30),
			"no dispute with {expected}; tower said {} / {}",
			watchtower.output(),
			watchtower.errors()
		);
		std::thread::sleep(std::time::Duration::from_millis(100));
	}
	node.make_blocks(deadline + 1 - node.block_number(false));
	alice.run(&["settle", "--channel", &channel.to_string()]);
	assert_eq!(bob.free(), bob_before + received, "Bob is paid what his store holds");
	watchtower.stop();
}

/// Alice paid most of her side away; a request pledging more than she holds is refused, as is
/// one asking to receive more than Bob holds. A request within bounds is accepted and
/// `rebalance cancel` withdraws it.
#[test]
fn over_declared_requests_are_refused_and_requests_can_be_cancelled() {
	let _serial = serial();
	let node = Node::start("over-declared");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let (channel, _) = alice.open(&bob, 10 * UNIT, 10);
	let listener = bob.listen(&[]);
	alice.pay(channel, &listener.address, UNIT, 5);
	listener.stop();
	let entry = |send: u128, receive: u128| format!("{channel}:{send}:{receive}");
	let before = alice.free();
	let error = alice.fail(&["rebalance", "request", "--entry", &entry(9 * UNIT, 0)]);
	assert!(error.contains(&format!("holds {} on its side", 5 * UNIT)), "{error}");
	let error = alice.fail(&["rebalance", "request", "--entry", &entry(0, 6 * UNIT)]);
	assert!(error.contains(&format!("the counterparty holds {}", 5 * UNIT)), "{error}");
	assert_eq!(alice.free(), before, "no fee was paid");

	alice.run(&["rebalance", "request", "--entry", &entry(5 * UNIT, 5 * UNIT)]);
	let listener = bob.listen(&[]);
	let refused = alice.fail(&with_peer("pay", channel, &listener.address, UNIT, &[]));
	assert!(refused.contains("pledged"), "{refused}");
	let cancelled = alice.run(&["rebalance", "cancel"]);
	assert!(cancelled["done"].as_str().unwrap().contains("cancelled"));
	assert_eq!(alice.pay(channel, &listener.address, UNIT, 1)["acknowledged"], 1);
	let error = alice.fail(&["rebalance", "cancel"]);
	assert!(error.contains("NoRebalanceRequest"), "{error}");
	listener.stop();
}

/// The runtime's minimum deposit on the dev chain (`MinChannelDeposit`, 10 mUNIT).
const MIN_DEPOSIT: u128 = UNIT / 100;

/// The error a `--json` command printed on standard error.
fn json_error(party: &Party, args: &[&str]) -> serde_json::Value {
	let output = party.command(args).output().unwrap();
	assert!(!output.status.success(), "{args:?} should fail");
	let stderr = String::from_utf8_lossy(&output.stderr);
	let line = stderr
		.lines()
		.rev()
		.find(|line| line.starts_with('{'))
		.unwrap_or_else(|| panic!("no JSON error on stderr: {stderr}"));
	serde_json::from_str(line).unwrap()
}

/// What the chain would refuse is refused locally, before a fee is paid, with a JSON error
/// (code and message) under `--json`; a new key is told it needs funding and how.
#[test]
fn mistakes_are_refused_before_paying_a_fee() {
	let _serial = serial();
	let node = Node::start("mistakes");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob").address();
	let before = alice.free();
	let open = |deposit: &str, period: &str| {
		json_error(
			&alice,
			&["open", "--counterparty", &bob, "--deposit", deposit, "--challenge-period", period],
		)
	};
	for (error, expected) in [
		(open("0", "10"), "below the chain's minimum"),
		(open(&(MIN_DEPOSIT - 1).to_string(), "10"), "below the chain's minimum"),
		(open("1UNIT", "0"), "challenge period must be 5 to"),
		(open("1UNIT", "1000000000"), "challenge period must be 5 to"),
		(open("1000000000UNIT", "10"), "needs"),
		(
			json_error(&alice, &["deposit", "--channel", "999", "--amount", "1UNIT"]),
			"does not exist",
		),
	] {
		assert_eq!(error["error"]["code"], "refused_locally", "{error}");
		let message = error["error"]["message"].as_str().unwrap();
		assert!(
			message.contains(expected) && message.contains("nothing was submitted"),
			"{message}"
		);
	}
	assert_eq!(alice.free(), before, "no fee was paid");
	let error = json_error(&alice, &["open", "--counterparty", &bob, "--deposit", "1.5.0UNIT"]);
	assert_eq!(error["error"]["code"], "invalid_arguments");
	assert!(error["error"]["message"].as_str().unwrap().contains("is not an amount"), "{error}");

	// A fresh key has nothing: it is told so, with how to fund it; funded, it opens.
	let dir = temp_dir("fresh-key");
	let key = dir.join("key.json");
	let generated = std::process::Command::new(env!("CARGO_BIN_EXE_paychan"))
		.args(["key", "generate", "--out"])
		.arg(&key)
		.output()
		.unwrap();
	assert!(generated.status.success());
	let fresh = |args: &[&str]| {
		let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_paychan"));
		command.args(["--url", &node.url(), "--key"]).arg(&key).arg("--data").arg(&dir);
		command.args(args).output().unwrap()
	};
	let refused = fresh(&["open", "--counterparty", &bob, "--deposit", "1UNIT"]);
	assert!(!refused.status.success());
	let message = String::from_utf8_lossy(&refused.stderr);
	assert!(message.contains("has 0 UNIT free") && message.contains("transfer --to"), "{message}");
	let address = String::from_utf8_lossy(&fresh(&["address"]).stdout).trim().to_owned();
	alice.run(&["transfer", "--to", &address, "--amount", "10UNIT"]);
	let opened = fresh(&["--json", "open", "--counterparty", &bob, "--deposit", "1UNIT"]);
	assert!(opened.status.success(), "{}", String::from_utf8_lossy(&opened.stderr));
}

/// Amounts take unit suffixes; `deposit` prints the channel and its new totals; `pay` prints
/// what this run paid as well as the running total, amounts as strings.
#[test]
fn results_carry_the_channel_new_totals_and_this_runs_payments() {
	let _serial = serial();
	let node = Node::start("results");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let opened = alice.run(&["open", "--counterparty", &bob.address(), "--deposit", "2.5UNIT"]);
	let channel = opened["channel_id"].as_u64().unwrap();
	assert_eq!(opened["deposit"], (5 * UNIT / 2).to_string());
	let deposited =
		alice.run(&["deposit", "--channel", &channel.to_string(), "--amount", "500mUNIT"]);
	assert_eq!(deposited["channel_id"], channel);
	assert_eq!(deposited["deposited"], (3 * UNIT).to_string());
	assert_eq!(deposited["mine"], (3 * UNIT).to_string());
	let listener = bob.listen(&[]);
	alice.pay(channel, &listener.address, UNIT / 10, 2);
	let second =
		alice.run(&with_peer("pay", channel, &listener.address, UNIT / 10, &["--count", "3"]));
	assert_eq!(second["paid_this_run"], (3 * UNIT / 10).to_string());
	assert_eq!(second["paid_total"], (5 * UNIT / 10).to_string());
	listener.stop();
}

/// A dispute that recovers less than its fee asks for `--force`; `settle` on an instant-seal
/// chain reports the blocks it waits for and explains why none come.
#[test]
fn a_dispute_below_its_fee_needs_force_and_settle_says_what_it_waits_for() {
	let _serial = serial();
	let node = Node::start("dispute-fee");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let (channel, _) = alice.open(&bob, UNIT, 5);
	let listener = bob.listen(&[]);
	alice.pay(channel, &listener.address, 1000, 1);
	listener.stop();
	let closed = alice.run(&["close", "--channel", &channel.to_string(), "--force"]);
	let deadline = closed["deadline"].as_u64().unwrap() as u32;
	let before = bob.free();
	let error = json_error(&bob, &["dispute", "--channel", &channel.to_string()]);
	let message = error["error"]["message"].as_str().unwrap();
	assert!(message.contains("recover 1000") && message.contains("--force"), "{message}");
	assert_eq!(bob.free(), before, "no fee was paid");
	let disputed = bob.run(&["dispute", "--channel", &channel.to_string(), "--force"]);
	assert_eq!(disputed["disputed"], true);
	assert_eq!(disputed["channel_id"], channel);

	let settle = bob
		.command(&["settle", "--channel", &channel.to_string()])
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	std::thread::sleep(std::time::Duration::from_secs(8));
	node.make_blocks(deadline + 1 - node.block_number(false));
	let output = settle.wait_with_output().unwrap();
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let progress = String::from_utf8_lossy(&output.stderr);
	assert!(progress.contains(&format!("\"until\":{}", deadline + 1)), "{progress}");
	assert!(progress.contains("engine_createBlock"), "{progress}");
	let settled = last_json(&output);
	assert_eq!(settled["channel_id"], channel);
}

/// A transaction the node's pool refuses says why: the legacy RPC backend puts the pool's reason
/// in the JSON-RPC error's data, which subxt's own message of the error leaves out.
#[test]
fn a_transaction_the_pool_refuses_says_why() {
	use paychan_client::{
		calls,
		chain::{runtime, Chain, Progress},
		keys::Keys,
	};
	let _serial = serial();
	let node = Node::start("pool-reason");
	let tokio = tokio::runtime::Runtime::new().unwrap();
	let error = tokio.block_on(async {
		let chain = Chain::connect(&node.url(), Progress::Silent).await.unwrap();
		// An account nobody funded cannot pay the fee: the pool refuses before any block.
		let keys = Keys::from_uri("//NobodyFundedThis").unwrap();
		let call = runtime::tx().system().remark(b"hello".to_vec());
		match chain.submit("remark", &call, &keys).await {
			Ok(_) => panic!("an unfunded account's transaction was included"),
			Err(error) => error,
		}
	});
	let message = format!("{error:#}");
	assert!(message.contains("Invalid Transaction (1010)"), "{message}");
	assert!(message.contains("Inability to pay some fees"), "{message}");
	assert_eq!(calls::error_code(&error), "chain_refused");
}
