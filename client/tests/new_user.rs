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
