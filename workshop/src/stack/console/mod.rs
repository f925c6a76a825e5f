//! The console's side of the stack: the control plane (the JSON API on the console port), its
//! routes, and the console's files.

pub mod assets;
pub mod control;
pub mod guard;
pub mod routes;
