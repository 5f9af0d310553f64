//! Circulation networks whose links have convex piecewise-linear costs: what
//! [`crate::primal_dual`] solves.
//!
//! A link carries a flow `x` from its source to its target (a negative `x` runs the other way)
//! within `lower..=upper`, at a cost that is convex and piecewise linear in `x`. A channel of a
//! round is one link: `x` is what its first end sends, and every piece of its imbalance and
//! fees is a segment of the link's cost. The same round written as plain arcs
//! ([`crate::model::Network`]) needs one arc per piece and direction, so about nine arcs per
//! channel with piecewise weights where this needs one link, and every search and every
//! maximum flow of the solver scans nine times fewer edges.
//!
//! An arc of capacity `c` and cost `k` is the link `0..=c` with one segment of slope `k`, so
//! any arc network is also a convex network ([`ConvexNetwork::from_arcs`]).

use crate::circulation::Arc;

/// Links with convex piecewise-linear costs on nodes `0..nodes`. Link `l`'s segments are
/// `first_segment[l]..first_segment[l + 1]`, in increasing `x`; segment `s` ends at
/// `segment_end[s]` and costs `slope[s]` per unit of `x`, and the first one starts at
/// `lower[l]`. Slopes strictly increase along a link (adjacent equal slopes are merged when a
/// link is added), and every range contains 0, where every link's cost is 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvexNetwork {
	pub nodes: usize,
	pub source: Vec<u32>,
	pub target: Vec<u32>,
	pub lower: Vec<i64>,
	pub first_segment: Vec<u32>,
	pub segment_end: Vec<i64>,
	pub slope: Vec<i64>,
}

/// One linear piece of a link's cost, for [`ConvexNetwork::push_link`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
	pub length: i64,
	pub slope: i64,
}

impl ConvexNetwork {
	/// An empty network on `nodes` nodes, with room for `links` links of `segments` segments
	/// in all.
	pub fn with_capacity(nodes: usize, links: usize, segments: usize) -> Self {
		let mut first_segment = Vec::with_capacity(links + 1);
		first_segment.push(0);
		ConvexNetwork {
			nodes,
			source: Vec::with_capacity(links),
			target: Vec::with_capacity(links),
			lower: Vec::with_capacity(links),
			first_segment,
			segment_end: Vec::with_capacity(segments),
			slope: Vec::with_capacity(segments),
		}
	}

	/// The network of plain arcs: arc `i` is link `i`.
	pub fn from_arcs(nodes: usize, arcs: &[Arc]) -> Self {
		let mut network = Self::with_capacity(nodes, arcs.len(), arcs.len());
		for arc in arcs {
			let segment = Segment { length: arc.capacity, slope: arc.cost };
			network.push_link(arc.source, arc.target, 0, [segment]);
		}
		network
	}

	/// Adds a link from `source` to `target` whose range starts at `lower` (at most 0) and
	/// goes on through `segments` in increasing `x`. Empty segments are skipped and adjacent
	/// segments of equal slope merged. Returns the link's number.
	///
	/// # Panics
	/// If an endpoint is out of range, a length is negative, the slopes decrease (the cost
	/// would not be convex) or the range does not contain 0.
	pub fn push_link(
		&mut self,
		source: u32,
		target: u32,
		lower: i64,
		segments: impl IntoIterator<Item = Segment>,
	) -> usize {
		assert!(
			(source as usize) < self.nodes && (target as usize) < self.nodes,
			"endpoint in range"
		);
		let start = *self.first_segment.last().expect("first_segment starts with 0") as usize;
		let mut end = lower;
		for Segment { length, slope } in segments {
			assert!(length >= 0, "segment lengths are non-negative");
			if length == 0 {
				continue;
			}
			end += length;
			match self.slope.last() {
				Some(&last) if self.slope.len() > start && last == slope => {
					*self.segment_end.last_mut().expect("a slope has its end") = end;
				}
				Some(&last) if self.slope.len() > start => {
					assert!(last < slope, "slopes increase along a link: its cost is convex");
					self.segment_end.push(end);
					self.slope.push(slope);
				}
				_ => {
					self.segment_end.push(end);
					self.slope.push(slope);
				}
			}
		}
		assert!(lower <= 0 && end >= 0, "a link's range contains 0");
		self.source.push(source);
		self.target.push(target);
		self.lower.push(lower);
		self.first_segment.push(self.slope.len() as u32);
		self.source.len() - 1
	}

	pub fn links(&self) -> usize {
		self.source.len()
	}

	/// The segments of link `link`, as indices into `segment_end` and `slope`.
	pub fn segments(&self, link: usize) -> core::ops::Range<usize> {
		self.first_segment[link] as usize..self.first_segment[link + 1] as usize
	}

	/// The largest flow link `link` may carry.
	pub fn upper(&self, link: usize) -> i64 {
		let segments = self.segments(link);
		if segments.is_empty() {
			self.lower[link]
		} else {
			self.segment_end[segments.end - 1]
		}
	}

	/// Where segment `segment` of link `link` starts.
	pub fn segment_start(&self, link: usize, segment: usize) -> i64 {
		if segment == self.segments(link).start {
			self.lower[link]
		} else {
			self.segment_end[segment - 1]
		}
	}

	/// The cost of link `link` carrying `x`: the integral of its slopes from 0 to `x`.
	pub fn cost(&self, link: usize, x: i64) -> i128 {
		let mut total = 0i128;
		for segment in self.segments(link) {
			let start = self.segment_start(link, segment);
			let end = self.segment_end[segment];
			// The part of the segment between 0 and x, signed by the direction from 0 to x.
			let (from, to) = (start.max(x.min(0)), end.min(x.max(0)));
			if to > from {
				let sign = if x >= 0 { 1 } else { -1 };
				total += sign * (to - from) as i128 * self.slope[segment] as i128;
			}
		}
		total
	}

	/// The cost of the flow `x` (one entry per link).
	pub fn total_cost(&self, x: &[i64]) -> i128 {
		x.iter().enumerate().map(|(link, &x)| self.cost(link, x)).sum()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn segments(pieces: &[(i64, i64)]) -> Vec<Segment> {
		pieces.iter().map(|&(length, slope)| Segment { length, slope }).collect()
	}

	#[test]
	fn equal_slopes_merge_and_cost_integrates_from_zero() {
		let mut network = ConvexNetwork::with_capacity(2, 1, 4);
		let link =
			network.push_link(0, 1, -5, segments(&[(3, -2), (2, 1), (0, 4), (4, 1), (6, 3)]));
		assert_eq!(network.segments(link).len(), 3);
		assert_eq!(network.upper(link), 10);
		// From 0: -2..0 has slope 1, -5..-2 slope -2; 0..4 slope 1, 4..10 slope 3.
		assert_eq!(network.cost(link, 0), 0);
		assert_eq!(network.cost(link, 4), 4);
		assert_eq!(network.cost(link, 10), 4 + 18);
		assert_eq!(network.cost(link, -2), -2);
		assert_eq!(network.cost(link, -5), -2 + 6);
	}

	#[test]
	#[should_panic(expected = "convex")]
	fn a_concave_cost_is_refused() {
		let mut network = ConvexNetwork::with_capacity(2, 1, 2);
		network.push_link(0, 1, 0, segments(&[(3, 2), (2, 1)]));
	}

	#[test]
	fn arcs_are_single_segment_links() {
		let arcs = [Arc { source: 0, target: 1, capacity: 7, cost: -3 }];
		let network = ConvexNetwork::from_arcs(2, &arcs);
		assert_eq!(network.upper(0), 7);
		assert_eq!(network.cost(0, 7), -21);
	}
}
