//! Where log lines (and the audit events among them) go: standard output, written in batches by
//! the worker threads themselves.
//!
//! Each actix worker keeps the lines it formats in a thread-local buffer and writes the buffer to
//! stdout when it holds [`BATCH_BYTES`] or more, on a [`FLUSH_EVERY`] tick (so a quiet server's
//! lines still appear at once, for practical purposes), and when the thread ends (graceful
//! shutdown). Other threads (start-up, the main thread, blocking tasks) write each line through.
//!
//! Why not a logging thread fed by a channel (tracing-appender): every line then woke that thread,
//! and the wake-ups, context switches and channel traffic were ~25% of the server's CPU in a
//! web-identity load run. Batching per worker costs one `write(2)` per ~16 KiB instead.
//!
//! Nothing is dropped: a full pipe makes the worker wait in `write`, as a synchronous logger
//! would. What a crash can lose is the same class of thing as before, a bounded window: at most
//! [`FLUSH_EVERY`] or [`BATCH_BYTES`] of one worker's lines, which never left memory.
//! Lines from different workers interleave in batches, each line whole; every line carries its
//! timestamp and the call's request id.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// The log filter: `IDBROKER_LOG` (default `info`), and malformed HTTP from clients kept out of
/// it. actix's HTTP/1 dispatcher reports every request it cannot parse as an ERROR
/// (`stream error: request parse error: ...`): any client could write error lines at will.
/// Those are the client's fault, not the server's, so they are shown only when the filter asks
/// for `debug` or `trace`, or names `actix_http` itself.
pub fn filter_directives(user: Option<&str>) -> String {
    let user = user
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or("info");
    let lower = user.to_ascii_lowercase();
    if ["debug", "trace", "actix_http"]
        .iter()
        .any(|w| lower.contains(w))
    {
        user.to_owned()
    } else {
        format!("{user},actix_http::h1::dispatcher=off")
    }
}

/// A worker writes its buffered lines once they reach this size.
pub const BATCH_BYTES: usize = 16 * 1024;
/// ...and at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// The per-thread buffer. Unbatched threads never put anything in it.
struct LineBuffer {
    batched: bool,
    buf: Vec<u8>,
}

impl LineBuffer {
    fn flush_to_stdout(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        // A log line that cannot be written has nowhere else to go; stdout's errors are ignored,
        // as every logger does.
        let _ = io::stdout().lock().write_all(&self.buf);
        self.buf.clear();
    }
}

impl Drop for LineBuffer {
    // The thread is ending (a worker stopping at shutdown): what it holds goes out now.
    fn drop(&mut self) {
        self.flush_to_stdout();
    }
}

thread_local! {
    static LINES: RefCell<LineBuffer> = const {
        RefCell::new(LineBuffer { batched: false, buf: Vec::new() })
    };
}

/// Make the calling thread batch its lines. Call on a worker thread, together with spawning
/// [`flush_ticker`] on that thread's runtime.
pub fn batch_this_thread() {
    LINES.with(|l| {
        let mut l = l.borrow_mut();
        l.batched = true;
        l.buf.reserve(BATCH_BYTES * 2);
    });
}

/// Write out what the calling thread holds.
pub fn flush_this_thread() {
    LINES.with(|l| l.borrow_mut().flush_to_stdout());
}

/// Flushes the calling thread's lines every [`FLUSH_EVERY`]; spawn it on a worker's own
/// (single-threaded) runtime so it runs on that worker's thread.
pub async fn flush_ticker() {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush_this_thread();
    }
}

/// Whether [`write_line`] writes: the server turns it on ([`enable`]) when it sets up logging;
/// a library user (the tests that build the app in-process) gets no lines on its stdout.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turn on [`write_line`] (the audit events) for this process.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Write one whole line (ending in a newline) to the log stream, as tracing's events are.
pub fn write_line(line: &[u8]) {
    if ENABLED.load(Ordering::Relaxed) {
        let _ = LineWriter.write_all(line);
    }
}

/// The [`MakeWriter`] for the server's log subscriber.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchedStdout;

/// One event's writer (tracing-subscriber formats a whole line, then writes it in one call).
#[derive(Debug)]
pub struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let buffered = LINES.with(|l| {
            let Ok(mut l) = l.try_borrow_mut() else {
                return false;
            };
            if !l.batched {
                return false;
            }
            l.buf.extend_from_slice(bytes);
            if l.buf.len() >= BATCH_BYTES {
                l.flush_to_stdout();
            }
            true
        });
        if !buffered {
            io::stdout().lock().write_all(bytes)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStdout {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held() -> usize {
        LINES.with(|l| l.borrow().buf.len())
    }

    #[test]
    fn unbatched_threads_write_through() {
        std::thread::spawn(|| {
            LineWriter.write_all(b"").unwrap();
            LineWriter.write_all(b"").unwrap();
            assert_eq!(held(), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn batched_threads_hold_lines_until_the_batch_is_full() {
        std::thread::spawn(|| {
            batch_this_thread();
            // Lines are held: nothing is printed by this test (the last one is empty).
            let line = vec![b' '; 100];
            LineWriter.write_all(&line).unwrap();
            assert_eq!(held(), 100);
            flush_this_thread();
            assert_eq!(held(), 0);
            for _ in 0..(BATCH_BYTES / 100) {
                LineWriter.write_all(&line).unwrap();
            }
            assert!(held() < BATCH_BYTES, "a full batch is written out");
            flush_this_thread();
        })
        .join()
        .unwrap();
    }
}

#[cfg(test)]
mod filter_tests {
    use super::filter_directives;

    #[test]
    fn client_parse_errors_only_at_debug() {
        assert_eq!(
            filter_directives(None),
            "info,actix_http::h1::dispatcher=off"
        );
        assert_eq!(
            filter_directives(Some("warn,idbroker=info")),
            "warn,idbroker=info,actix_http::h1::dispatcher=off"
        );
        assert_eq!(filter_directives(Some("debug")), "debug");
        assert_eq!(
            filter_directives(Some("info,actix_http=error")),
            "info,actix_http=error"
        );
        assert!(tracing_subscriber::EnvFilter::try_new(filter_directives(None)).is_ok());
    }
}
