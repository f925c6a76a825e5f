//! The benchmark harness (see README.md): a Lambda Runtime API emulator that runs the real
//! release bootstraps, the runs that measure them and the local stack, and the report.

pub mod error;
pub mod events;
pub mod first_build;
pub mod fixture;
pub mod function;
pub mod http_load;
pub mod otlp_sink;
pub mod pipeline;
pub mod report;
pub mod runtime_api;
pub mod stats;
pub mod suite;

/// The in-memory ports the warm handler benches run on (crate `orders-memory`).
pub use orders_memory as memory;
