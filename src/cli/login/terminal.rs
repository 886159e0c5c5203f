//! The person at the terminal: whether standard input is one, and where to write to them.
//! `idbroker credentials` runs under the AWS CLI with standard output and error captured, so its
//! prompts go to `/dev/tty` when that can be opened.

use std::io::{IsTerminal, Write};

/// Standard input is a terminal (someone can answer, and a browser sign-in can be awaited).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// `/dev/tty` when it opens for writing, standard error otherwise.
pub fn tty_or_stderr() -> Box<dyn Write + Send> {
    match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        Ok(tty) => Box::new(tty),
        Err(_) => Box::new(std::io::stderr()),
    }
}
