//! Counts the frames of capture files and reports read throughput.
//!
//! usage: cargo run --release --example capture_count -- FILE...

use leakscope::capture::FileSource;
use std::path::Path;
use std::time::Instant;

fn main() {
    let mut all_frames = 0u64;
    let mut all_bytes = 0u64;
    let start = Instant::now();
    for arg in std::env::args().skip(1) {
        let mut src = match FileSource::open(Path::new(&arg)) {
            Ok(s) => s,
            Err(e) => {
                println!("{arg}\t0\t{e}");
                continue;
            }
        };
        let mut frames = 0u64;
        let mut error = String::new();
        while let Some(f) = src.next_frame() {
            match f {
                Ok(_) => frames += 1,
                Err(e) => error = e.to_string(),
            }
        }
        all_frames += frames;
        all_bytes += src.bytes_read();
        println!("{arg}\t{frames}\t{error}");
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{all_frames} frames, {:.1} MB in {secs:.3} s: {:.0} MB/s, {:.2} M packets/s",
        all_bytes as f64 / 1e6,
        all_bytes as f64 / 1e6 / secs,
        all_frames as f64 / 1e6 / secs
    );
}
