//! What only the `idbroker` command uses, not the server: the client of `POST /admin/revoke`
//! (`idbroker admin revoke`) and `idbroker policy lint` / `simulate`. The command itself
//! (argument parsing, `serve`, `dev`) is `src/main.rs`.

pub mod admin_client;
pub mod policy_tool;
