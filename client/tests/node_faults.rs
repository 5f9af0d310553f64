//! Node faults: channels, balances and challenge deadlines survive a node killed with SIGKILL
//! and restarted from its base path, and a two-validator network that loses a validator keeps
//! producing blocks and finalizes again once the validator rejoins.

mod common;

use common::*;
use std::time::Duration;

/// Pays, starts a close, kills the node with SIGKILL and restarts it from the same base path:
/// every channel and the deadline are intact, and the dispute and settlement still work.
#[test]
fn dev_node_killed_and_restarted_keeps_channels_and_deadlines() {
	let _serial = serial();
	let dir = temp_dir("node-kill");
	let base = dir.join("chain");
	let args = ["--dev", "--base-path", base.to_str().unwrap(), "--sealing", "instant"];
	let node = Node::spawn(&dir, &args, "node");
	let alice = Party::new(&node, "alice");
	let bob = Party::new(&node, "bob");
	let charlie = Party::new(&node, "charlie");
	let dave = Party::new(&node, "dave");
	let bob_before = bob.free();

	let (closing, _) = alice.open(&bob, 20 * UNIT, 12);
	let (open, _) = charlie.open(&dave, 30 * UNIT, 12);
	let listener = bob.listen(&[]);
	let amount = UNIT / 100;
	assert_eq!(alice.pay(closing, &listener.address, amount, 500)["acknowledged"], 500);
	listener.stop();
	let closed = alice.run(&["close", "--channel", &closing.to_string(), "--force"]);
	let deadline = closed["deadline"].as_u64().unwrap();
	let before_kill = (bob.channel(closing), dave.channel(open));
	let height = node.block_number(true);

	node.kill();
	let node = Node::spawn(&dir, &args, "node");
	let reconnect = |party: &Party| Party { url: node.url(), ..Party::new(&node, &party.name) };
	let (alice, bob, dave) = (reconnect(&alice), reconnect(&bob), reconnect(&dave));

	assert_eq!(node.block_number(true), height, "every finalized block survived");
	let after = (bob.channel(closing), dave.channel(open));
	assert_eq!(after, before_kill, "channels and stores are as they were");
	assert_eq!(after.0["closing"], true);
	assert_eq!(after.0["deadline"].as_u64().unwrap(), deadline);

	// Bob was paid off chain; his dispute still lands within the deadline after the restart.
	let disputed = bob.run(&["dispute", "--channel", &closing.to_string()]);
	assert_eq!(disputed["disputed"], true);
	let dispute_fee = number(&disputed["fee"]);
	node.make_blocks(deadline as u32 + 1 - node.block_number(false));
	alice.run(&["settle", "--channel", &closing.to_string()]);
	assert_eq!(bob.free(), bob_before + 500 * amount - dispute_fee);
	assert_eq!(number(&dave.channel(open)["theirs"]), 30 * UNIT, "the other channel is untouched");
}

/// Two validators (Aura + GRANDPA) and a full node. One validator is killed: the other keeps
/// authoring in its slots (it still has a peer, the full node, so it knows it is not cut off)
/// while finality waits. The killed one restarts from its base path and rejoins: finality resumes,
/// both nodes agree on the channel, and a close settles by its deadline.
#[test]
fn local_network_loses_a_validator_and_recovers() {
	let _serial = serial();
	let dir = temp_dir("local-net");
	let alice_p2p = free_port();
	let bob_p2p = free_port();
	let alice_base = dir.join("alice");
	let bob_base = dir.join("bob");
	// Fixed libp2p identities, so Bob finds Alice at a known address.
	let alice_key = "0000000000000000000000000000000000000000000000000000000000000001";
	let bob_key = "0000000000000000000000000000000000000000000000000000000000000002";
	let alice_peer = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";
	let alice_port = alice_p2p.to_string();
	let bob_port = bob_p2p.to_string();
	let alice_args = [
		"--chain",
		"local",
		"--alice",
		"--validator",
		"--no-mdns",
		"--base-path",
		alice_base.to_str().unwrap(),
		"--port",
		&alice_port,
		"--node-key",
		alice_key,
	];
	let bootnode = format!("/ip4/127.0.0.1/tcp/{alice_p2p}/p2p/{alice_peer}");
	let bob_args = [
		"--chain",
		"local",
		"--bob",
		"--validator",
		"--no-mdns",
		"--base-path",
		bob_base.to_str().unwrap(),
		"--port",
		&bob_port,
		"--node-key",
		bob_key,
		"--bootnodes",
		&bootnode,
	];
	let full_base = dir.join("full");
	let full_port = free_port().to_string();
	let full_args = [
		"--chain",
		"local",
		"--no-mdns",
		"--base-path",
		full_base.to_str().unwrap(),
		"--port",
		&full_port,
		"--bootnodes",
		&bootnode,
	];
	let alice_node = Node::spawn(&dir, &alice_args, "alice-node");
	let bob_node = Node::spawn(&dir, &bob_args, "bob-node");
	let _full_node = Node::spawn(&dir, &full_args, "full-node");
	alice_node.wait_for_block(2, true, Duration::from_secs(120));

	let alice = Party::new(&alice_node, "alice");
	let bob = Party::new(&alice_node, "bob");
	let bob_before = bob.free();
	let (channel, _) = alice.open(&bob, 10 * UNIT, 5);
	let listener = bob.listen(&[]);
	assert_eq!(alice.pay(channel, &listener.address, UNIT / 10, 20)["acknowledged"], 20);

	// Bob's validator dies. Alice's keeps authoring; GRANDPA needs both to finalize.
	bob_node.kill();
	let best = alice_node.block_number(false);
	alice_node.wait_for_block(best + 2, false, Duration::from_secs(60));

	// Bob's validator restarts from its base path, syncs and votes again.
	let bob_node = Node::spawn(&dir, &bob_args, "bob-node");
	let target = alice_node.block_number(false);
	alice_node.wait_for_block(target, true, Duration::from_secs(120));
	bob_node.wait_for_block(target, true, Duration::from_secs(120));

	// Both nodes agree on the channel.
	let via_bob_node = Party::new(&bob_node, "bob");
	assert_eq!(via_bob_node.channel(channel), bob.channel(channel));

	let closed = alice.run(&["close", "--channel", &channel.to_string(), "--force"]);
	assert_eq!(closed["closed"], "unilaterally");
	let disputed = bob.run(&["dispute", "--channel", &channel.to_string()]);
	assert_eq!(disputed["disputed"], true);
	alice.run(&["settle", "--channel", &channel.to_string()]);
	listener.stop();
	assert_eq!(bob.free(), bob_before + 20 * (UNIT / 10) - number(&disputed["fee"]));
}
