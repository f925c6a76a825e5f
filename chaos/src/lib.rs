//! Fault injection for the order system (chaos/README.md). Injected inside our own code, so
//! it works on `provided.al2023`, where wrapper layers do not run.
//!
//! - [`flags`]: the deploy-time `CHAOS_*` environment flags and their table.
//! - [`faults`]: the fault catalogue and its caps.
//! - [`live`]: the live override with its expiry, and where it is read from.
//! - [`injector`]: [`Chaos`], which decides, logs and counts each injection.
//! - [`wrap`]: the injection points around the store, the queue, the HTTP handlers and the
//!   processor ([`ChaoticProcessor`]); `orders` knows none of them.
//! - [`journal`]: the experiment journal.
//! - [`time`]: times as the journal, the override and the CLI write them (ms, UTC).
//! - `aws` (feature `aws`): `ChaosParameter`, the live override in SSM Parameter Store.

#[cfg(feature = "aws")]
pub mod aws;
pub mod faults;
pub mod flags;
pub mod injector;
pub mod journal;
pub mod live;
pub mod time;
pub mod wrap;

pub use faults::{Dependency, FAULTS, FailureMode, FaultSpec, Faults};
pub use flags::Settings;
pub use injector::{Chaos, InjectedFault};
pub use live::{Live, LiveSource, MemoryLive, Override};
pub use wrap::{ChaoticProcessor, ChaoticProcessorStore, ChaoticQueue, ChaoticStore};
