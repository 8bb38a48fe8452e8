//! The `leakscope` command: parses arguments and hands over to the library.

#![forbid(unsafe_code)]

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use leakscope::analyze::AnalyzerConfig;
use leakscope::engine::EngineConfig;
use leakscope::flow::FlowConfig;
use leakscope::model::Timestamp;
use leakscope::report::{self, Format};
use leakscope::signature::SignatureSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Tells whether confidential calls are really confidential: end-to-end encryption,
/// third-party telemetry and third-country transfers, from packets.
#[derive(Parser)]
#[command(name = "leakscope", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse capture files (pcap, pcapng, gzip-compressed; `-` for stdin).
    Replay(ReplayArgs),
}

#[derive(Args)]
struct ReplayArgs {
    /// Capture files, read in order as one capture.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format (default: text on a terminal, NDJSON otherwise).
    #[arg(long, short = 'f', value_enum)]
    format: Option<Format>,
    #[command(flatten)]
    flows: FlowArgs,
    #[command(flatten)]
    knowledge: KnowledgeArgs,
}

#[derive(Args)]
struct KnowledgeArgs {
    /// Extra signature directory (app and telemetry TOML files, tracker lists); repeatable.
    #[arg(long = "signatures", value_name = "DIR")]
    signatures: Vec<PathBuf>,
}

impl KnowledgeArgs {
    fn signatures(&self) -> Result<SignatureSet> {
        let mut set = SignatureSet::builtin()?;
        for dir in &self.signatures {
            set.load_dir(dir)?;
        }
        Ok(set)
    }
}

#[derive(Args)]
struct FlowArgs {
    /// Hard cap on live flows; the least recently seen flow is evicted beyond it.
    #[arg(long, default_value_t = 1_000_000)]
    max_flows: usize,
    /// Idle timeout of TCP flows, in seconds.
    #[arg(long, default_value_t = 300)]
    tcp_timeout: u64,
    /// Idle timeout of UDP flows, in seconds.
    #[arg(long, default_value_t = 120)]
    udp_timeout: u64,
    /// Idle timeout of other IP flows (ICMP, …), in seconds.
    #[arg(long, default_value_t = 60)]
    other_timeout: u64,
}

impl FlowArgs {
    fn config(&self) -> EngineConfig {
        let s = Timestamp::NANOS_PER_SEC;
        EngineConfig {
            flow: FlowConfig {
                tcp_timeout_ns: self.tcp_timeout.saturating_mul(s),
                udp_timeout_ns: self.udp_timeout.saturating_mul(s),
                other_timeout_ns: self.other_timeout.saturating_mul(s),
                max_flows: self.max_flows,
                ..FlowConfig::default()
            },
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leakscope: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Replay(args) => replay(args),
    }
}

fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let format = args.format.unwrap_or(if stdout.is_terminal() {
        Format::Text
    } else {
        Format::Ndjson
    });
    let mut sink = report::sink(format, Box::new(stdout.lock()));
    let mut on_error =
        |line: &str| eprintln!("leakscope: {}", report::sanitize::for_terminal(line));
    let config = AnalyzerConfig {
        engine: args.flows.config(),
        signatures: args.knowledge.signatures()?,
    };
    match leakscope::replay::replay(&args.files, config, sink.as_mut(), &mut on_error) {
        Ok(outcome) if !outcome.anything_read => Ok(ExitCode::from(2)),
        Ok(_) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}
