//! The client against a real dev node (instant sealing), as users run it: separate `paychan`
//! processes for each party, talking over the encrypted peer link.

mod common;

use common::*;

/// Two clients open a channel, exchange 10,000 payments and close cooperatively; the final free
/// balances match to the planck, with every fee accounted.
#[test]
fn ten_thousand_payments_then_cooperative_close() {
	let _serial = serial();
	let node = Node::start("ten-thousand");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let (alice_before, bob_before) = (alice.free(), bob.free());

	let (channel, open_fee) = alice.open(&bob, 100 * UNIT, 10);
	let listener = bob.listen(&[]);
	let amount = 3 * UNIT / 1000;
	let report = alice.pay(channel, &listener.address, amount, 10_000);
	assert_eq!(report["acknowledged"], 10_000);
	let paid = 10_000 * amount;
	assert_eq!(number(&report["paid_total"]), paid);

	// Bob's store has the newest proof: every payment is his.
	let bob_view = bob.channel(channel);
	assert_eq!(number(&bob_view["received"]), paid);
	assert_eq!(bob_view["received_nonce"], 10_000);
	assert_eq!(number(&bob_view["mine"]), paid);

	// Splice in and out without closing; the withdrawal needs Bob's consent over the link.
	let deposit = alice.run(&[
		"deposit",
		"--channel",
		&channel.to_string(),
		"--amount",
		&(5 * UNIT).to_string(),
	]);
	let deposit_fee = number(&deposit["fee"]);
	let withdraw = alice.withdraw(channel, &listener.address, 7 * UNIT);
	assert!(withdraw.status.success(), "{}", String::from_utf8_lossy(&withdraw.stderr));
	let withdraw_fee = number(&last_json(&withdraw)["fee"]);
	// Bob does not consent to Alice taking out more than she has left.
	let refused = alice.withdraw(channel, &listener.address, 98 * UNIT);
	assert!(!refused.status.success());
	let refused = String::from_utf8_lossy(&refused.stderr);
	assert!(refused.contains("can be withdrawn"), "{refused}");

	let closed =
		alice.run(&["close", "--channel", &channel.to_string(), "--peer", &listener.address]);
	assert_eq!(closed["closed"], "cooperatively");
	let close_fee = number(&closed["fee"]);
	assert_eq!(number(&closed["payouts"][0]), 100 * UNIT + 5 * UNIT - 7 * UNIT - paid);
	assert_eq!(number(&closed["payouts"][1]), paid);
	listener.stop();

	// Bob paid nothing on chain; Alice paid the payments and four fees, and got the record
	// deposit back.
	assert_eq!(bob.free(), bob_before + paid);
	let fees = open_fee + deposit_fee + withdraw_fee + close_fee;
	assert_eq!(alice.free(), alice_before - paid - fees);
}

/// Alice closes with a stale state (none of her payments to Bob) while Bob's client is stopped;
/// the watchtower Bob handed his proofs to disputes in time, and Bob gets all he was paid.
#[test]
fn watchtower_disputes_a_stale_close() {
	let _serial = serial();
	let node = Node::start("watchtower");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let tower = Party::new(&node, "charlie");
	let bob_before = bob.free();

	let (channel, _) = alice.open(&bob, 50 * UNIT, 8);
	let watchtower = tower.watch();
	let listener = bob.listen(&["--watchtower", &watchtower.address]);
	let amount = UNIT / 10;
	let report = alice.pay(channel, &listener.address, amount, 120);
	assert_eq!(report["acknowledged"], 120);
	// Bob stops; on the way out his client hands the newest proof to the watchtower.
	let bob_address = listener.address.clone();
	listener.stop();

	// Alice closes unilaterally, submitting nothing of hers: on chain she paid Bob nothing.
	let _ = bob_address;
	let closed = alice.run(&["close", "--channel", &channel.to_string(), "--force"]);
	assert_eq!(closed["closed"], "unilaterally");
	let deadline = closed["deadline"].as_u64().unwrap() as u32;

	// The watchtower reacts to the close's block.
	let started = std::time::Instant::now();
	while !watchtower.output().contains("\"nonce\":120") {
		assert!(
			started.elapsed() < std::time::Duration::from_secs(30),
			"no dispute; watchtower said: {}",
			watchtower.errors()
		);
		std::thread::sleep(std::time::Duration::from_millis(100));
	}
	let dispute: serde_json::Value =
		serde_json::from_str(watchtower.output().lines().next().unwrap()).unwrap();
	assert_eq!(dispute["channel_id"], channel);
	assert_eq!(number(&dispute["transferred"]), 120 * amount);

	// After the challenge period the chain settles by the newest proofs.
	let now = node.rpc("chain_getHeader", "[]").unwrap()["result"]["number"]
		.as_str()
		.map(|n| u32::from_str_radix(n.trim_start_matches("0x"), 16).unwrap())
		.unwrap();
	node.make_blocks(deadline + 1 - now);
	let settled = alice.run(&["settle", "--channel", &channel.to_string()]);
	assert!(settled["settled"].is_string());
	assert_eq!(bob.free(), bob_before + 120 * amount, "Bob is made whole");
	watchtower.stop();
}

/// The receiver is killed with SIGKILL in the middle of a stream and restarted: every payment
/// the sender saw acknowledged is in the receiver's store, and the channel goes on.
#[test]
fn receiver_crash_loses_no_acknowledged_payment() {
	let _serial = serial();
	let node = Node::start("crash");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let bob_before = bob.free();
	let (channel, _) = alice.open(&bob, 1000 * UNIT, 10);
	let listener = bob.listen(&[]);

	let amount = 1_000_000u128;
	let stream = alice
		.command(&with_peer("pay", channel, &listener.address, amount, &["--count", "2000000"]))
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.unwrap();
	std::thread::sleep(std::time::Duration::from_millis(1500));
	listener.kill();
	let output = stream.wait_with_output().unwrap();
	assert!(!output.status.success(), "the stream must fail when the receiver dies");
	let report = last_json(&output);
	let acknowledged = report["acknowledged_nonce"].as_u64().unwrap();
	assert!(acknowledged > 0 && acknowledged < 2_000_000, "killed mid-stream: {report}");
	assert_eq!(number(&report["paid_total"]), acknowledged as u128 * amount);

	// Restarted, Bob's client holds at least every acknowledged payment.
	let listener = bob.listen(&[]);
	let bob_view = bob.channel(channel);
	let held = bob_view["received_nonce"].as_u64().unwrap();
	assert!(held >= acknowledged, "Bob holds nonce {held}, Alice saw {acknowledged} acknowledged");
	assert_eq!(number(&bob_view["received"]), held as u128 * amount);

	// The channel goes on from there: Alice adopts whatever Bob holds beyond her
	// acknowledgements, and both agree on the close.
	let more = alice.pay(channel, &listener.address, amount, 1000);
	assert_eq!(more["acknowledged_nonce"].as_u64().unwrap(), held + 1000);
	let total = (held + 1000) as u128 * amount;
	let closed =
		alice.run(&["close", "--channel", &channel.to_string(), "--peer", &listener.address]);
	assert_eq!(closed["closed"], "cooperatively");
	assert_eq!(number(&closed["payouts"][1]), total);
	listener.stop();
	assert_eq!(bob.free(), bob_before + total);
}

/// Three parties with one-sided channels A→B, B→C, C→A declare requests; the rebalancer
/// solves the round exactly and one plan moves half of each channel around the cycle. Pledged
/// funds cannot be spent off chain meanwhile.
#[test]
fn three_party_cycle_is_rebalanced_through_requests_and_a_plan() {
	let _serial = serial();
	let node = Node::start("cycle");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let charlie = Party::new(&node, "charlie");
	let solver = Party::new(&node, "dave");
	let deposit = 10 * UNIT;
	let half = deposit / 2;
	let (ab, _) = alice.open(&bob, deposit, 10);
	let (bc, _) = bob.open(&charlie, deposit, 10);
	let (ca, _) = charlie.open(&alice, deposit, 10);

	let request = |party: &Party, send: u64, receive: u64| {
		party.run(&[
			"rebalance",
			"request",
			"--entry",
			&format!("{send}:{half}:0"),
			"--entry",
			&format!("{receive}:0:{half}"),
		]);
	};
	request(&alice, ab, ca);
	request(&bob, bc, ab);
	request(&charlie, ca, bc);

	// Alice pledged half of her side of A→B: only the other half is spendable.
	let bob_listener = bob.listen(&[]);
	let refused = alice.fail(&with_peer("pay", ab, &bob_listener.address, half + 1, &[]));
	assert!(refused.contains("pledged"), "{refused}");

	let solved = solver.run(&["rebalance", "solve"]);
	assert_eq!(solved["channels"], 3);
	assert_eq!(solved["plans"], 1);
	assert_eq!(solved["edges"], 3);
	assert_eq!(number(&solved["volume"]), 3 * half);

	for (party, channel) in [(&alice, ab), (&bob, bc), (&charlie, ca), (&alice, ca)] {
		let view = party.channel(channel);
		assert_eq!(number(&view["mine"]), half, "{} in channel {channel}", party.name);
		assert_eq!(number(&view["theirs"]), half, "{} in channel {channel}", party.name);
	}

	// The rebalanced channel keeps working off chain, and closes by the new books.
	let paid = alice.pay(ab, &bob_listener.address, UNIT, 1);
	assert_eq!(paid["acknowledged"], 1);
	let closed =
		alice.run(&["close", "--channel", &ab.to_string(), "--peer", &bob_listener.address]);
	assert_eq!(number(&closed["payouts"][0]), half - UNIT);
	assert_eq!(number(&closed["payouts"][1]), half + UNIT);
	bob_listener.stop();
}

/// A payer that ignores its own pledge (a modified client) pays over a raw link. Bob's listener
/// acknowledges a payment that leaves Alice exactly what a rebalance plan may still move from
/// her side, refuses one more planck, and once Alice's request is gone (a new block) accepts it
/// on the same link: the listener reads the exposure once per block, never across blocks.
#[test]
fn the_receiver_refuses_payments_a_pledged_plan_could_take_back() {
	use paychan_client::{
		chain::{Chain, Progress},
		keys::Keys,
		session::proof_message,
		wire::{Link, Message, ProofState},
	};

	let _serial = serial();
	let node = Node::start("exposure");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let deposit = 10 * UNIT;
	let half = deposit / 2;
	let (channel, _) = alice.open(&bob, deposit, 10);
	alice.run(&["rebalance", "request", "--entry", &format!("{channel}:{half}:0")]);
	bob.run(&["rebalance", "request", "--entry", &format!("{channel}:0:{half}")]);
	let listener = bob.listen(&[]);

	let runtime = tokio::runtime::Runtime::new().unwrap();
	let alice_keys = Keys::from_uri("//Alice").unwrap();
	let bob_key = Keys::from_uri("//Bob").unwrap().public();
	let chain = runtime.block_on(Chain::connect(&node.url(), Progress::Silent)).unwrap();
	let genesis = chain.genesis_hash;
	let pay = |link: &mut Link, nonce: u64, transferred: u128| {
		let mut proof = ProofState { nonce, transferred, signature: [0; 64], locks: None };
		proof.signature = alice_keys.sign(&proof_message(genesis, channel, &proof));
		runtime.block_on(async {
			link.writer.send(Message::Pay(proof)).await.unwrap();
			link.reader.receive_one().await.unwrap()
		})
	};
	let session = || {
		runtime
			.block_on(async {
				let mut link = Link::connect(&listener.address, &alice_keys, Some(bob_key)).await?;
				link.writer
					.send(Message::Hello { genesis_hash: genesis, channel_id: channel })
					.await?;
				let welcome = link.reader.receive_one().await?;
				anyhow::ensure!(matches!(welcome, Message::Welcome { .. }), "{welcome:?}");
				Ok::<_, anyhow::Error>(link)
			})
			.unwrap()
	};

	// Alice's 10 UNIT less 5 paid leave her 5 on her side: exactly the exposure, accepted.
	let mut link = session();
	assert!(matches!(pay(&mut link, 1, half), Message::Ack { nonce: 1 }));
	// One planck more, in the same block: refused with the reason, nothing recorded.
	match pay(&mut link, 2, half + 1) {
		Message::Refused { nonce: 2, reason } => {
			assert!(reason.contains("a rebalance plan may still move"), "{reason}")
		}
		other => panic!("expected a refusal, got {other:?}"),
	}
	assert_eq!(bob.channel(channel)["received_nonce"], 1);
	assert_eq!(number(&bob.channel(channel)["received"]), half);

	// The refusal ended that session. On a new one, Alice's request goes away in a new block;
	// the same payment is then accepted on the same link.
	let mut link = session();
	assert!(matches!(pay(&mut link, 2, half), Message::Ack { nonce: 2 }));
	alice.run(&["rebalance", "cancel"]);
	assert!(matches!(pay(&mut link, 3, half + 1), Message::Ack { nonce: 3 }));
	drop(link);
	listener.stop();
	assert_eq!(number(&bob.channel(channel)["received"]), half + 1);
}
