//! A loopback port for a child process that cannot bind port 0 and report the port it got
//! (redis-server), or whose port must be known before it starts (tests/console_e2e.rs writes
//! idbroker's URL into the configuration of the IdP, the OP and idbroker itself). Everything that
//! can bind port 0 does so instead (common::start, the `idbroker serve` processes of
//! tests/server_process.rs, the OP, the IdPs).
//!
//! Why this is not the race that "bind port 0, read the port, close, hand it on" is: that port
//! is one of the kernel's ephemeral ports, so any other `bind(0)` or outgoing connection (another
//! test's server, a Redis client) may be given it before the child binds it. A [`PortLease`] is
//! - below the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), so the
//!   kernel never hands it out by itself;
//! - held, for as long as the lease lives, by a UDP socket bound to the same number: another
//!   lease (in this process or another: nextest runs every test in a process of its own) cannot
//!   get it, and the child still binds the TCP port freely.
//!
//! What is left, a program outside the tests binding that very port, the caller detects (the
//! child fails to bind, or a check finds that what answers is not the child) and, where it can,
//! retries on another lease (common::RedisServer does).
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::hash::{BuildHasher, Hasher};
use std::net::{TcpListener, UdpSocket};

/// A loopback TCP port reserved for this test until dropped (see the module's documentation).
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    _hold: UdpSocket,
}

impl PortLease {
    /// A port nothing listens on now, outside the ephemeral range, leased to the caller.
    pub fn new() -> PortLease {
        let (lo, hi) = range();
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        seed.write_u32(std::process::id());
        for _ in 0..1000 {
            seed.write_u8(0);
            let span = u64::from(hi - lo);
            let port = lo + u16::try_from(seed.finish() % span).unwrap();
            let Ok(hold) = UdpSocket::bind(("127.0.0.1", port)) else {
                continue; // another lease
            };
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue; // something outside the tests listens there
            }
            return PortLease { port, _hold: hold };
        }
        panic!("no free loopback port in {lo}..{hi}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Where leases are taken: the larger of the two spans outside the ephemeral range, above 10000
/// (so never a well-known port: Redis's 6379, scripts/test.sh's cluster on 7101-7103, the
/// metrics listener's default 9464). Should the ephemeral range leave no room (under 1000
/// ports either side), 20000-30000: the UDP lease still keeps tests apart.
fn range() -> (u16, u16) {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    let below = (low.saturating_sub(10_000).max(10_000), low);
    let above = (high.saturating_add(1).max(10_000), u16::MAX);
    let size = |(a, b): (u16, u16)| b.saturating_sub(a);
    let best = if size(below) >= size(above) {
        below
    } else {
        above
    };
    if size(best) >= 1000 {
        best
    } else {
        (20_000, 30_000)
    }
}
