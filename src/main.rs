//! The `leakscope` command: parses arguments and hands over to the library.

#![forbid(unsafe_code)]

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use leakscope::analyze::AnalyzerConfig;
use leakscope::engine::EngineConfig;
use leakscope::enrich::geo::{GeoDb, TransferRules};
use leakscope::flow::FlowConfig;
use leakscope::model::Timestamp;
use leakscope::policy::{Policy, PolicySink};
use leakscope::report::{self, Format};
use leakscope::signature::SignatureSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod cli_live;

/// mimalloc: flows are born and reported by the tens of thousands per second, each with a few
/// small records; glibc malloc spent ~14 % of a replay on them, mimalloc about half that.
/// Its v2 line (the `v2` feature), not v3: v3 returned freed pages to the kernel and
/// faulted them back in, zeroed, all through a replay (`clear_page_erms`, 6–7 % of the
/// samples), and held 62 MB for the corpus mix where v2 holds 45 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Capture from a network interface (terminal UI on a terminal, NDJSON otherwise).
    Live(cli_live::LiveArgs),
    /// List the interfaces live capture can use.
    Interfaces,
}

#[derive(Args)]
struct ReplayArgs {
    /// Capture files, read in order as one capture.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format (default: text on a terminal, NDJSON otherwise).
    #[arg(long, short = 'f', value_enum)]
    format: Option<Format>,
    /// Policy file (TOML): rule breaches become findings; exit status 1 when there are any.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Show the analysis in the terminal UI while the files are read.
    #[arg(long, conflicts_with = "format")]
    tui: bool,
    /// With --tui: replay at this multiple of the recorded speed (1 = as recorded).
    #[arg(long, requires = "tui", value_name = "FACTOR")]
    speed: Option<f64>,
    /// Busy threads: the analysis on one, the flow table split over the other N - 1
    /// (plus a light reader); 0 = one per CPU. Same records in the same order; each flow
    /// table thread keeps at most max-flows / (N - 1) flows.
    #[arg(long, short = 'j', default_value_t = 1, value_name = "N", conflicts_with = "tui",
          value_parser = clap::value_parser!(u16).range(0..=64))]
    threads: u16,
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
    /// Country database (GeoLite2-Country/City or DB-IP mmdb) instead of the built-in one.
    #[arg(long, value_name = "MMDB")]
    geoip: Option<PathBuf>,
    /// ASN database (GeoLite2-ASN or DB-IP ASN mmdb) instead of the built-in one.
    #[arg(long, value_name = "MMDB")]
    asn: Option<PathBuf>,
    /// Country lists for the third-country rule (TOML: eea, adequacy, dpf, high_risk).
    #[arg(long, value_name = "FILE")]
    transfer_rules: Option<PathBuf>,
}

impl KnowledgeArgs {
    /// Signatures, GeoIP/ASN databases and transfer rules, loaded before any packet is read.
    fn analyzer_config(&self, engine: EngineConfig) -> Result<AnalyzerConfig> {
        Ok(AnalyzerConfig {
            engine,
            signatures: self.signatures()?,
            geo: Some(Arc::new(GeoDb::open(
                self.geoip.as_deref(),
                self.asn.as_deref(),
            )?)),
            transfer: match &self.transfer_rules {
                Some(path) => TransferRules::load(path).map_err(anyhow::Error::msg)?,
                None => TransferRules::default(),
            },
        })
    }

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
    no_huge_pages();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leakscope: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Transparent huge pages off for this process. mimalloc marks its whole arena for them,
/// so the first touch of each 2 MiB region is zeroed (and, in a VM, backed by the host) at
/// once, though the heap seldom fills it: peak RSS without them is 37 instead of 45 MB on the
/// benchmark capture, 163 instead of 174 MB with a million open flows, with the same wall
/// and CPU time (16 interleaved rounds). Best effort: a kernel without the option keeps them.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Replay(args) if args.tui => cli_live::replay_tui(args),
        Command::Replay(args) => replay(args),
        Command::Live(args) => cli_live::live(args),
        Command::Interfaces => cli_live::interfaces(),
    }
}

fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let format = args.format.unwrap_or(if stdout.is_terminal() {
        Format::Text
    } else {
        Format::Ndjson
    });
    let config = args.knowledge.analyzer_config(args.flows.config())?;
    // A bad policy file stops the run before any capture is read.
    let policy = match &args.policy {
        Some(path) => Some(Policy::load(path, &config.signatures)?),
        None => None,
    };
    let mut sink = report::sink(format, Box::new(stdout.lock()));
    let mut on_error =
        |line: &str| eprintln!("leakscope: {}", report::sanitize::for_terminal(line));
    let files = &args.files;
    let threads = usize::from(args.threads);
    let (result, violations) = match policy {
        Some(policy) => {
            let mut checked = PolicySink::new(sink.as_mut(), policy);
            let r = leakscope::replay::replay_threads(
                files,
                config,
                threads,
                &mut checked,
                &mut on_error,
            );
            (r, checked.violations())
        }
        None => (
            leakscope::replay::replay_threads(files, config, threads, sink.as_mut(), &mut on_error),
            0,
        ),
    };
    match result {
        Ok(outcome) if !outcome.anything_read => Ok(ExitCode::from(2)),
        Ok(_) if violations > 0 => Ok(ExitCode::from(1)),
        Ok(_) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}
