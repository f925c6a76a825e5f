//! `workshop dlq list|redrive`.

use super::{DataArgs, Error};
use clap::Subcommand;
use workshop::data_dir::DataDir;
use workshop::stack::backend::Backend;

#[derive(Subcommand)]
pub enum DlqCommand {
    /// List the messages in the DLQ without changing them.
    List {
        #[command(flatten)]
        data: DataArgs,
        /// Which DLQ: the local stack's (local) or SQS's (aws; see `up --backend`).
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        backend: Backend,
        /// List at most this many messages.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Move every DLQ message back to the orders queue.
    Redrive {
        #[command(flatten)]
        data: DataArgs,
        /// Which DLQ: the local stack's (local) or SQS's (aws; see `up --backend`).
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        backend: Backend,
    },
}

/// The local DLQ is in a stack's data dir: refuse one where no stack has run. With
/// `--backend aws` the dir only keeps the redrive's spans.
fn stack_dir(backend: Backend, data: DataArgs) -> Result<DataDir, Error> {
    Ok(match backend {
        Backend::Local => DataDir::existing(data.data_dir)?,
        Backend::Aws => DataDir::new(data.data_dir)?,
    })
}

pub async fn dlq(command: DlqCommand) -> Result<String, Error> {
    let out = match command {
        DlqCommand::List {
            data,
            limit,
            json,
            backend,
        } => workshop::dlq::list(backend, &stack_dir(backend, data)?, limit, json).await,
        DlqCommand::Redrive { data, backend } => {
            let dir = stack_dir(backend, data)?;
            // The redrive is a span in each message's trace: written to the stack's span
            // store (and collector) from this process too.
            let (tracer, _) = workshop::stack::xray::tracer(&dir)?;
            tracer.install_alone()?;
            let out = workshop::dlq::redrive(backend, &dir).await;
            tracer.flush().await;
            out
        }
    };
    out.map_err(|e| e as Error)
}
