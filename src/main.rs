//! The `idbroker` command.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use idbroker::cli::dev;
use idbroker::cli::policy_tool::{self, Case};
use idbroker::clock::{Clock, SystemClock};
use idbroker::tls::{Reload, ReloadableCert};
use idbroker_policy::{Decision, PolicyKind, Severity};
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(
    name = "idbroker",
    version,
    about = "Federated identity broker: SAML and OIDC in, AWS-STS-compatible credentials out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Work with IAM policy documents.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run the STS server.
    Serve {
        /// The configuration file.
        #[arg(long, default_value = "config/idbroker.toml")]
        config: PathBuf,
        /// Listen address (overrides server.listen and IDBROKER_LISTEN). Port 0 lets the system
        /// pick a free port: the "idbroker serving" log line (info) names the address bound.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Development helpers (never for production).
    #[command(subcommand)]
    Dev(DevCommand),
    /// Call the admin API of a running server.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The directory's database ([directory] url of the configuration): import, export, diff,
    /// apply TOML files.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Sign in through your identity provider in a browser (or with a device code) and write a
    /// role's temporary credentials to a profile of the AWS shared credentials file (or print
    /// them as `export` lines). Exits 1 when the sign-in fails or is refused.
    Login(LoginArgs),
    /// Print a profile's credentials as the AWS CLI's `credential_process` JSON: the cached ones
    /// while they have more than 15 minutes left, else (with a terminal on standard input) after
    /// a new browser sign-in; without a terminal, exits 1 at once saying what to run.
    Credentials(CredentialsArgs),
    /// Validate a configuration file as `serve` would; exits 1 naming the file, key and problem.
    CheckConfig {
        /// The file (default config/idbroker.toml).
        #[arg(default_value = "config/idbroker.toml")]
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
struct LoginArgs {
    /// The idbroker server, e.g. https://idbroker.example.com (http is allowed).
    #[arg(long, value_name = "URL")]
    endpoint_url: String,
    /// The identity provider's name (default: the server's only one).
    #[arg(long, value_name = "NAME")]
    provider: Option<String>,
    /// The role to take (default: the only one the sign-in grants; with several, a numbered
    /// list on a terminal).
    #[arg(long, value_name = "ROLE_ARN")]
    role: Option<String>,
    /// The profile written (its name: 1-64 of A-Z a-z 0-9 _ . -).
    #[arg(long, value_name = "NAME", default_value = "default")]
    profile: String,
    /// The credentials' lifetime asked for, in seconds (the server and the role may cap it).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(900..=43200))]
    duration: Option<u32>,
    /// Print the sign-in URL instead of starting a browser.
    #[arg(long, conflicts_with = "device")]
    no_browser: bool,
    /// Sign in with a code on another device (RFC 8628) instead of a redirect to this machine.
    #[arg(long)]
    device: bool,
    /// Print `export AWS_...=` lines on standard output instead of writing the credentials file.
    #[arg(long)]
    env: bool,
    /// The longest wait for the sign-in, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Trust only the CA certificates in this PEM file for HTTPS (default: AWS_CA_BUNDLE, else
    /// the system's roots).
    #[arg(long, value_name = "FILE")]
    ca_bundle: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct CredentialsArgs {
    /// The profile (its cache file, written by `idbroker login` or by this command).
    #[arg(long, value_name = "NAME")]
    profile: String,
    /// The idbroker server (default: the one of the cached sign-in).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The identity provider's name (default: the cached sign-in's).
    #[arg(long, value_name = "NAME")]
    provider: Option<String>,
    /// The role (default: the cached sign-in's).
    #[arg(long, value_name = "ROLE_ARN")]
    role: Option<String>,
    /// The credentials' lifetime asked for, in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(900..=43200))]
    duration: Option<u32>,
    /// Trust only the CA certificates in this PEM file for HTTPS.
    #[arg(long, value_name = "FILE")]
    ca_bundle: Option<PathBuf>,
    /// The longest wait for a new sign-in, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

#[derive(Subcommand, Debug)]
enum DirectoryCommand {
    /// Put a TOML file's directory into the (empty) database.
    Import {
        /// The configuration naming the database and the sealing keys.
        #[arg(long, default_value = "config/idbroker.toml")]
        config: PathBuf,
        /// The TOML file (a configuration file or an export).
        file: PathBuf,
    },
    /// Print the database's directory as TOML (secrets sealed).
    Export {
        /// The configuration naming the database and the sealing keys.
        #[arg(long, default_value = "config/idbroker.toml")]
        config: PathBuf,
    },
    /// Show what applying a TOML file would change (exit 0: nothing, 2: changes).
    Diff {
        /// The configuration naming the database and the sealing keys.
        #[arg(long, default_value = "config/idbroker.toml")]
        config: PathBuf,
        /// The TOML file.
        file: PathBuf,
    },
    /// Make the database's directory the TOML file's: print the plan, then write it (refused,
    /// with nothing written, when the directory changed meanwhile).
    Apply {
        /// The configuration naming the database and the sealing keys.
        #[arg(long, default_value = "config/idbroker.toml")]
        config: PathBuf,
        /// The TOML file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum DevCommand {
    /// Print a web identity token of the DEMO OIDC provider (config/demo/idbroker.toml) for
    /// `sts assume-role-with-web-identity`. Signs with the development-only demo key and for the
    /// demo issuer only.
    WebIdentityToken {
        /// The subject (the demo role trusts `demo-*`).
        #[arg(long, default_value = "demo-user")]
        sub: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        lifetime: u64,
        /// The demo provider's private key.
        #[arg(long, default_value = "certs/demo/oidc-demo.key")]
        key: PathBuf,
    },
    /// Print a signed, base64 SAML response for the DEMO provider (DemoIdP of
    /// config/demo/idbroker.toml, key in certs/demo) naming USER and ROLE, valid five minutes.
    /// Refuses every other provider.
    SamlAssertion {
        /// The configuration with the demo provider.
        #[arg(long, default_value = "config/demo/idbroker.toml")]
        config: PathBuf,
        /// The role ARN to put in the Role attribute.
        #[arg(long)]
        role: String,
        /// The NameID and RoleSessionName.
        #[arg(long)]
        user: String,
        /// The demo IdP's private key.
        #[arg(long, default_value = "certs/demo/saml-idp.key")]
        key: PathBuf,
        /// The demo IdP's certificate.
        #[arg(long, default_value = "certs/demo/saml-idp.crt")]
        cert: PathBuf,
        /// How many responses to print, one per line, each with its own IDs (load tests:
        /// every response is single-use).
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Revoke sessions: one by its access key id, or those of a role, a principal or a source
    /// identity issued up to now. Signs with the credentials in AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; their policies must allow the
    /// idbroker:Revoke* action. Exit 0 revoked, 1 refused by the server, 2 bad arguments or no
    /// credentials, 3 server unreachable or failing.
    Revoke(RevokeArgs),
    /// List who holds credentials now: the live sessions of a role, a principal or a source
    /// identity (identifiers and times, never secrets), as a table or the server's JSON. Signs
    /// like `revoke`; the credentials' policies must allow idbroker:ListSessions on the role's
    /// ARN, the principal ARN, or arn:aws:idbroker::ACCOUNT:source-identity/VALUE. Exit statuses
    /// as for `revoke`.
    Sessions(SessionsArgs),
}

/// Where the admin API is and how to reach it (every `idbroker admin` command).
#[derive(Args, Debug)]
struct AdminEndpointArgs {
    /// The server, e.g. https://idbroker.example.com:8443.
    #[arg(long)]
    endpoint_url: String,
    /// The region of the signature (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// Trust only the CA certificates in this PEM file for HTTPS (default: AWS_CA_BUNDLE, else
    /// the system's roots).
    #[arg(long, value_name = "FILE")]
    ca_bundle: Option<PathBuf>,
    /// Print the server's JSON answer instead of a sentence or table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("whose").required(true).args(["role", "principal", "source_identity"])))]
struct SessionsArgs {
    /// The sessions of this role (its ARN, with its path).
    #[arg(long, value_name = "ROLE_ARN")]
    role: Option<String>,
    /// The sessions of this principal ARN (arn:aws:sts::ACCT:assumed-role/ROLE/NAME, or a
    /// user's ARN).
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// The sessions carrying this source identity.
    #[arg(long)]
    source_identity: Option<String>,
    /// At most this many sessions per page (1 to 100; the server's default is 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100))]
    max_items: Option<u16>,
    /// Start where a previous page ended (the token it printed, its Marker).
    #[arg(long, value_name = "TOKEN")]
    starting_token: Option<String>,
    /// Every page, not only the first.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    endpoint: AdminEndpointArgs,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["access_key_id", "role", "principal", "source_identity"])))]
struct RevokeArgs {
    /// One session, by its temporary access key id (ASIA…): idbroker:RevokeSession.
    #[arg(long)]
    access_key_id: Option<String>,
    /// Every session of this role (its ARN) issued at or before --before:
    /// idbroker:RevokeOlderSessions.
    #[arg(long, value_name = "ROLE_ARN")]
    role: Option<String>,
    /// With --role: revoke sessions issued at or before this RFC 3339 time (default: now).
    #[arg(long, value_name = "RFC3339")]
    before: Option<String>,
    /// Every session of this principal ARN (arn:aws:sts::ACCT:assumed-role/ROLE/NAME, or a
    /// user's ARN): idbroker:RevokePrincipalSessions.
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// Every session carrying this source identity: idbroker:RevokeSourceIdentitySessions.
    #[arg(long)]
    source_identity: Option<String>,
    #[command(flatten)]
    endpoint: AdminEndpointArgs,
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Validate policy documents with IAM's rules and messages, and warn about risky ones.
    /// Exits 1 when a document has errors, 0 otherwise.
    Lint(LintArgs),
    /// Decide requests against policies.
    Simulate(SimulateArgs),
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum KindArg {
    /// Guess from the document: Principal with sts: actions and no Resource is a trust policy,
    /// Principal otherwise a resource policy, no Principal an identity policy.
    Auto,
    Identity,
    Session,
    Trust,
    Resource,
}

#[derive(Args, Debug)]
struct LintArgs {
    /// Policy files ("-" for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// What kind of policy the files hold.
    #[arg(long, value_enum, default_value = "auto")]
    kind: KindArg,
    /// Print findings as a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct SimulateArgs {
    /// Read cases as JSON Lines from standard input and write one JSON answer per line.
    #[arg(long, conflicts_with_all = ["policy", "action", "resource"])]
    batch: bool,
    /// An identity-based policy file (repeatable).
    #[arg(long = "policy", value_name = "FILE")]
    policy: Vec<PathBuf>,
    /// A permissions boundary file.
    #[arg(long, value_name = "FILE")]
    boundary: Option<PathBuf>,
    /// A session policy file (repeatable).
    #[arg(long = "session-policy", value_name = "FILE")]
    session_policy: Vec<PathBuf>,
    /// A resource-based policy file.
    #[arg(long = "resource-policy", value_name = "FILE")]
    resource_policy: Option<PathBuf>,
    /// The calling principal's ARN (or provider / service name).
    #[arg(long)]
    principal: Option<String>,
    /// The action, e.g. s3:GetObject.
    #[arg(long, required_unless_present = "batch")]
    action: Option<String>,
    /// The resource ARN.
    #[arg(long, default_value = "*")]
    resource: Option<String>,
    /// A context key and value, KEY=VALUE (repeat a key for a multi-valued key).
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

/// mimalloc instead of glibc's malloc: the request path allocates many small, short-lived
/// buffers (form pairs, XML, JSON audit lines), and glibc spent ~18% of the server's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before anything can open a TLS connection: rustls must not have to choose a provider.
    idbroker::tls::install_default_provider();
    let result = match cli.command {
        Command::CheckConfig { file } => check_config(&file),
        Command::Dev(DevCommand::WebIdentityToken { sub, lifetime, key }) => {
            dev::web_identity_token(&sub, lifetime, &key, SystemClock.now()).map(|token| {
                println!("{token}");
                ExitCode::SUCCESS
            })
        }
        Command::Serve { config, listen } => serve(&config, listen),
        Command::Dev(DevCommand::SamlAssertion {
            config,
            role,
            user,
            key,
            cert,
            count,
        }) => dev::saml_assertions(
            &config,
            &role,
            &user,
            (&key, &cert),
            count,
            &SystemClock,
            &mut BufWriter::new(std::io::stdout().lock()),
        )
        .map(|()| ExitCode::SUCCESS),
        Command::Directory(cmd) => directory(cmd),
        Command::Login(args) => Ok(login(args)),
        Command::Credentials(args) => Ok(credentials(args)),
        Command::Admin(AdminCommand::Revoke(args)) => admin_revoke(&args),
        Command::Admin(AdminCommand::Sessions(args)) => admin_sessions(&args),
        Command::Policy(PolicyCommand::Lint(args)) => run_lint(&args),
        Command::Policy(PolicyCommand::Simulate(args)) if args.batch => run_batch(),
        Command::Policy(PolicyCommand::Simulate(args)) => run_single(&args),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("idbroker: {msg}");
            ExitCode::from(2)
        }
    }
}

/// The log subscriber: JSON lines on stdout, filtered by `IDBROKER_LOG` (default `info`), and
/// with telemetry on, OpenTelemetry's layer beside it behind a filter of its own.
fn init_logging(telemetry: Option<&idbroker::telemetry::Telemetry>) {
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // Log lines are written in batches by the worker threads themselves (src/logging.rs). Not
    // lossy: when stdout is slower than the server, workers wait rather than lines being dropped.
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(idbroker::logging::BatchedStdout)
        .json()
        // The current span (the call's request id and action) is on every line; the list of
        // enclosing spans is not: formatting it was a visible share of a request's CPU.
        .with_span_list(false);
    let filter = tracing_subscriber::EnvFilter::try_new(idbroker::logging::filter_directives(
        std::env::var("IDBROKER_LOG").ok().as_deref(),
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Libraries' lines (the Redis client's, thousands a second in a failover) at most once per
    // module per 10 s, the rest counted (src/log_limit.rs).
    let quiet = idbroker::log_limit::quiet_libraries();
    match telemetry {
        // As before telemetry existed: one global filter, so a span or event the log leaves out
        // costs one level comparison.
        None => tracing_subscriber::registry()
            .with(lines.with_filter(quiet))
            .with(filter)
            .init(),
        // Per-layer filters: the log's lines stay the same, the spans it leaves out (debug)
        // still reach OpenTelemetry's layer.
        Some(t) => tracing_subscriber::registry()
            .with(lines.with_filter(filter.and(quiet)))
            .with(t.layer())
            .init(),
    }
    idbroker::logging::enable();
}

fn serve(file: &std::path::Path, listen: Option<String>) -> Result<ExitCode, String> {
    // SIGHUP's default action ends the process: the handler is installed first, whatever the
    // configuration (with TLS it reloads the certificate; without, there is nothing to reload).
    let system = actix_web::rt::System::new();
    let hup = system
        .block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) })
        .map_err(|e| format!("SIGHUP handler: {e}"))?;
    let clock = Arc::new(SystemClock);
    // The configuration says whether traces are exported, so it is read before the log
    // subscriber is set up (loading it logs nothing; its warnings are logged below).
    let mut cfg = idbroker::config::Config::load(file, clock.now())
        .map_err(|e| format!("invalid configuration: {e}"))?;
    let telemetry = cfg
        .telemetry
        .as_ref()
        .map(idbroker::telemetry::Telemetry::start)
        .transpose()?;
    init_logging(telemetry.as_ref());
    if let Some(t) = &cfg.telemetry {
        tracing::info!(endpoint = %t.endpoint, service = %t.service_name, sample_ratio = t.sample_ratio, "traces exported over OTLP");
    }
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    if let Some(l) = listen {
        // The development IdP was judged safe for the configured address: so must this one be.
        if cfg.dev_idp.is_some() {
            idbroker::dev_idp::check_listen(&l)?;
        }
        cfg.listen = l;
    }
    // Before the workers start (they inherit it from this thread): without wake-up preemption,
    // the hand-offs to and from the SAML check threads stop costing a preemption each.
    let policy = cfg.cpu_scheduling.policy();
    if let Err(e) = idbroker_sched::set_current_thread(policy) {
        tracing::warn!(error = %e, ?policy, "server.cpu_scheduling: could not set the policy; the kernel's default stays");
    }
    // After the policy: the reporting thread inherits it, as every thread of the server does.
    idbroker::log_limit::report_left_out();
    let tls = match &cfg.tls {
        Some(t) => Some(Arc::new(
            ReloadableCert::new(&t.cert, &t.key).map_err(|e| format!("server.tls_cert: {e}"))?,
        )),
        None => None,
    };
    let reload_every = cfg.reload_every;
    let watched = idbroker::reload::WatchedFile::new(file);
    let listen = cfg.listen.clone();
    let metrics_listen = cfg.metrics.listen.clone();
    let body_limit = cfg.max_body_bytes;
    let grace = cfg.shutdown_timeout;
    let served = system.block_on(async move {
        let state = idbroker::build_state(cfg, clock.clone()).await?;
        actix_web::rt::spawn(on_sighup(
            hup,
            reload_every,
            Reloads {
                tls: tls.clone(),
                state: state.clone(),
                file: watched,
                clock,
            },
        ));
        // /metrics on a listener of its own (server.metrics_listen), stopped after the API's.
        let metrics = match &metrics_listen {
            Some(addr) => {
                let (server, bound) = idbroker::metrics_server(state.clone(), addr)
                    .map_err(|e| format!("server.metrics_listen {addr}: {e}"))?;
                tracing::info!(listen = %bound, "metrics served on their own listener");
                let handle = server.handle();
                actix_web::rt::spawn(server);
                Some(handle)
            }
            None => None,
        };
        // The factory runs once on each worker thread.
        let server = actix_web::HttpServer::new(move || {
            // Runs on the worker's thread: its log lines are batched and flushed on a tick.
            idbroker::logging::batch_this_thread();
            actix_web::rt::spawn(idbroker::logging::flush_ticker());
            actix_web::App::new()
                .app_data(actix_web::web::Data::new(state.for_worker()))
                .app_data(actix_web::web::PayloadConfig::new(body_limit))
                .configure(idbroker::routes)
        })
        // SIGTERM: stop accepting, let in-flight requests finish for up to `grace`.
        .shutdown_timeout(grace.as_secs());
        let server = match &tls {
            Some(cert) => {
                let config = idbroker::tls::server_config(Arc::clone(cert))
                    .map_err(|e| format!("server.tls_cert: {e}"))?;
                server.bind_rustls_0_23(&listen, config)
            }
            None => server.bind(&listen),
        }
        .map_err(|e| format!("{listen}: {e}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        // The addresses bound, not the one configured: with port 0 (`127.0.0.1:0`) this line is
        // where the port the system picked is reported (tests/server_process.rs reads it).
        let bound = server
            .addrs()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        tracing::info!(listen = %bound, scheme, "idbroker serving");
        let served = server.run().await.map_err(|e| e.to_string());
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        served?;
        tracing::info!("idbroker stopped");
        Ok(ExitCode::SUCCESS)
    });
    // Graceful or not, the spans still queued are sent (at most one export's time).
    if let Some(t) = telemetry {
        if let Err(e) = t.shutdown() {
            tracing::warn!(error = %e, "traces: the last export failed");
        }
    }
    served
}

/// What SIGHUP and the reload tick reload: the TLS certificate when HTTPS is on, and the
/// directory of the configuration file (`idbroker::reload`). The signal never stops the server.
struct Reloads {
    tls: Option<Arc<ReloadableCert>>,
    state: idbroker::state::AppState,
    file: idbroker::reload::WatchedFile,
    clock: Arc<SystemClock>,
}

/// Reload on SIGHUP, and when the files change (looked at every `every`).
async fn on_sighup(
    mut hup: tokio::signal::unix::Signal,
    every: Option<std::time::Duration>,
    mut r: Reloads,
) {
    let mut tick = every.map(|d| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        let forced = tokio::select! {
            got = hup.recv() => match got {
                Some(()) => true,
                None => return,
            },
            () = async {
                match tick.as_mut() {
                    Some(t) => { t.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => false,
        };
        if let Some(cert) = &r.tls {
            let outcome = if forced {
                cert.reload().map(|()| Reload::Reloaded)
            } else {
                cert.reload_if_changed()
            };
            match outcome {
                Ok(Reload::Reloaded) => tracing::info!(signal = forced, "TLS certificate reloaded"),
                Ok(Reload::Unchanged) => {}
                Err(e) => tracing::error!(
                    error = %e,
                    "TLS certificate reload failed; still serving the previous certificate"
                ),
            }
        }
        let changed = r.file.changed();
        if forced || changed {
            let why = if forced { "SIGHUP" } else { "file changed" };
            idbroker::reload::reload_and_log(&r.state, r.file.path(), why, r.clock.now());
        }
    }
}

/// `idbroker login`: 0 written, 1 with the reason on standard error.
fn login(args: LoginArgs) -> ExitCode {
    use idbroker::cli::login::{LoginOptions, Settings, SignInBy};
    let opts = LoginOptions {
        settings: Settings {
            endpoint_url: args.endpoint_url,
            provider: args.provider,
            role_arn: args.role,
            duration_seconds: args.duration,
            ca_bundle: args.ca_bundle,
        },
        profile: args.profile,
        by: match (args.device, args.no_browser) {
            (true, _) => SignInBy::Device,
            (false, true) => SignInBy::PrintedUrl,
            (false, false) => SignInBy::Browser,
        },
        env_output: args.env,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    login_exit(idbroker::cli::login::login(&opts, &SystemClock, &|k| {
        std::env::var(k).ok()
    }))
}

/// `idbroker credentials`: 0 with the JSON on standard output, 1 with the reason on standard
/// error.
fn credentials(args: CredentialsArgs) -> ExitCode {
    use idbroker::cli::login::{CredentialsOptions, Overrides};
    let opts = CredentialsOptions {
        profile: args.profile,
        overrides: Overrides {
            endpoint_url: args.endpoint_url,
            provider: args.provider,
            role_arn: args.role,
            duration_seconds: args.duration,
            ca_bundle: args.ca_bundle,
        },
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    login_exit(idbroker::cli::login::credentials(
        &opts,
        &SystemClock,
        &|k| std::env::var(k).ok(),
    ))
}

fn login_exit(done: Result<(), idbroker::cli::login::LoginError>) -> ExitCode {
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idbroker: {e}");
            ExitCode::from(1)
        }
    }
}

fn admin_revoke(args: &RevokeArgs) -> Result<ExitCode, String> {
    use idbroker::cli::admin_client;
    if args.before.is_some() && args.role.is_none() {
        return Err("--before goes with --role".into());
    }
    let body = match (
        &args.access_key_id,
        &args.role,
        &args.principal,
        &args.source_identity,
    ) {
        (Some(id), ..) => json!({ "AccessKeyId": id }),
        (_, Some(role), ..) => match &args.before {
            Some(t) => json!({ "RoleArn": role, "Before": t }),
            None => json!({ "RoleArn": role }),
        },
        (_, _, Some(p), _) => json!({ "PrincipalArn": p }),
        (.., Some(s)) => json!({ "SourceIdentity": s }),
        _ => return Err("say what to revoke".into()),
    };
    admin_call(
        &args.endpoint,
        async |endpoint, creds| {
            admin_client::revoke(endpoint, creds, &body, SystemClock.now()).await
        },
        admin_client::describe,
    )
}

fn admin_sessions(args: &SessionsArgs) -> Result<ExitCode, String> {
    use idbroker::cli::admin_client;
    let mut fields = serde_json::Map::new();
    let (name, value) = match (&args.role, &args.principal, &args.source_identity) {
        (Some(role), ..) => ("RoleArn", role),
        (_, Some(p), _) => ("PrincipalArn", p),
        (.., Some(s)) => ("SourceIdentity", s),
        _ => return Err("say whose sessions to list".into()),
    };
    fields.insert(name.into(), json!(value));
    if let Some(n) = args.max_items {
        fields.insert("MaxItems".into(), json!(n));
    }
    if let Some(t) = &args.starting_token {
        fields.insert("Marker".into(), json!(t));
    }
    let body = Value::Object(fields);
    admin_call(
        &args.endpoint,
        async |endpoint, creds| {
            if args.all {
                admin_client::list_all_sessions(endpoint, creds, &body, &SystemClock).await
            } else {
                admin_client::list_sessions(endpoint, creds, &body, SystemClock.now()).await
            }
        },
        admin_client::session_table,
    )
}

/// One `idbroker admin` command: `send` with the endpoint and the environment's credentials on a
/// runtime of its own; the answer printed (the JSON with `--json`, else `say`'s text) and the
/// exit status: 0 done, 1 refused, 2 bad arguments or no credentials (`Err`), 3 unreachable or a
/// server error.
fn admin_call(
    args: &AdminEndpointArgs,
    send: impl AsyncFnOnce(
        &idbroker::cli::admin_client::Endpoint,
        &idbroker::cli::admin_client::EnvCredentials,
    ) -> Result<
        idbroker::cli::admin_client::Answer,
        idbroker::cli::admin_client::ClientError,
    >,
    say: impl Fn(&Value) -> String,
) -> Result<ExitCode, String> {
    use idbroker::cli::admin_client::{Answer, ClientError, Endpoint, EnvCredentials};
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let endpoint = Endpoint {
        url: args.endpoint_url.clone(),
        region: args
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into()),
        ca_bundle: args
            .ca_bundle
            .clone()
            .or_else(|| env("AWS_CA_BUNDLE").map(PathBuf::from)),
    };
    let sent = EnvCredentials::from_env(env).and_then(|creds| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Local(format!("runtime: {e}")))?;
        runtime.block_on(send(&endpoint, &creds))
    });
    match sent {
        Ok(Answer::Done(doc)) => {
            if args.json {
                println!("{doc}");
            } else {
                print!("{}", with_newline(say(&doc)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Answer::Refused {
            status,
            code,
            message,
            request_id,
        }) => {
            eprintln!("idbroker: {code} (HTTP {status}): {message} [request id {request_id}]");
            Ok(ExitCode::from(if status >= 500 { 3 } else { 1 }))
        }
        Err(ClientError::Local(m)) => Err(m),
        Err(ClientError::Unreachable(m)) => {
            eprintln!("idbroker: {m}");
            Ok(ExitCode::from(3))
        }
    }
}

/// `text`, ending with a newline.
fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn directory(cmd: DirectoryCommand) -> Result<ExitCode, String> {
    use idbroker::cli::directory_tool::{open, to_toml};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let now = SystemClock.now();
    rt.block_on(async {
        match cmd {
            DirectoryCommand::Import { config, file } => {
                let target = open(&config, now).await?;
                let version = target.import(&file).await?;
                println!("imported {} (version {version})", file.display());
                Ok(ExitCode::SUCCESS)
            }
            DirectoryCommand::Export { config } => {
                let target = open(&config, now).await?;
                let stored = target
                    .load()
                    .await?
                    .ok_or("the database holds no directory")?;
                print!("{}", to_toml(&stored.doc)?);
                Ok(ExitCode::SUCCESS)
            }
            DirectoryCommand::Diff { config, file } => {
                let target = open(&config, now).await?;
                let (_, _, changes) = target.plan(&file).await?;
                if changes.is_empty() {
                    println!("No changes.");
                    return Ok(ExitCode::SUCCESS);
                }
                for c in &changes {
                    println!("{c}");
                }
                Ok(ExitCode::from(2))
            }
            DirectoryCommand::Apply { config, file } => {
                let target = open(&config, now).await?;
                let (stored, doc, changes) = target.plan(&file).await?;
                if changes.is_empty() {
                    println!("No changes.");
                    return Ok(ExitCode::SUCCESS);
                }
                for c in &changes {
                    println!("{c}");
                }
                let version = target.apply(stored.as_ref(), &doc).await?;
                println!("applied {} changes (version {version})", changes.len());
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn check_config(file: &std::path::Path) -> Result<ExitCode, String> {
    match idbroker::config::Config::load(file, SystemClock.now()) {
        Ok(cfg) => {
            for w in &cfg.warnings {
                eprintln!("warning: {w}");
            }
            let (users, roles, policies) = cfg.directory.counts();
            println!(
                "{}: ok (account {}, {users} users, {roles} roles, {policies} managed policies)",
                file.display(),
                cfg.directory.account_id
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("idbroker: invalid configuration: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn read_input(path: &PathBuf) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn run_lint(args: &LintArgs) -> Result<ExitCode, String> {
    let kind = match args.kind {
        KindArg::Auto => None,
        KindArg::Identity => Some(PolicyKind::Identity),
        KindArg::Session => Some(PolicyKind::Session),
        KindArg::Trust => Some(PolicyKind::Trust),
        KindArg::Resource => Some(PolicyKind::Resource),
    };
    let mut any_error = false;
    let mut all = Vec::new();
    for path in &args.files {
        let text = read_input(path)?;
        let (kind, findings) = policy_tool::lint_text(&text, kind);
        any_error |= policy_tool::has_errors(&findings);
        let file = path.display().to_string();
        if args.json {
            all.extend(findings.iter().map(|f| {
                json!({
                    "file": file,
                    "kind": policy_tool::kind_name(kind),
                    "severity": f.severity.as_str(),
                    "code": f.code,
                    "statement": f.statement,
                    "message": f.message,
                })
            }));
        } else if findings.is_empty() {
            println!("{file}: ok ({} policy)", policy_tool::kind_name(kind));
        } else {
            for f in &findings {
                let at = f
                    .statement
                    .map(|i| format!(" statement {i}:"))
                    .unwrap_or_default();
                match f.severity {
                    Severity::Error => println!(
                        "{file}: error: MalformedPolicyDocument ({} policy): {}",
                        policy_tool::kind_name(kind),
                        f.message
                    ),
                    Severity::Warning => {
                        println!("{file}: warning[{}]:{at} {}", f.code, f.message)
                    }
                }
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Value::Array(all)).map_err(|e| e.to_string())?
        );
    }
    Ok(if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_batch() -> Result<ExitCode, String> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| format!("standard input: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = policy_tool::simulate_line(&line);
        writeln!(out, "{answer}").map_err(|e| format!("standard output: {e}"))?;
    }
    out.flush().map_err(|e| format!("standard output: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn run_single(args: &SimulateArgs) -> Result<ExitCode, String> {
    let doc = |p: &PathBuf| -> Result<Value, String> {
        let text = read_input(p)?;
        Ok(Value::String(text))
    };
    let mut context = serde_json::Map::new();
    for kv in &args.context {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--context {kv:?}: expected KEY=VALUE"))?;
        match context.get_mut(k) {
            Some(Value::Array(list)) => list.push(v.into()),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, v.into()]);
            }
            None => {
                context.insert(k.to_owned(), v.into());
            }
        }
    }
    let case = json!({
        "identity_policies": args.policy.iter().map(doc).collect::<Result<Vec<_>, _>>()?,
        "permissions_boundary": args.boundary.as_ref().map(doc).transpose()?,
        "session_policies": args.session_policy.iter().map(doc).collect::<Result<Vec<_>, _>>()?,
        "resource_policy": args.resource_policy.as_ref().map(doc).transpose()?,
        "request": {
            "principal": args.principal,
            "action": args.action,
            "resource": args.resource,
            "context": context,
        }
    });
    let case = Case::from_json(&case)?;
    let eval = case.evaluate();
    if args.json {
        println!("{}", Value::Object(policy_tool::evaluation_json(&eval)));
    } else {
        println!("{}", eval.decision.as_str());
        for m in &eval.matched {
            let effect = match m.effect {
                idbroker_policy::Effect::Allow => "allow",
                idbroker_policy::Effect::Deny => "deny",
            };
            let sid = m
                .sid
                .as_deref()
                .map(|s| format!(" (Sid {s})"))
                .unwrap_or_default();
            println!("  {effect:<5} {} statement {}{sid}", m.policy, m.index);
        }
        if let Some(layer) = eval.missing {
            println!(
                "  no Allow in the {} policies",
                layer.as_str().replace('_', " ")
            );
        }
    }
    Ok(match eval.decision {
        Decision::Allow => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}
