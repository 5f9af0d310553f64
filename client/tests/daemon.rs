//! Three `paychan daemon`s on a dev node, driven as an application drives them: channels opened
//! and funded through the API, payments both ways on every channel at once, one daemon killed
//! with SIGKILL mid-stream and restarted, a channel closed from an old copy of one party's store
//! and disputed by the other's daemon on its own, and every balance checked against the chain.

mod common;

use common::*;
use serde_json::{json, Value};
use std::{
	thread,
	time::{Duration, Instant},
};

/// A daemon's ports, kept across its restart.
struct Ports {
	peer: u16,
	api: u16,
}

impl Ports {
	fn new() -> Ports {
		Ports { peer: free_port(), api: free_port() }
	}

	fn peer_address(&self) -> String {
		format!("127.0.0.1:{}", self.peer)
	}
}

/// A payment stream through `payer`'s daemon: `count` payments of `amount`, 256 in flight.
fn stream(payer: &Party, channel: u64, amount: u128, count: u64) -> thread::JoinHandle<Value> {
	let command = payer.command(&[
		"pay",
		"--channel",
		&channel.to_string(),
		"--amount",
		&amount.to_string(),
		"--count",
		&count.to_string(),
		"--window",
		"256",
	]);
	let mut command = command;
	thread::spawn(move || {
		let output = command.output().unwrap();
		// A stream cut by a killed daemon fails; its report still says what was acknowledged.
		last_json(&output)
	})
}

/// How much of a stream's report was acknowledged, in planck.
fn acknowledged(report: &Value, amount: u128) -> u128 {
	if report.get("error").is_some_and(|e| e.is_object()) {
		// The CLI could not even start the stream (the daemon was down).
		return 0;
	}
	report["acknowledged"].as_u64().unwrap() as u128 * amount
}

/// `party`'s view of `channel` through its daemon.
fn view(party: &Party, channel: u64) -> Value {
	let balance = party.rpc("paychan_balance", json!({ "channel_id": channel }));
	balance["channels"][0].clone()
}

fn amounts(channel: &Value, field: &str) -> u128 {
	number(&channel[field])
}

/// Waits until `party`'s view of `channel` satisfies `done`; the last view.
fn wait_for_view(party: &Party, channel: u64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
	let what = format!("{}: {what} on channel {channel}", party.name);
	wait_until(&what, Duration::from_secs(60), || view(party, channel), done)
}

/// The two sides of `channel` agree, and equal what the chain would pay out now.
fn assert_views_match_the_chain(a: &Party, b: &Party, channel: u64) -> (Value, Value) {
	let (va, vb) = (view(a, channel), view(b, channel));
	assert_eq!(amounts(&va, "paid"), amounts(&vb, "received"), "channel {channel}: {va} {vb}");
	assert_eq!(amounts(&va, "received"), amounts(&vb, "paid"), "channel {channel}: {va} {vb}");
	assert_eq!(va["mine"], vb["theirs"], "channel {channel}");
	assert_eq!(va["theirs"], vb["mine"], "channel {channel}");
	(va, vb)
}

#[test]
fn three_daemons_pay_both_ways_survive_a_kill_and_dispute_a_stale_close() {
	let _serial = serial();
	let node = Node::start("daemons");
	let names = ["alice", "bob", "charlie"];
	let parties: Vec<Party> = names.iter().map(|name| Party::new(&node, name)).collect();
	let accounts: Vec<String> = parties.iter().map(Party::address).collect();
	let ports: Vec<Ports> = names.iter().map(|_| Ports::new()).collect();
	let mut daemons: Vec<Listener> =
		parties.iter().zip(&ports).map(|(party, p)| party.daemon(p.peer, p.api)).collect();
	let (alice, bob) = (&parties[0], &parties[1]);

	// Every daemon knows where the others listen (the CLI goes through the daemon for this).
	for (i, party) in parties.iter().enumerate() {
		for (j, p) in ports.iter().enumerate() {
			if i != j {
				party.run(&[
					"peer",
					"add",
					"--account",
					&accounts[j],
					"--address",
					&p.peer_address(),
				]);
			}
		}
	}
	let peers = alice.rpc("paychan_peers", json!({}));
	assert_eq!(peers.as_array().map(Vec::len), Some(2), "{peers}");

	// A ring of channels, opened through the API; each counterparty funds its own side too.
	let ring = [(0usize, 1usize), (1, 2), (2, 0)];
	let mut channels = Vec::new();
	for &(opener, counterparty) in &ring {
		let opened = parties[opener].rpc(
			"paychan_open",
			json!({
				"counterparty": accounts[counterparty],
				"deposit": "50UNIT",
				"challenge_period": 8,
			}),
		);
		let channel = opened["channel_id"].as_u64().unwrap();
		let funded = parties[counterparty]
			.rpc("paychan_deposit", json!({ "channel_id": channel, "amount": "20UNIT" }));
		assert_eq!(number(&funded["deposited"]), 20 * UNIT, "{funded}");
		channels.push(channel);
	}
	let ab = channels[0];

	// Both directions of every channel at once; bob is killed in the middle and restarted.
	// A thousandth of a UNIT: enough that the dispute below recovers more than its fee.
	let amount = UNIT / 1_000;
	let count = 4_000u64;
	let mut streams = Vec::new();
	for (k, &(opener, counterparty)) in ring.iter().enumerate() {
		streams.push((opener, k, stream(&parties[opener], channels[k], amount, count)));
		streams.push((counterparty, k, stream(&parties[counterparty], channels[k], amount, count)));
	}
	thread::sleep(Duration::from_millis(700));
	daemons.remove(1).kill();
	// The store as bob's daemon left it: later it plays an old backup that closes channel ab.
	let stale = node.dir.join("bob-stale");
	copy_dir(&bob.data, &stale);
	std::fs::remove_file(stale.join("api.address")).unwrap();
	thread::sleep(Duration::from_millis(300));
	daemons.insert(1, bob.daemon(ports[1].peer, ports[1].api));

	let mut sent = [[0u128; 2]; 3];
	for (payer, k, handle) in streams {
		let report = handle.join().unwrap();
		let side = usize::from(payer != ring[k].0);
		sent[k][side] += acknowledged(&report, amount);
		if payer != 1 && ring[k].0 != 1 && ring[k].1 != 1 {
			// Charlie and alice's channel never involved the killed daemon.
			assert_eq!(report["acknowledged"], count, "{report}");
		}
	}
	// After the restart every direction pays again, through resumed links.
	let again = 200u64;
	let mut streams = Vec::new();
	for (k, &(opener, counterparty)) in ring.iter().enumerate() {
		streams.push((0, k, stream(&parties[opener], channels[k], amount, again)));
		streams.push((1, k, stream(&parties[counterparty], channels[k], amount, again)));
	}
	for (side, k, handle) in streams {
		let report = handle.join().unwrap();
		assert_eq!(report["acknowledged"], again, "after the restart: {report}");
		assert_eq!(report["error"], Value::Null, "{report}");
		sent[k][side] += again as u128 * amount;
	}

	// No acknowledged payment was lost: each receiver holds at least what was acknowledged to
	// its payers, and both sides agree on every total.
	for (k, &(opener, counterparty)) in ring.iter().enumerate() {
		let (vo, _) =
			assert_views_match_the_chain(&parties[opener], &parties[counterparty], channels[k]);
		assert!(amounts(&vo, "paid") >= sent[k][0], "channel {}: {vo} {:?}", channels[k], sent[k]);
		assert!(amounts(&vo, "received") >= sent[k][1], "channel {}: {vo}", channels[k]);
	}
	let history = alice.rpc("paychan_payments", json!({ "limit": 5 }));
	assert_eq!(history["entries"].as_array().map(Vec::len), Some(5), "{history}");

	// Bob's old store closes channel ab on its own. It holds an older proof of alice's, and the
	// chain has none of bob's payments to alice: alice's daemon disputes with bob's newest.
	let alice_view = view(alice, ab);
	let old_bob = Party { name: "bob".into(), url: node.url(), data: stale };
	let closed = old_bob.run(&["close", "--channel", &ab.to_string(), "--force"]);
	assert_eq!(closed["closed"], "unilaterally", "{closed}");
	let settled_view = wait_for_view(alice, ab, "its dispute recorded", |v| {
		v["closing"] == true && v["settlement"] == json!([v["mine"], v["theirs"]])
	});
	assert_eq!(settled_view["mine"], alice_view["mine"], "the dispute restored alice's share");
	let started = Instant::now();
	while !daemons[0].output().contains("\"event\":\"disputed\"") {
		assert!(started.elapsed() < Duration::from_secs(30), "{}", daemons[0].output());
		thread::sleep(Duration::from_millis(100));
	}
	// Bob's live daemon sees the close too: its own newest proof from alice is on chain.
	let bob_view = wait_for_view(bob, ab, "the chain hold its newest proof", |v| {
		v["settlement"] == json!([v["mine"], v["theirs"]])
	});

	// Past the deadline the chain pays out exactly the previewed shares.
	let free_before = [alice.free(), bob.free()];
	let deadline = settled_view["deadline"].as_u64().unwrap() as u32;
	node.make_blocks((deadline + 2).saturating_sub(node.block_number(false)));
	let started = Instant::now();
	while !daemons[0].output().contains("\"event\":\"channel_gone\"") {
		assert!(started.elapsed() < Duration::from_secs(30), "{}", daemons[0].output());
		thread::sleep(Duration::from_millis(100));
	}
	// Bob (the counterparty) gets exactly his share; alice, the opener, her share and the
	// channel's storage deposit back.
	assert_eq!(bob.free() - free_before[1], number(&bob_view["mine"]));
	assert!(alice.free() - free_before[0] >= number(&settled_view["mine"]));

	// The two other channels close cooperatively through their daemons, at the agreed split.
	for (k, &(opener, counterparty)) in ring.iter().enumerate().skip(1) {
		let (vo, vc) =
			assert_views_match_the_chain(&parties[opener], &parties[counterparty], channels[k]);
		let free_counterparty = parties[counterparty].free();
		let closed = parties[opener].run(&["close", "--channel", &channels[k].to_string()]);
		assert_eq!(closed["closed"], "cooperatively", "{closed}");
		assert_eq!(closed["payouts"], json!([vo["mine"], vo["theirs"]]), "{closed}");
		assert_eq!(parties[counterparty].free() - free_counterparty, number(&vc["mine"]));
	}
	for daemon in daemons {
		daemon.stop();
	}
}

#[test]
fn dual_funding_locks_what_the_counterparty_consented_to_and_nothing_else() {
	let _serial = serial();
	let node = Node::start("dual-funding");
	let (alice, bob, charlie) =
		(Party::new(&node, "alice"), Party::new(&node, "bob"), Party::new(&node, "charlie"));
	let ports: Vec<Ports> = (0..3).map(|_| Ports::new()).collect();
	let _daemons = [
		alice.daemon(ports[0].peer, ports[0].api),
		bob.daemon(ports[1].peer, ports[1].api),
		charlie.daemon_with(ports[2].peer, ports[2].api, &["--fund-up-to", "30UNIT"]),
	];
	let open = |to: &Party, port: &Ports, theirs: &str| {
		alice.command(&[
			"rpc",
			"paychan_open",
			&json!({
				"counterparty": to.address(),
				"deposit": "50UNIT",
				"counterparty_deposit": theirs,
				"peer_address": port.peer_address(),
			})
			.to_string(),
		])
	};

	// Above charlie's limit, and to bob, who funds nothing: refused, no fee, no channel.
	let before = (alice.free(), charlie.free(), bob.free());
	for (to, port, theirs, says) in [
		(&charlie, &ports[2], "40UNIT", "at most 30000000000000 planck"),
		(&bob, &ports[1], "1UNIT", "--fund-up-to"),
	] {
		let output = open(to, port, theirs).output().unwrap();
		assert!(!output.status.success());
		let error = String::from_utf8_lossy(&output.stderr);
		assert!(error.contains("refused_locally") && error.contains(says), "{error}");
		assert!(error.contains("nothing was submitted"), "{error}");
	}
	assert_eq!((alice.free(), charlie.free(), bob.free()), before, "no fee, nothing locked");
	assert_eq!(alice.rpc("paychan_channels", json!({})), json!([]), "no channel opened");

	// Within it: one extrinsic opens the channel with both deposits.
	let output = open(&charlie, &ports[2], "20UNIT").output().unwrap();
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let opened = last_json(&output);
	assert_eq!(number(&opened["counterparty_deposit"]), 20 * UNIT, "{opened}");
	let channel = opened["channel_id"].as_u64().unwrap();
	assert_eq!(before.1 - charlie.free(), 20 * UNIT, "charlie locked 20 UNIT and paid no fee");
	let seen = view(&charlie, channel);
	assert_eq!((number(&seen["mine"]), number(&seen["theirs"])), (20 * UNIT, 50 * UNIT), "{seen}");

	// Charlie can pay at once, from the funds it brought.
	let alice_peer = ports[0].peer_address();
	charlie.run(&["peer", "add", "--account", &alice.address(), "--address", &alice_peer]);
	let paid = charlie.run(&["pay", "--channel", &channel.to_string(), "--amount", "1UNIT"]);
	assert_eq!(paid["acknowledged"], 1, "{paid}");
	assert_eq!(number(&view(&alice, channel)["received"]), UNIT);
}

#[test]
fn a_peer_with_bad_proofs_is_refused_with_its_reason_and_nothing_is_stored() {
	use paychan_client::{
		chain::{Chain, Progress},
		keys::Keys,
		session::proof_message,
		wire::{Link, Message, ProofState},
	};
	let _serial = serial();
	let node = Node::start("hostile-peer");
	let (alice, bob, charlie) =
		(Party::new(&node, "alice"), Party::new(&node, "bob"), Party::new(&node, "charlie"));
	let (channel, _) = alice.open(&bob, 10 * UNIT, 10);
	let (other_channel, _) = charlie.open(&bob, 10 * UNIT, 10);
	let ports = Ports::new();
	let _bob_daemon = bob.daemon(ports.peer, ports.api);
	let address = ports.peer_address();

	let runtime = tokio::runtime::Runtime::new().unwrap();
	let answers = runtime.block_on(async {
		let chain = Chain::connect(&node.url(), Progress::Silent).await.unwrap();
		let genesis = chain.genesis_hash;
		let alice_keys = Keys::from_uri("//Alice").unwrap();
		let bob_key = Keys::from_uri("//Bob").unwrap().public();
		let proof = |keys: &Keys, channel: u64, nonce: u64, transferred: u128| {
			let mut proof = ProofState { nonce, transferred, signature: [0; 64], locks: None };
			proof.signature = keys.sign(&proof_message(genesis, channel, &proof));
			proof
		};
		// One session per attempt: each refusal ends the session.
		let session = |first: Message, then: Vec<Message>| {
			let alice_keys = alice_keys.clone();
			let address = address.clone();
			async move {
				let mut link = Link::connect(&address, &alice_keys, Some(bob_key)).await.unwrap();
				link.writer.send(first).await.unwrap();
				let mut answers = vec![link.reader.receive_one().await.unwrap()];
				for message in then {
					link.writer.send(message).await.unwrap();
					match link.reader.receive().await {
						Ok(frame) => answers.extend(frame),
						Err(_) => break,
					}
				}
				answers
			}
		};
		let hello = |channel| Message::Hello { genesis_hash: genesis, channel_id: channel };
		let eve = Keys::from_uri("//Eve").unwrap();
		vec![
			// Signed by someone else.
			session(hello(channel), vec![Message::Pay(proof(&eve, channel, 1, UNIT))]).await,
			// Signed for another channel.
			session(hello(channel), vec![Message::Pay(proof(&alice_keys, other_channel, 1, UNIT))])
				.await,
			// A good payment, then an older nonce over more.
			session(
				hello(channel),
				vec![
					Message::Pay(proof(&alice_keys, channel, 5, 1_000)),
					Message::Pay(proof(&alice_keys, channel, 3, 2_000)),
				],
			)
			.await,
			// A session on a channel alice is not part of.
			session(hello(other_channel), vec![]).await,
		]
	});
	let refused = |answers: &[Message], says: &str| {
		assert!(
			answers
				.iter()
				.any(|m| matches!(m, Message::Refused { reason, .. } if reason.contains(says))),
			"expected a refusal saying `{says}`: {answers:?}"
		)
	};
	refused(&answers[0], "invalid signature");
	refused(&answers[1], "invalid signature");
	assert!(answers[2].contains(&Message::Ack { nonce: 5 }), "{:?}", answers[2]);
	refused(&answers[2], "nonces must increase");
	assert!(
		matches!(&answers[3][0], Message::Error(reason) if reason == "not your channel"),
		"{:?}",
		answers[3]
	);
	// Only the good payment is stored.
	let seen = view(&bob, channel);
	assert_eq!((number(&seen["received"]), seen["received_nonce"].as_u64()), (1_000, Some(5)));
	assert_eq!(number(&view(&bob, other_channel)["received"]), 0);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
	std::fs::create_dir_all(to).unwrap();
	for entry in std::fs::read_dir(from).unwrap() {
		let entry = entry.unwrap();
		if entry.file_type().unwrap().is_file() {
			std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
		}
	}
}

/// Polls `party`'s rebalancing status until `done` holds; the last status.
fn wait_for_status(party: &Party, what: &str, done: impl Fn(&Value) -> bool) -> Value {
	let what = format!("{}: {what}", party.name);
	let read = || party.rpc("paychan_rebalanceStatus", json!({}));
	wait_until(&what, Duration::from_secs(90), read, done)
}

#[test]
fn daemons_outside_their_band_request_rebalancing_and_a_solver_daemon_restores_the_ring() {
	let _serial = serial();
	let node = Node::start("rebalance-policy");
	let names = ["alice", "bob", "charlie"];
	let parties: Vec<Party> = names.iter().map(|name| Party::new(&node, name)).collect();
	let accounts: Vec<String> = parties.iter().map(Party::address).collect();
	let ports: Vec<Ports> = names.iter().map(|_| Ports::new()).collect();
	// Every daemon keeps its channels within 20%..80%; alice solves every block as well.
	let _daemons: Vec<Listener> = parties
		.iter()
		.zip(&ports)
		.enumerate()
		.map(|(i, (party, p))| {
			let mut extra = vec!["--rebalance-band", "20:80", "--rebalance-expiry", "200"];
			if i == 0 {
				extra.extend(["--solve-every", "1"]);
			}
			party.daemon_with(p.peer, p.api, &extra)
		})
		.collect();
	for (i, party) in parties.iter().enumerate() {
		for (j, p) in ports.iter().enumerate() {
			if i != j {
				party.rpc(
					"paychan_addPeer",
					json!({ "account": accounts[j], "address": p.peer_address() }),
				);
			}
		}
	}

	// A ring funded by its openers only: each party holds all of one channel and none of the
	// next, as after payments that all flowed one way.
	let ring = [(0usize, 1usize), (1, 2), (2, 0)];
	let mut channels = Vec::new();
	for &(opener, counterparty) in &ring {
		let opened = parties[opener].rpc(
			"paychan_open",
			json!({ "counterparty": accounts[counterparty], "deposit": "40UNIT", "challenge_period": 8 }),
		);
		channels.push(opened["channel_id"].as_u64().unwrap());
	}
	let ab = channels[0];
	let error = parties[1].fail(&["pay", "--channel", &ab.to_string(), "--amount", "1UNIT"]);
	assert!(error.contains("exceeds what this party may still spend"), "{error}");

	// Each daemon declares its request by itself; alice's solver submits the cycle.
	for (k, party) in parties.iter().enumerate() {
		let status = wait_for_status(party, "both its channels rebalanced", |status| {
			status["executed"].as_array().is_some_and(|executed| executed.len() == 2)
		});
		let requested = &status["requested"][0];
		assert_eq!(requested["automatic"], true, "{status}");
		// It pledged half of the channel it held and asked for half of the one it did not.
		let held = channels[k];
		let empty = channels[(k + 2) % 3];
		let entry = |channel: u64| {
			requested["entries"]
				.as_array()
				.unwrap()
				.iter()
				.find(|entry| entry["channel_id"] == channel)
				.cloned()
				.unwrap_or_else(|| panic!("no entry for channel {channel}: {status}"))
		};
		assert_eq!(
			(number(&entry(held)["max_send"]), number(&entry(held)["max_receive"])),
			(20 * UNIT, 0)
		);
		assert_eq!(
			(number(&entry(empty)["max_send"]), number(&entry(empty)["max_receive"])),
			(0, 20 * UNIT)
		);
		for executed in status["executed"].as_array().unwrap() {
			let moved = if executed["channel_id"] == held { "sent" } else { "received" };
			assert_eq!(number(&executed[moved]), 20 * UNIT, "{status}");
		}
	}
	let status = parties[0].rpc("paychan_rebalanceStatus", json!({}));
	// docs/api.md shows this answer.
	println!("alice's paychan_rebalanceStatus: {status}");
	let solved = &status["solved"];
	assert_eq!(solved.as_array().map(Vec::len), Some(1), "one round solved: {solved}");
	assert_eq!(number(&solved[0]["volume"]), 60 * UNIT, "{solved}");
	let quiet = parties[1].rpc("paychan_rebalanceStatus", json!({}));
	assert_eq!(
		quiet["requested"].as_array().map(Vec::len),
		Some(1),
		"inside the band now: {quiet}"
	);

	// Every channel is even now, by both parties' books and by the chain's settlement preview.
	for (k, &(opener, counterparty)) in ring.iter().enumerate() {
		let (va, _) =
			assert_views_match_the_chain(&parties[opener], &parties[counterparty], channels[k]);
		assert_eq!((amounts(&va, "mine"), amounts(&va, "theirs")), (20 * UNIT, 20 * UNIT));
		let settlement: Vec<u128> =
			va["settlement"].as_array().unwrap().iter().map(number).collect();
		assert_eq!(settlement, vec![20 * UNIT, 20 * UNIT], "{va}");
	}
	// And the channel bob could not pay in carries his payment now.
	let paid = parties[1].run(&["pay", "--channel", &ab.to_string(), "--amount", "1UNIT"]);
	assert_eq!(paid["acknowledged"], 1, "{paid}");
}
