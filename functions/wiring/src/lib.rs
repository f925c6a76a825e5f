//! The one wiring of each function: [`build`] makes it from its ports, [`invocation`] runs one
//! call of it inside its log span and EMF scope, [`lambda`] serves it on the Lambda runtime.
//! The Lambda binaries, the local stack and the benches all go through here.

pub mod build;
pub mod http;
pub mod invocation;
pub mod lambda;

pub use build::{BuildError, PageKeySource, Ports};
pub use http::HttpFunction;
pub use invocation::{Emf, Facts, Scope};
