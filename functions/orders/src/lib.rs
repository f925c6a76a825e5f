//! The order system: domain, validation, ports and handlers. No AWS SDK and no I/O of its own:
//! handlers are plain async functions over the traits in [`ports`].

pub mod capacity;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod merge;
pub mod pagination;
pub mod ports;
pub mod settings;
pub mod validation;
