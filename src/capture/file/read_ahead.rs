//! Reading a capture on its own thread: the kernel's copy of the file (and any gzip
//! decompression) runs beside the analysis instead of inside it, when the machine has a
//! core for it or the capture is compressed ([`super::FileSource::read_ahead_beside`]).
//!
//! The reader thread fills fixed-size chunks and sends them in order; the consumer
//! ([`super::stream::StreamBuf`]) copies only the unconsumed tail of its current chunk (a
//! record cut by the chunk's end) into the next chunk's headroom, so the bytes are copied
//! once, by the kernel. Used chunks go back to the reader thread, so a long replay
//! allocates a handful of chunks in all.

use super::stream::read_into;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};

/// Bytes per chunk read by the thread.
pub(super) const CHUNK: usize = 512 * 1024;
/// Room before a chunk's data for the tail of the previous chunk; a longer tail (a record
/// over 64 KiB cut by a chunk's end) is joined by a copy instead.
pub(super) const HEADROOM: usize = 64 * 1024;
/// Chunks read ahead and waiting: with the one being read and the one being parsed, the
/// read-ahead holds at most (QUEUE + 2) × (CHUNK + HEADROOM) bytes.
const QUEUE: usize = 2;

/// A chunk of the stream: `buf[headroom..end]` are the bytes read, `buf` is always fully
/// initialised.
pub(super) struct Chunk {
    pub buf: Vec<u8>,
    pub end: usize,
}

/// The consumer's end of a reader thread.
pub(super) struct ReadAhead {
    chunks: Receiver<io::Result<Chunk>>,
    spare: SyncSender<Vec<u8>>,
    chunk: usize,
    headroom: usize,
}

impl ReadAhead {
    /// Starts a thread reading `reader` in chunks of `chunk` bytes after `headroom` bytes of
    /// room. Gives the reader back when no thread can be started.
    pub fn spawn(
        reader: Box<dyn Read + Send>,
        chunk: usize,
        headroom: usize,
    ) -> Result<ReadAhead, Box<dyn Read + Send>> {
        let chunk = chunk.max(1);
        let (handoff_tx, handoff_rx) = sync_channel::<Box<dyn Read + Send>>(1);
        let (chunks_tx, chunks_rx) = sync_channel(QUEUE);
        let (spare_tx, spare_rx) = sync_channel(QUEUE + 2);
        // The reader is handed over only once the thread runs, so a failed spawn loses
        // nothing.
        let started = std::thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || {
                if let Ok(reader) = handoff_rx.recv() {
                    read_chunks(reader, chunk, headroom, &chunks_tx, &spare_rx);
                }
            });
        if started.is_err() {
            return Err(reader);
        }
        if let Err(back) = handoff_tx.send(reader) {
            return Err(back.0);
        }
        Ok(ReadAhead {
            chunks: chunks_rx,
            spare: spare_tx,
            chunk,
            headroom,
        })
    }

    pub fn headroom(&self) -> usize {
        self.headroom
    }

    /// The next chunk in stream order; `None` at the end of the stream.
    pub fn next(&self) -> Option<io::Result<Chunk>> {
        self.chunks.recv().ok()
    }

    /// Gives a used buffer back for reuse (buffers of another size are dropped).
    pub fn recycle(&self, buf: Vec<u8>) {
        if buf.len() == self.headroom + self.chunk {
            let _ = self.spare.try_send(buf);
        }
    }
}

/// The thread: fill chunks until the end of the stream, an error, or a consumer gone.
fn read_chunks(
    mut reader: Box<dyn Read + Send>,
    chunk: usize,
    headroom: usize,
    chunks: &SyncSender<io::Result<Chunk>>,
    spare: &Receiver<Vec<u8>>,
) {
    loop {
        let buf = match spare.try_recv() {
            Ok(buf) => buf,
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => vec![0; headroom + chunk],
        };
        let (filled, outcome) = fill(&mut *reader, buf, headroom);
        if filled.end > headroom && chunks.send(Ok(filled)).is_err() {
            return;
        }
        match outcome {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = chunks.send(Err(e));
                return;
            }
        }
    }
}

/// Reads into `buf[headroom..]` until it is full; `Ok(false)` at the end of the stream.
fn fill(reader: &mut dyn Read, mut buf: Vec<u8>, headroom: usize) -> (Chunk, io::Result<bool>) {
    let mut end = headroom;
    let outcome = loop {
        let Some(free) = buf.get_mut(end..).filter(|f| !f.is_empty()) else {
            break Ok(true);
        };
        match read_into(reader, free) {
            Ok(0) => break Ok(false),
            Ok(k) => end += k,
            Err(e) => break Err(e),
        }
    };
    (Chunk { buf, end }, outcome)
}
