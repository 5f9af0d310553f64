//! The built-in chain specifications: `dev` and `local`.

use paychan_runtime::WASM_BINARY;
use sc_service::ChainType;

/// The chain specification type of this node.
pub type ChainSpec = sc_service::GenericChainSpec;

/// What polkadot.js shows for the token.
fn properties() -> sc_chain_spec::Properties {
	let mut properties = sc_chain_spec::Properties::new();
	properties.insert("tokenSymbol".into(), "UNIT".into());
	properties.insert("tokenDecimals".into(), paychan_runtime::DECIMALS.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

/// One authority (Alice): for `--dev`.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(WASM_BINARY.ok_or("the runtime's wasm was not built")?, None)
		.with_name("Paychan Development")
		.with_id("paychan_dev")
		.with_chain_type(ChainType::Development)
		.with_properties(properties())
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.build())
}

/// Four authorities (Alice, Bob, Charlie and Dave, with their dev keys): for `--chain local`.
/// scripts/network-spec.sh derives a staging spec from it with freshly generated authority keys.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(WASM_BINARY.ok_or("the runtime's wasm was not built")?, None)
		.with_name("Paychan Local Testnet")
		.with_id("paychan_local")
		.with_chain_type(ChainType::Local)
		.with_properties(properties())
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.build())
}
