//! Wiring shared by the Lambda binaries.
