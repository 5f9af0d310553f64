//! Paychan's off-chain rebalancer: it turns a round's open requests into plans the
//! payment-channels pallet accepts.
//!
//! The Revive linear program (move as much as possible toward each channel's target split,
//! within every participant's declared bounds, with every participant's net change zero) is a
//! min-cost circulation ([`circulation`]). [`primal_dual`] solves it exactly in integers ([`simplex`], a network
//! simplex, is an independent second solver the tests compare it with); [`certificate`] checks the
//! optimality proof (node potentials) in linear time; [`plan`] turns the circulation into cycles
//! and packs them into plans of at most the pallet's `MaxPlanEdges` edges; [`lp`] is the general
//! LP baseline; [`workload`] loads Lightning graphs and generates benchmark rounds.
//!
//! See docs/rebalancing.md for the model and the choice of algorithm.

pub mod certificate;
pub mod circulation;
pub mod convex;
pub mod lp;
pub mod model;
pub mod plan;
pub mod primal_dual;
pub mod routing;
pub mod simplex;
pub mod workload;

pub use model::{Channel, Instance, Options};
pub use plan::{solve, Outcome, Solution, Stats};
