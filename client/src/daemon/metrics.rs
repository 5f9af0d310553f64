//! Prometheus metrics of a daemon, in the text exposition format, on `--metrics ADDRESS`
//! (`GET /metrics`), as the node serves its own.

use std::{
	fmt::Write,
	sync::atomic::{AtomicU64, Ordering},
	time::Instant,
};
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::TcpListener,
};

/// Upper bounds of the acknowledgement latency histogram, in microseconds.
const LATENCY_BUCKETS_US: [u64; 12] =
	[100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000, 100_000, 500_000, 2_000_000];

/// What the daemon counts.
#[derive(Default)]
pub struct Metrics {
	payments_sent: AtomicU64,
	proofs_sent: AtomicU64,
	proofs_received: AtomicU64,
	links_up: AtomicU64,
	links_down: AtomicU64,
	chain_events: AtomicU64,
	disputes: AtomicU64,
	latency_buckets: [AtomicU64; LATENCY_BUCKETS_US.len()],
	latency_count: AtomicU64,
	latency_sum_us: AtomicU64,
}

impl Metrics {
	/// Counts one acknowledged proof and its payments' latencies.
	pub fn sent<T, R>(&self, payments: &[(T, Instant, R)], acknowledged: Instant) {
		self.proofs_sent.fetch_add(1, Ordering::Relaxed);
		self.payments_sent.fetch_add(payments.len() as u64, Ordering::Relaxed);
		for (_, submitted, _) in payments {
			let us = acknowledged.duration_since(*submitted).as_micros() as u64;
			self.latency_count.fetch_add(1, Ordering::Relaxed);
			self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
			if let Some(bucket) = LATENCY_BUCKETS_US.iter().position(|bound| us <= *bound) {
				self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
			}
		}
	}

	/// Counts an event by its kind.
	pub fn event(&self, event: &crate::events::Event) {
		use crate::events::Event::*;
		let counter = match event {
			PaymentReceived { .. } => &self.proofs_received,
			LinkUp { .. } => &self.links_up,
			LinkDown { .. } => &self.links_down,
			Disputed { .. } => &self.disputes,
			ChannelOpened { .. }
			| CloseStarted { .. }
			| ChannelGone { .. }
			| RebalanceRequested { .. }
			| RebalanceSolved { .. }
			| ChannelRebalanced { .. } => &self.chain_events,
			_ => return,
		};
		counter.fetch_add(1, Ordering::Relaxed);
	}

	/// The counters as the API's `paychan_stats` answers them: the dashboard's rate and latency
	/// charts are the differences between two answers.
	pub fn snapshot(&self) -> serde_json::Value {
		let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
		serde_json::json!({
			"unix_ms": crate::events::unix_ms(),
			"payments_sent": load(&self.payments_sent),
			"proofs_sent": load(&self.proofs_sent),
			"proofs_received": load(&self.proofs_received),
			"links_up": load(&self.links_up),
			"links_down": load(&self.links_down),
			"disputes": load(&self.disputes),
			"latency": {
				"bounds_us": LATENCY_BUCKETS_US,
				"buckets": self.latency_buckets.each_ref().map(load),
				"count": load(&self.latency_count),
				"sum_us": load(&self.latency_sum_us),
			},
		})
	}

	/// The exposition text; `balances` are `(channel id, mine, theirs)`.
	pub fn render(&self, balances: &[(u64, i128, i128)]) -> String {
		let mut out = String::new();
		let counter = |out: &mut String, name: &str, help: &str, value: &AtomicU64| {
			let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
			let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
		};
		counter(
			&mut out,
			"paychan_payments_sent_total",
			"Payments acknowledged by the receiver.",
			&self.payments_sent,
		);
		counter(
			&mut out,
			"paychan_proofs_sent_total",
			"Balance proofs acknowledged (one covers coalesced payments).",
			&self.proofs_sent,
		);
		counter(
			&mut out,
			"paychan_proofs_received_total",
			"Balance proofs received and made durable.",
			&self.proofs_received,
		);
		counter(&mut out, "paychan_link_up_total", "Peer links that came up.", &self.links_up);
		counter(
			&mut out,
			"paychan_link_down_total",
			"Peer links that went down or could not be dialed.",
			&self.links_down,
		);
		counter(
			&mut out,
			"paychan_chain_events_total",
			"Channels opened, closes started and channels gone.",
			&self.chain_events,
		);
		counter(
			&mut out,
			"paychan_disputes_total",
			"Stale closes this daemon disputed.",
			&self.disputes,
		);
		let name = "paychan_ack_latency_seconds";
		let _ = writeln!(out, "# HELP {name} From submitting a payment to its acknowledgement.\n# TYPE {name} histogram");
		let mut cumulative = 0;
		for (bound, bucket) in LATENCY_BUCKETS_US.iter().zip(&self.latency_buckets) {
			cumulative += bucket.load(Ordering::Relaxed);
			let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", *bound as f64 / 1e6);
		}
		let count = self.latency_count.load(Ordering::Relaxed);
		let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
		let _ = writeln!(
			out,
			"{name}_sum {}",
			self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
		);
		let _ = writeln!(out, "{name}_count {count}");
		let _ = writeln!(out, "# HELP paychan_channel_balance_planck A channel's balances by the settlement formula.\n# TYPE paychan_channel_balance_planck gauge");
		for (channel, mine, theirs) in balances {
			let _ = writeln!(
				out,
				"paychan_channel_balance_planck{{channel=\"{channel}\",side=\"mine\"}} {mine}"
			);
			let _ = writeln!(
				out,
				"paychan_channel_balance_planck{{channel=\"{channel}\",side=\"theirs\"}} {theirs}"
			);
		}
		out
	}
}

/// Serves `GET /metrics` on `listener`; `render` makes the body of each scrape.
pub async fn serve<F, Fut>(listener: TcpListener, render: F)
where
	F: Fn() -> Fut + Clone + Send + 'static,
	Fut: std::future::Future<Output = String> + Send,
{
	while let Ok((mut stream, _)) = listener.accept().await {
		let render = render.clone();
		tokio::spawn(async move {
			let mut request = [0u8; 1024];
			let Ok(read) = stream.read(&mut request).await else { return };
			let head = String::from_utf8_lossy(&request[..read]);
			let response = if head.starts_with("GET /metrics") {
				let body = render().await;
				format!(
					"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \
					 {}\r\nConnection: close\r\n\r\n{body}",
					body.len()
				)
			} else {
				"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
			};
			let _ = stream.write_all(response.as_bytes()).await;
		});
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn latencies_land_in_cumulative_buckets() {
		let metrics = Metrics::default();
		let now = Instant::now();
		let earlier = now - std::time::Duration::from_micros(3_000);
		metrics.sent(&[((), earlier, ()), ((), now, ())], now);
		let text = metrics.render(&[(4, 10, -2)]);
		assert!(text.contains("paychan_payments_sent_total 2"), "{text}");
		assert!(text.contains("paychan_ack_latency_seconds_bucket{le=\"0.0001\"} 1"), "{text}");
		assert!(text.contains("paychan_ack_latency_seconds_bucket{le=\"0.005\"} 2"), "{text}");
		assert!(text.contains("paychan_ack_latency_seconds_count 2"), "{text}");
		assert!(text.contains("{channel=\"4\",side=\"theirs\"} -2"), "{text}");
	}
}
