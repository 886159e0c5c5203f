//! `idbroker login` and `idbroker credentials`: the command-line side of signing in through an
//! identity provider (issue 19). A browser sign-in (RFC 8252 loopback redirect with PKCE S256)
//! or a device sign-in (RFC 8628) gets a short-lived ticket from the server's
//! `/console/cli/token`; the ticket buys one role's temporary credentials at
//! `/console/cli/credentials`; they go into the AWS shared credentials file (or `export` lines)
//! and into a per-profile cache that `idbroker credentials` serves to the AWS CLI as
//! `credential_process`. docs/CLI.md describes the commands, files and modes.
//!
//! Files: `command.rs` the two commands; `flow.rs` the two sign-ins; `client.rs` the HTTP calls;
//! `protocol.rs` the answers and their checks; `loopback.rs` the redirect listener; `pkce.rs`
//! state, verifier, challenge; `browser.rs` starting a browser; `terminal.rs` where prompts go;
//! `picker.rs` the role; `profile.rs` the credentials-file editor; `cache.rs` the cache;
//! `settings.rs` what a sign-in was made with; `private_file.rs` `0600` files written
//! atomically; `error.rs` `LoginError`.

mod browser;
mod cache;
mod client;
mod command;
mod error;
mod flow;
mod loopback;
mod picker;
mod pkce;
mod private_file;
mod profile;
mod protocol;
mod settings;
mod terminal;

pub use cache::REFRESH_WINDOW;
pub use command::{credentials, login, CredentialsOptions, LoginOptions, SignInBy};
pub use error::LoginError;
// The two readers of outside bytes, for fuzz/fuzz_targets/cli_login.rs.
pub use loopback::{answer as loopback_answer, Callback};
pub use profile::edit as edit_credentials_file;
pub use settings::{Overrides, Settings};
