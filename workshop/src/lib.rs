//! The `workshop` CLI's library: the local stack and its admin commands.

pub mod aws;
pub mod chaos_cmd;
pub mod data_dir;
pub mod dlq;
pub mod load;
pub mod report;
pub mod stack;
pub mod traces;
