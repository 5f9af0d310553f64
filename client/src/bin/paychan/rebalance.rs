//! The rebalancing commands: request, cancel, and solve a round.

use super::*;

/// Runs `cli.command`, one of this module's commands.
pub async fn run(cli: &Cli, keys: &Keys, chain: &Chain, party: Party) -> Result<()> {
	match &cli.command {
		Command::Rebalance(RebalanceCommand::Request { entries, max_fee, expires_in }) => {
			for &(channel_id, max_send, max_receive) in entries {
				let ledger = party.ledger(channel_id).await?;
				planner::check_entry(&ledger, max_send, max_receive)?;
			}
			let (receipt, _) =
				planner::request(chain, keys, entries, *max_fee, *expires_in).await?;
			report_fee(cli, "rebalance request declared", &receipt);
		}
		Command::Rebalance(RebalanceCommand::Cancel) => {
			let call = runtime::tx().payment_channels().cancel_rebalance_request();
			let receipt = chain.submit("cancel_rebalance_request", &call, keys).await?;
			report_fee(cli, "rebalance request cancelled; its deposit is released", &receipt);
		}
		Command::Rebalance(RebalanceCommand::Solve { dry_run }) => {
			let report = planner::solve(chain, keys, *dry_run).await?;
			output(
				cli,
				serde_json::to_value(&report)?,
				format!(
					"{} channels: {} plans, {} edges, volume {}{}",
					report.channels,
					report.plans,
					report.edges,
					report.volume,
					if *dry_run { " (not submitted)" } else { "" }
				),
			);
		}
		_ => unreachable!("main hands only these commands to this module"),
	}
	Ok(())
}
