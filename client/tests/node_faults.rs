//! Node faults: channels, balances and challenge deadlines survive a node killed with SIGKILL
//! and restarted from its base path. Validator faults in a four-validator network are
//! network_faults.rs.

mod common;

use common::*;

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
