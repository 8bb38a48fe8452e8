//! The `live` and `interfaces` commands and `replay --tui`: arguments and wiring only; the
//! work is in `leakscope::live` and `leakscope::ui`.

use super::{FlowArgs, KnowledgeArgs, ReplayArgs};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use leakscope::live::{
    self, CaptureOptions, DEFAULT_SNAPLEN, LiveOptions, Publisher, Records, Snapshot, SourceKind,
    StopHandle, device,
};
use leakscope::report::ndjson::NdjsonSink;
use leakscope::report::sanitize::for_terminal;
use leakscope::report::{self, Format, Summary};
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Args)]
pub struct LiveArgs {
    /// Interface to capture on, or `any` (default: the first up, non-loopback interface
    /// with addresses; see `leakscope interfaces`).
    #[arg(long, short = 'i', value_name = "IFACE")]
    interface: Option<String>,
    /// Capture filter in BPF syntax, e.g. "udp or tcp port 443".
    #[arg(long, value_name = "BPF")]
    filter: Option<String>,
    /// Bytes kept of each frame.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SNAPLEN)]
    snaplen: u32,
    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    no_promisc: bool,
    /// Also write the analysed frames to this pcapng file.
    #[arg(long, value_name = "FILE.pcapng")]
    write: Option<PathBuf>,
    /// Output records instead of the terminal UI (the UI is the default on a terminal;
    /// NDJSON otherwise). NDJSON is flushed per record.
    #[arg(long, short = 'f', value_enum)]
    format: Option<Format>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Started as root, become this user once the interface is open.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    #[command(flatten)]
    flows: FlowArgs,
    #[command(flatten)]
    knowledge: KnowledgeArgs,
}

/// `leakscope interfaces`.
pub fn interfaces() -> Result<ExitCode> {
    let list = device::list().map_err(|e| anyhow!("cannot list interfaces: {e}"))?;
    print!("{}", device::table(&list));
    Ok(ExitCode::SUCCESS)
}

fn print_summary_line(s: &Summary) {
    let drops = s.live.as_ref().map_or(String::new(), |l| {
        format!(
            ", dropped: kernel {}, interface {}, leakscope {}",
            l.kernel_dropped, l.interface_dropped, l.leakscope_dropped
        )
    });
    eprintln!(
        "leakscope: {} packets, {} flows, {} sessions{drops}",
        s.packets.frames, s.flows.reported, s.analysis.sessions_reported
    );
}

/// `leakscope live`.
pub fn live(args: LiveArgs) -> Result<ExitCode> {
    let interface = match args.interface {
        Some(i) => i,
        None => device::default_name(&device::list().unwrap_or_default()),
    };
    let config = args.knowledge.analyzer_config(args.flows.config())?;
    let duration = match args.duration {
        Some(d) if d.is_finite() && d > 0.0 => Some(Duration::from_secs_f64(d)),
        Some(d) => bail!("--duration must be a positive number of seconds, not {d}"),
        None => None,
    };
    let opts = LiveOptions {
        capture: CaptureOptions {
            interface: interface.clone(),
            filter: args.filter,
            snaplen: args.snaplen,
            promisc: !args.no_promisc,
        },
        user: args.user,
        write: args.write,
        duration,
    };
    let stdout = io::stdout();
    let tui = args.format.is_none() && stdout.is_terminal();
    if opts.user.is_some() && !live::privs::is_root() {
        eprintln!("leakscope: --user is ignored: not running as root, nothing to drop");
    }
    let running = live::start(&opts)?;
    let id = running.identity();
    if !tui {
        eprintln!(
            "leakscope: capturing on {} as uid {} (Ctrl-C stops)",
            for_terminal(&interface),
            id.euid
        );
        let sink: Box<dyn report::Sink> = match args.format.unwrap_or(Format::Ndjson) {
            Format::Ndjson => Box::new(NdjsonSink::new(Box::new(stdout.lock())).flushing()),
            other => report::sink(other, Box::new(stdout.lock())),
        };
        let mut out = Records(sink);
        return match running.analyse(config, &mut out) {
            Ok(s) => {
                print_summary_line(&s);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
            Err(e) => Err(e.into()),
        };
    }
    let (tx, rx) = watch::channel(Arc::new(Snapshot::empty(&interface, SourceKind::Live)));
    let stop = running.stop_handle();
    let analysis = std::thread::Builder::new()
        .name("leakscope-analysis".into())
        .spawn(move || {
            let mut out = Publisher::new(tx, &interface, SourceKind::Live);
            running.analyse(config, &mut out)
        })?;
    let ui = leakscope::ui::run(rx, &stop);
    stop.request("quit");
    let summary = analysis
        .join()
        .map_err(|_| anyhow!("the analysis thread panicked"))?;
    ui.context("terminal UI")?;
    print_summary_line(&summary?);
    Ok(ExitCode::SUCCESS)
}

/// `leakscope replay --tui`.
pub fn replay_tui(args: ReplayArgs) -> Result<ExitCode> {
    if !io::stdout().is_terminal() {
        bail!("--tui needs a terminal; use --format for files and pipes");
    }
    let speed = match args.speed {
        Some(s) if s.is_finite() && s > 0.0 => Some(s),
        Some(s) => bail!("--speed must be a positive factor, not {s}"),
        None => None,
    };
    let config = args.knowledge.analyzer_config(args.flows.config())?;
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let source = names.join(", ");
    let kind = SourceKind::Replay {
        progress: Some(0.0),
        speed,
    };
    let (tx, rx) = watch::channel(Arc::new(Snapshot::empty(&source, kind.clone())));
    let stop = StopHandle::new();
    // SIGTERM (and SIGINT from another terminal) must also restore the terminal.
    live::watch_signals(stop.clone(), None)?;
    let feed = {
        let stop = stop.clone();
        let files = args.files.clone();
        std::thread::Builder::new()
            .name("leakscope-replay".into())
            .spawn(move || {
                let mut out = Publisher::new(tx, &source, kind);
                live::replay_feed::replay_feed(&files, config, speed, &mut out, &stop)
            })?
    };
    let ui = leakscope::ui::run(rx, &stop);
    stop.request("quit");
    let summary = feed
        .join()
        .map_err(|_| anyhow!("the replay thread panicked"))?;
    ui.context("terminal UI")?;
    let summary = summary?;
    for input in &summary.inputs {
        if let Some(e) = &input.error {
            eprintln!("leakscope: {}", for_terminal(e));
        }
    }
    Ok(if summary.inputs.iter().all(|i| i.format.is_none()) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
