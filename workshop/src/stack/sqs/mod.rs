//! SQS as the processor sees it: the event source mapping that polls a queue (the local SQLite
//! queue, or SQS with `--backend aws`) and invokes the processor with batches.

pub mod event_source;
