//! What only the `idbroker` command uses, not the server: the client of `POST /admin/revoke`
//! (`idbroker admin revoke`), `idbroker login` / `idbroker credentials` (`login`: sign-in from the
//! command line and the AWS CLI's `credential_process`), `idbroker policy lint` / `simulate`,
//! and the `idbroker dev` helpers. Argument parsing and dispatch (and `serve`) are `src/main.rs`.

pub mod admin_client;
pub mod dev;
pub mod directory_tool;
pub mod http_client;
pub mod login;
pub mod policy_tool;
