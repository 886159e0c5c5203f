//! A redis-server of the test's own (loopback, no persistence), for the tests that take Redis
//! down and bring it back. Stopped (killed and reaped) when dropped, so also when the test
//! panics.
//!
//! redis-server cannot bind port 0 and say which port it got, so its port is a [`PortLease`]
//! (outside the kernel's ephemeral range, leased against the other tests; see port.rs), kept for
//! the server's whole life so that [`RedisServer::restart`] gets the same port back. A bind that
//! fails all the same (a program outside the tests on that port) is retried on another lease;
//! a server is only handed out once `INFO server` on its port answers with the child's own pid.
//! Not a unix socket: the outage tests are about the TCP connections production uses.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use idbroker::clock::Stopwatch;

use super::port::PortLease;

/// How long a redis-server may take to accept connections (a loaded CI machine).
const START_PATIENCE: Duration = Duration::from_secs(20);

#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    lease: PortLease,
    log: PathBuf,
}

impl RedisServer {
    /// A fresh, empty redis-server, accepting connections.
    pub fn start() -> RedisServer {
        let mut why = Vec::new();
        for _ in 0..5 {
            let lease = PortLease::new();
            let log = log_file(lease.port());
            match spawn(lease.port(), &log) {
                Ok(child) => {
                    return RedisServer {
                        child: Some(child),
                        lease,
                        log,
                    }
                }
                Err(e) => why.push(e),
            }
        }
        panic!("no redis-server would start: {why:#?}");
    }

    pub fn port(&self) -> u16 {
        self.lease.port()
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port())
    }

    /// SIGKILL: an outage, nothing flushed, connections dropped. [`RedisServer::wait`] reaps it.
    pub fn kill(&mut self) -> std::io::Result<()> {
        match &mut self.child {
            Some(c) => c.kill(),
            None => Ok(()),
        }
    }

    /// Wait for the killed server to be gone.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        match self.child.take() {
            Some(mut c) => c.wait(),
            None => Err(std::io::Error::other("no redis-server running")),
        }
    }

    /// The recovery: a new, empty redis-server on the same port (killing the old one first if
    /// it still runs).
    pub fn restart(&mut self) {
        self.stop();
        // The port stayed leased; only a program outside the tests could have taken it since.
        let child = spawn(self.port(), &self.log)
            .unwrap_or_else(|e| panic!("redis-server did not come back: {e}"));
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn log_file(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!(
        "idbroker-test-redis-{}-{port}.log",
        std::process::id()
    ))
}

/// Start redis-server on `port` and wait until it is the one answering there.
fn spawn(port: u16, log: &std::path::Path) -> Result<Child, String> {
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/test.sh installs it)");
    let started = Stopwatch::start();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // Typically "Could not create server TCP listening socket ...: bind".
            return Err(format!(
                "redis-server on {port} exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default().trim()
            ));
        }
        if let Some(pid) = answering_pid(port) {
            if pid == child.id() {
                return Ok(child);
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "port {port}: another redis-server (pid {pid}) answers"
            ));
        }
        if started.elapsed() > START_PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("redis-server did not accept connections on {port}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `process_id` that `INFO server` on `port` reports, if a Redis answers there.
fn answering_pid(port: u16) -> Option<u32> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").ok()?;
    let mut r = BufReader::new(s);
    let mut head = String::new();
    r.read_line(&mut head).ok()?;
    let len: usize = head.trim().strip_prefix('$')?.parse().ok()?;
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix("process_id:")?.trim().parse().ok())
}
