//! Assembles the node: client, import queue, network, RPC, and block production by Aura with
//! GRANDPA finality or by instant/manual sealing.

use crate::cli::Sealing;
use futures::{FutureExt, Stream, StreamExt};
use paychan_runtime::{apis::RuntimeApi, opaque::Block, Hash};
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_consensus_manual_seal::{
	consensus::{aura::AuraConsensusDataProvider, timestamp::SlotTimestampProvider},
	EngineCommand, ManualSealParams,
};
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::{OffchainTransactionPoolFactory, TransactionPool};
use sp_consensus_aura::sr25519::AuthorityPair as AuraPair;
use std::{pin::Pin, sync::Arc, time::Duration};

/// The full client of this node.
pub(crate) type FullClient = sc_service::TFullClient<
	Block,
	RuntimeApi,
	sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>,
>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;
type GrandpaLink = sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// Justifications are generated and imported at least every this many blocks.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// The parts of the node that the chain subcommands need too.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(Option<(GrandpaBlockImport, GrandpaLink)>, Option<Telemetry>),
>;

/// Builds the client, the transaction pool and the import queue for `sealing`.
pub fn new_partial(config: &Configuration, sealing: Sealing) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (import_queue, grandpa) = match sealing {
		Sealing::Instant | Sealing::Manual => {
			let import_queue = sc_consensus_manual_seal::import_queue(
				Box::new(client.clone()),
				&task_manager.spawn_essential_handle(),
				config.prometheus_registry(),
			);
			(import_queue, None)
		}
		Sealing::Aura => {
			let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
				client.clone(),
				GRANDPA_JUSTIFICATION_PERIOD,
				&client,
				select_chain.clone(),
				telemetry.as_ref().map(|x| x.handle()),
			)?;
			let cidp_client = client.clone();
			let import_queue = sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(
				ImportQueueParams {
					block_import: grandpa_block_import.clone(),
					justification_import: Some(Box::new(grandpa_block_import.clone())),
					client: client.clone(),
					create_inherent_data_providers: move |parent_hash, _| {
						let cidp_client = cidp_client.clone();
						async move {
							let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
								&*cidp_client,
								parent_hash,
							)?;
							let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
							let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
								*timestamp,
								slot_duration,
							);
							Ok((slot, timestamp))
						}
					},
					spawner: &task_manager.spawn_essential_handle(),
					registry: config.prometheus_registry(),
					check_for_equivocation: Default::default(),
					telemetry: telemetry.as_ref().map(|x| x.handle()),
					compatibility_mode: Default::default(),
				},
			)?;
			(import_queue, Some((grandpa_block_import, grandpa_link)))
		}
	};

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa, telemetry),
	})
}

/// Builds and starts the full node.
pub fn new_full<
	N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
>(
	config: Configuration,
	sealing: Sealing,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa, mut telemetry),
	} = new_partial(&config, sealing)?;

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let grandpa_protocol_name = sc_consensus_grandpa::protocol_standard_name(
		&client.block_hash(0).ok().flatten().expect("Genesis block exists; qed"),
		&config.chain_spec,
	);
	let mut warp_sync_config = None;
	let mut grandpa_notification_service = None;
	if let Some((_, grandpa_link)) = &grandpa {
		let (grandpa_protocol_config, notification_service) =
			sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
				grandpa_protocol_name.clone(),
				metrics.clone(),
				net_config.peer_store_handle(),
			);
		net_config.add_notification_protocol(grandpa_protocol_config);
		grandpa_notification_service = Some(notification_service);
		warp_sync_config = Some(WarpSyncConfig::WithProvider(Arc::new(
			sc_consensus_grandpa::warp_proof::NetworkProvider::new(
				backend.clone(),
				grandpa_link.shared_authority_set().clone(),
				Vec::default(),
			),
		)));
	}

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config,
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: true,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	// With on-demand sealing, `engine_createBlock` commands reach the sealing task here.
	let (seal_commands_sink, seal_commands) = futures::channel::mpsc::channel(1024);
	let manual_seal = (sealing != Sealing::Aura).then_some(seal_commands_sink);

	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				manual_seal: manual_seal.clone(),
			};
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	let _rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: Arc::new(network.clone()),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	let proposer_factory = sc_basic_authorship::ProposerFactory::new(
		task_manager.spawn_handle(),
		client.clone(),
		transaction_pool.clone(),
		prometheus_registry.as_ref(),
		telemetry.as_ref().map(|x| x.handle()),
	);

	let Some((block_import, grandpa_link)) = grandpa else {
		// Instant or manual sealing: blocks on demand, each finalized at once.
		let commands: Pin<Box<dyn Stream<Item = EngineCommand<Hash>> + Send>> = match sealing {
			Sealing::Instant => Box::pin(futures::stream::select(
				seal_commands,
				transaction_pool.import_notification_stream().map(|_| {
					EngineCommand::SealNewBlock {
						create_empty: false,
						finalize: true,
						parent_hash: None,
						sender: None,
					}
				}),
			)),
			_ => Box::pin(seal_commands),
		};
		let cidp_client = client.clone();
		let sealing_task = sc_consensus_manual_seal::run_manual_seal(ManualSealParams {
			block_import: client.clone(),
			env: proposer_factory,
			client: client.clone(),
			pool: transaction_pool,
			commands_stream: commands,
			select_chain,
			consensus_data_provider: Some(Box::new(AuraConsensusDataProvider::new(client))),
			create_inherent_data_providers: move |_, ()| {
				let client = cidp_client.clone();
				async move {
					// Each sealed block is one Aura slot after its parent, whatever the wall
					// clock says, so blocks may come faster than the slot duration. The Aura
					// digest is derived from this timestamp; no other inherent data is given,
					// because manual seal counts inherent data entries as inherent extrinsics
					// when it decides whether a block is empty.
					Ok(SlotTimestampProvider::new_aura(client)?)
				}
			},
		});
		task_manager.spawn_essential_handle().spawn_blocking(
			"manual-seal",
			Some("block-authoring"),
			sealing_task,
		);
		return Ok(task_manager);
	};

	if role.is_authority() {
		let slot_duration = sc_consensus_aura::slot_duration(&*client)?;
		let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
			StartAuraParams {
				slot_duration,
				client,
				select_chain,
				block_import,
				proposer_factory,
				create_inherent_data_providers: move |_, ()| async move {
					let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
					let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
						*timestamp,
						slot_duration,
					);
					Ok((slot, timestamp))
				},
				force_authoring,
				backoff_authoring_blocks: Option::<()>::None,
				keystore: keystore_container.keystore(),
				sync_oracle: sync_service.clone(),
				justification_sync_link: sync_service.clone(),
				block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
				max_block_proposal_slot_portion: None,
				telemetry: telemetry.as_ref().map(|x| x.handle()),
				compatibility_mode: Default::default(),
			},
		)?;
		// Block authoring is essential: if it fails, the node stops.
		task_manager.spawn_essential_handle().spawn_blocking("aura", Some("block-authoring"), aura);
	}

	if enable_grandpa {
		// Only authorities vote, so only they need the keystore.
		let keystore = if role.is_authority() { Some(keystore_container.keystore()) } else { None };
		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};
		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service: grandpa_notification_service
				.expect("the GRANDPA protocol is registered whenever GRANDPA runs; qed"),
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};
		// The voter is essential: if it fails, the node stops.
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	Ok(task_manager)
}
