//! Lambda: instance pools with cold starts, concurrency limits, throttles and timeouts
//! (`pool`), and the six functions' pools, each built by `order-functions` (`functions`).

pub mod functions;
pub mod pool;
