//! EventBridge: the schedule that invokes the sweeper.

pub mod schedule;
