//! A round's input (channels, balances, declared bounds, targets, fees) and the circulation
//! network built from it.
//!
//! A channel's state is the position `x` of its funds: what its first end holds, between 0 and
//! the capacity. Its imbalance is `Φ(x)`, the distance of `x` from the target split, weighted
//! (with `piecewise`) more heavily the further it is: `Φ` is convex and piecewise linear with
//! breakpoints at the target and at 1/8, 2/8 and 3/8 of the capacity either side of it. The
//! solver minimises the total change of `Φ` (scaled by [`WEIGHT_SCALE`]) plus fees, subject to
//! every participant's net change being zero and every move staying within the declared bounds.
//! Each direction of a channel becomes parallel arcs, one per linear piece of `Φ`, with
//! increasing costs, so the min-cost circulation fills the pieces in order and its cost is
//! exactly the change of `Φ`.

use crate::{
	circulation::Arc,
	convex::{ConvexNetwork, Segment},
};
use serde::{Deserialize, Serialize};

/// A participant, densely numbered from 0.
pub type NodeId = u32;

/// Cost of moving one unit one band closer to (or further from) the target, before band
/// weights; fees are given in millionths of it (ppm).
pub const WEIGHT_SCALE: i64 = 1_000_000;

/// Amounts above this cannot be solved exactly in 64-bit arithmetic with the scaled costs.
pub const MAX_AMOUNT: i64 = 1 << 52;

/// One channel of a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
	/// The channel's id on chain.
	pub id: u64,
	/// Its two participants.
	pub ends: [NodeId; 2],
	/// What each end holds now.
	pub balance: [i64; 2],
	/// What the first end should hold after rebalancing (the second: capacity minus this).
	pub target: i64,
	/// At most this much may leave each end's side (its declared `max_send`).
	pub max_send: [i64; 2],
	/// At most this much may arrive on each end's side (its declared `max_receive`).
	pub max_receive: [i64; 2],
	/// Per unit each end sends, what routing through this channel costs, in ppm of
	/// [`WEIGHT_SCALE`]; 0 for none.
	#[serde(default)]
	pub fee_ppm: [i64; 2],
}

impl Channel {
	/// A channel whose ends will move anything toward or past a 50/50 split.
	pub fn willing(id: u64, ends: [NodeId; 2], balance: [i64; 2]) -> Self {
		let capacity = balance[0] + balance[1];
		Channel {
			id,
			ends,
			balance,
			target: capacity / 2,
			max_send: balance,
			max_receive: [balance[1], balance[0]],
			fee_ppm: [0, 0],
		}
	}

	pub fn capacity(&self) -> i64 {
		self.balance[0] + self.balance[1]
	}

	/// The most end `sender` can move to the other end in this channel.
	pub fn limit(&self, sender: usize) -> i64 {
		let receiver = 1 - sender;
		self.max_send[sender].min(self.max_receive[receiver]).min(self.balance[sender]).max(0)
	}

	/// Whether one side holds less than a tenth of the capacity.
	pub fn is_depleted_at(&self, position: i64) -> bool {
		let capacity = self.capacity();
		capacity > 0 && (position * 10 < capacity || (capacity - position) * 10 < capacity)
	}

	/// What would have to move, within the bounds, to reach the target: the volume a
	/// rebalancing of this channel asks for.
	pub fn requested(&self) -> i64 {
		let position = self.balance[0];
		if position > self.target {
			(position - self.target).min(self.limit(0))
		} else {
			(self.target - position).min(self.limit(1))
		}
	}

	fn breakpoints(&self) -> [i64; 3] {
		let capacity = self.capacity();
		[capacity / 8, capacity / 4, capacity * 3 / 8]
	}

	/// Weight of one unit of distance `distance..distance + 1` from the target.
	fn weight(&self, distance: i64, piecewise: bool) -> i64 {
		if !piecewise {
			return 1;
		}
		1 + self.breakpoints().iter().filter(|&&bound| bound <= distance).count() as i64
	}

	/// `Φ(position + step) - Φ(position)` for a step of ±1, in units of [`WEIGHT_SCALE`].
	fn unit_cost(&self, position: i64, step: i64, piecewise: bool) -> i64 {
		let from = (position - self.target).abs();
		let to = (position + step - self.target).abs();
		if to > from {
			self.weight(from, piecewise)
		} else {
			-self.weight(to, piecewise)
		}
	}

	/// The imbalance `Φ(position)` in units of [`WEIGHT_SCALE`].
	pub fn imbalance(&self, position: i64, piecewise: bool) -> i128 {
		let distance = (position - self.target).abs();
		if !piecewise {
			return distance as i128;
		}
		let mut total = 0i128;
		let mut from = 0;
		for (band, &bound) in self.breakpoints().iter().enumerate() {
			let to = bound.min(distance);
			if to > from {
				total += (to - from) as i128 * (band as i128 + 1);
				from = to;
			}
		}
		total + (distance - from).max(0) as i128 * 4
	}

	/// The linear pieces of moving from `start` to `end`: (length, cost per unit), costs
	/// strictly increasing because `Φ` is convex. At most eight: the target and three
	/// breakpoints either side of it split the way.
	fn pieces(&self, start: i64, end: i64, piecewise: bool) -> Pieces {
		let step = if end > start { 1 } else { -1 };
		let [near, middle, far] = self.breakpoints();
		let target = self.target;
		let mut points = [
			target - far,
			target - middle,
			target - near,
			target,
			target + near,
			target + middle,
			target + far,
		];
		if step < 0 {
			points.reverse();
		}
		let mut pieces = Pieces::default();
		let mut at = start;
		let inside = points.into_iter().filter(|&p| (p - start) * step > 0 && (end - p) * step > 0);
		for point in inside.chain([end]) {
			let length = (point - at).abs();
			if length > 0 {
				let cost = self.unit_cost(at, step, piecewise);
				// Adjacent pieces of equal cost are one arc: fewer arcs, same circulation.
				match pieces.last_mut() {
					Some((previous, previous_cost)) if *previous_cost == cost => {
						*previous += length
					}
					_ => pieces.push((length, cost)),
				}
			}
			at = point;
		}
		pieces
	}
}

/// The pieces of one direction of a channel, without allocating: there are at most eight.
#[derive(Clone, Copy, Debug, Default)]
struct Pieces {
	items: [(i64, i64); 8],
	len: usize,
}

impl Pieces {
	fn push(&mut self, piece: (i64, i64)) {
		self.items[self.len] = piece;
		self.len += 1;
	}

	fn last_mut(&mut self) -> Option<&mut (i64, i64)> {
		self.items[..self.len].last_mut()
	}

	fn as_slice(&self) -> &[(i64, i64)] {
		&self.items[..self.len]
	}
}

/// A round: participants `0..nodes` and their channels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
	pub nodes: u32,
	pub channels: Vec<Channel>,
}

/// How the solver values moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
	/// Weigh imbalance more the further a channel is from its target, so depleted channels go
	/// first.
	pub piecewise: bool,
}

impl Default for Options {
	fn default() -> Self {
		Options { piecewise: true }
	}
}

/// Why an instance cannot be solved.
#[derive(Debug, PartialEq, Eq)]
pub enum InstanceError {
	/// A channel names a participant `>= nodes`.
	UnknownParticipant { channel: u64 },
	/// A channel's two ends are the same participant.
	SelfChannel { channel: u64 },
	/// A negative amount, or one above [`MAX_AMOUNT`].
	AmountOutOfRange { channel: u64 },
	/// A target outside `0..=capacity`.
	TargetOutOfRange { channel: u64 },
}

impl core::fmt::Display for InstanceError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::UnknownParticipant { channel } => {
				write!(f, "channel {channel} names a participant outside the instance")
			}
			Self::SelfChannel { channel } => write!(f, "channel {channel} joins a node to itself"),
			Self::AmountOutOfRange { channel } => {
				write!(f, "channel {channel} has a negative amount or one above {MAX_AMOUNT}")
			}
			Self::TargetOutOfRange { channel } => {
				write!(f, "channel {channel} has a target outside its capacity")
			}
		}
	}
}

impl std::error::Error for InstanceError {}

/// The circulation network of an instance: arcs, and for each arc its channel (index into
/// `Instance::channels`) and sending end (0 or 1).
#[derive(Clone, Debug)]
pub struct Network {
	pub nodes: usize,
	pub arcs: Vec<Arc>,
	pub origin: Vec<(u32, u8)>,
}

impl Network {
	/// The arc flows of net moves (`moved[i]`: what channel `i`'s first end sends, negative
	/// when its second end sends): each channel's pieces in the sending direction filled in
	/// order, cheapest first, as an optimal circulation over the arcs fills them.
	pub fn flows(&self, moved: &[i64]) -> Vec<i64> {
		let mut left: Vec<i64> = moved.to_vec();
		self.arcs
			.iter()
			.zip(&self.origin)
			.map(|(arc, &(channel, sender))| {
				let left = &mut left[channel as usize];
				let wanted = if sender == 0 { (*left).max(0) } else { (-*left).max(0) };
				let flow = wanted.min(arc.capacity);
				*left += if sender == 0 { -flow } else { flow };
				flow
			})
			.collect()
	}
}

impl Instance {
	/// Checks the instance is well formed.
	pub fn validate(&self) -> Result<(), InstanceError> {
		for channel in &self.channels {
			let id = channel.id;
			if channel.ends.iter().any(|&end| end >= self.nodes) {
				return Err(InstanceError::UnknownParticipant { channel: id });
			}
			if channel.ends[0] == channel.ends[1] {
				return Err(InstanceError::SelfChannel { channel: id });
			}
			let amounts = channel
				.balance
				.iter()
				.chain(&channel.max_send)
				.chain(&channel.max_receive)
				.chain(&channel.fee_ppm);
			if amounts.into_iter().any(|&a| !(0..=MAX_AMOUNT).contains(&a))
				|| channel.capacity() > MAX_AMOUNT
			{
				return Err(InstanceError::AmountOutOfRange { channel: id });
			}
			if !(0..=channel.capacity()).contains(&channel.target) {
				return Err(InstanceError::TargetOutOfRange { channel: id });
			}
		}
		Ok(())
	}

	/// Builds the circulation network (see the module docs).
	pub fn network(&self, options: Options) -> Network {
		let mut arcs = Vec::with_capacity(self.channels.len() * 4);
		let mut origin = Vec::with_capacity(self.channels.len() * 4);
		for (index, channel) in self.channels.iter().enumerate() {
			for sender in 0..2usize {
				let limit = channel.limit(sender);
				if limit == 0 {
					continue;
				}
				// End 0 sending lowers the position, end 1 sending raises it.
				let start = channel.balance[0];
				let end = if sender == 0 { start - limit } else { start + limit };
				for &(length, unit) in channel.pieces(start, end, options.piecewise).as_slice() {
					arcs.push(Arc {
						source: channel.ends[sender],
						target: channel.ends[1 - sender],
						capacity: length,
						cost: unit * WEIGHT_SCALE + channel.fee_ppm[sender],
					});
					origin.push((index as u32, sender as u8));
				}
			}
		}
		Network { nodes: self.nodes as usize, arcs, origin }
	}

	/// Builds the convex network: channel `i` is link `i`, from its first end to its second,
	/// whose flow is what the first end sends (negative: what the second sends). Its cost is
	/// the change of `Φ` times [`WEIGHT_SCALE`] plus the sender's fee: the pieces of both
	/// directions of the arc network in one convex function.
	pub fn convex_network(&self, options: Options) -> ConvexNetwork {
		let segments = self.channels.len() * if options.piecewise { 9 } else { 3 };
		let mut network =
			ConvexNetwork::with_capacity(self.nodes as usize, self.channels.len(), segments);
		for channel in &self.channels {
			let start = channel.balance[0];
			let [to_first, to_second] = [channel.limit(1), channel.limit(0)];
			// The second end sending raises the position and lowers x: its pieces, walked from
			// the bottom of the range up to 0, come last first and save what they would cost.
			let second = channel.pieces(start, start + to_first, options.piecewise);
			let second = second.as_slice().iter().rev().map(|&(length, unit)| Segment {
				length,
				slope: -(unit * WEIGHT_SCALE + channel.fee_ppm[1]),
			});
			let first = channel.pieces(start, start - to_second, options.piecewise);
			let first = first.as_slice().iter().map(|&(length, unit)| Segment {
				length,
				slope: unit * WEIGHT_SCALE + channel.fee_ppm[0],
			});
			network.push_link(channel.ends[0], channel.ends[1], -to_first, second.chain(first));
		}
		network
	}

	/// The objective of moving each channel by `moved[i]` (what end 0 sent, net; negative when
	/// end 1 sent): the change in weighted imbalance times [`WEIGHT_SCALE`] plus fees.
	pub fn objective(&self, moved: &[i64], options: Options) -> i128 {
		self.channels
			.iter()
			.zip(moved)
			.map(|(channel, &moved)| {
				let before = channel.imbalance(channel.balance[0], options.piecewise);
				let after = channel.imbalance(channel.balance[0] - moved, options.piecewise);
				let sender = if moved >= 0 { 0 } else { 1 };
				(after - before) * WEIGHT_SCALE as i128
					+ moved.unsigned_abs() as i128 * channel.fee_ppm[sender] as i128
			})
			.sum()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn pieces_follow_the_convex_imbalance() {
		let channel = Channel::willing(1, [0, 1], [800, 0]);
		for piecewise in [false, true] {
			let pieces = channel.pieces(800, 0, piecewise);
			let pieces = pieces.as_slice();
			let costs: Vec<i64> = pieces.iter().map(|p| p.1).collect();
			assert!(costs.windows(2).all(|w| w[0] < w[1]), "{costs:?} increase");
			assert_eq!(pieces.iter().map(|p| p.0).sum::<i64>(), 800);
			// Walking the pieces adds up to the change of Φ.
			let total: i128 = pieces.iter().map(|&(l, c)| l as i128 * c as i128).sum();
			assert_eq!(total, channel.imbalance(0, piecewise) - channel.imbalance(800, piecewise));
		}
		assert_eq!(channel.imbalance(800, true), 100 + 2 * 100 + 3 * 100 + 4 * 100);
	}
}
