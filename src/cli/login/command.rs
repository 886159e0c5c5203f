//! The two commands: `idbroker login` (sign in, choose a role, write the profile to the shared
//! credentials file or print it for a shell, and cache it) and `idbroker credentials` (the AWS
//! CLI's `credential_process`: the cached credentials while they have more than 15 minutes left,
//! else a new browser sign-in when someone is at the terminal, else a refusal at once).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::cache::{self, Entry, REFRESH_WINDOW};
use super::client::Server;
use super::error::{shown, LoginError};
use super::flow::{self, Browser};
use super::picker;
use super::profile;
use super::protocol::{Credentials, TokenAnswer};
use super::settings::{Overrides, Settings};
use super::terminal;
use crate::clock::{Clock, Stopwatch, Utc};

/// The environment, read through a function (the process's in the command, a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// How `idbroker login` signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInBy {
    /// The browser sign-in, starting a browser.
    Browser,
    /// The browser sign-in, printing the URL only (`--no-browser`).
    PrintedUrl,
    /// The device sign-in (`--device`).
    Device,
}

/// An environment of `pairs` (tests).
#[cfg(test)]
pub(crate) fn fake_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// `idbroker login`'s options.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// Endpoint, provider, role, duration, CA bundle.
    pub settings: Settings,
    /// The profile written (`--profile`, default `default`).
    pub profile: String,
    /// Browser, printed URL or device code.
    pub by: SignInBy,
    /// Print `export` lines on standard output instead of writing the credentials file.
    pub env_output: bool,
    /// The longest wait for the sign-in (`--timeout`).
    pub timeout: Duration,
}

/// `idbroker credentials`' options.
#[derive(Debug, Clone)]
pub struct CredentialsOptions {
    /// The profile whose cache is read and written.
    pub profile: String,
    /// Settings given on the command line (over the cached ones).
    pub overrides: Overrides,
    /// The longest wait for a new sign-in (`--timeout`).
    pub timeout: Duration,
}

/// `idbroker login`.
pub fn login(opts: &LoginOptions, clock: &dyn Clock, env: Env<'_>) -> Result<(), LoginError> {
    let cache_file = cache::cache_path(&cache::cache_dir(env)?, &opts.profile)?;
    let credentials_file = match opts.env_output {
        true => None,
        false => Some(profile::credentials_path(env)?),
    };
    let server = server(&opts.settings, env)?;
    let mut err = std::io::stderr();
    let runtime = runtime()?;
    let answer = runtime.block_on(async {
        match opts.by {
            SignInBy::Device => {
                flow::device_sign_in(&server, &opts.settings, &mut err, opts.timeout).await
            }
            SignInBy::Browser | SignInBy::PrintedUrl => {
                let browser = match opts.by {
                    SignInBy::PrintedUrl => Browser::Print,
                    _ => Browser::Open(env("BROWSER")),
                };
                flow::browser_sign_in(&server, &opts.settings, &browser, &mut err, opts.timeout)
                    .await
            }
        }
    })?;
    let ticket_age = Stopwatch::start();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let ask: Option<(&mut dyn std::io::BufRead, &mut dyn Write)> = match terminal::interactive() {
        true => Some((&mut input, &mut err)),
        false => None,
    };
    let role = picker::choose(&answer.roles, opts.settings.role_arn.as_deref(), ask)?
        .role_arn
        .clone();
    if ticket_age.elapsed() >= Duration::from_secs(answer.expires_in) {
        return Err(LoginError::SignIn(format!(
            "the sign-in's ticket expired ({} s) before a role was chosen: run the command again",
            answer.expires_in
        )));
    }
    let creds = runtime.block_on(server.credentials(&answer.ticket, &role))?;
    let settings = Settings {
        role_arn: Some(role),
        ..opts.settings.clone()
    };
    let now = clock.now();
    let whom = signed_in(&answer);
    match &credentials_file {
        Some(path) => {
            profile::write_profile(
                path,
                &opts.profile,
                &[
                    (profile::KEYS[0], &creds.access_key_id),
                    (profile::KEYS[1], &creds.secret_access_key),
                    (profile::KEYS[2], &creds.session_token),
                ],
            )?;
            eprintln!(
                "{whom}\nWrote profile {} to {}: {}, expires {}.",
                opts.profile,
                path.display(),
                describe(&creds),
                expiry(&creds, now)
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\nexport AWS_SESSION_TOKEN={}",
                creds.access_key_id,
                creds.secret_access_key.as_str(),
                creds.session_token.as_str()
            )
            .and_then(|()| out.flush())
            .map_err(|e| LoginError::local("standard output", e))?;
            eprintln!(
                "{whom}\nCredentials of {}, expire {}.",
                describe(&creds),
                expiry(&creds, now)
            );
        }
    }
    cache::store(&cache_file, &Entry::new(settings, creds))
}

/// What `idbroker credentials` does with what it has.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Print the cached credentials.
    Serve,
    /// Sign in again with these settings.
    SignIn(Settings),
    /// Say why not (no one at the terminal to sign in).
    Refuse(String),
}

/// The cached entry (if any) answers the command line while it has more than
/// [`REFRESH_WINDOW`] left at `now`; otherwise an `interactive` run signs in again (with the
/// command line's settings over the cached ones), and any other is refused with what to run.
pub fn decide(
    profile: &str,
    cached: Option<&Entry>,
    overrides: &Overrides,
    now: SystemTime,
    interactive: bool,
) -> Decision {
    let agrees = cached.filter(|e| overrides.agree_with(&e.settings));
    if agrees.is_some_and(|e| e.fresh(now)) {
        return Decision::Serve;
    }
    let settings = overrides.over(cached.map(|e| &e.settings));
    if let (true, Some(settings)) = (interactive, &settings) {
        return Decision::SignIn(settings.clone());
    }
    let why = match (cached, agrees) {
        (None, _) => format!("no credentials are cached for profile {profile}"),
        (Some(_), None) => format!(
            "the cached credentials of profile {profile} were signed in with other settings than these"
        ),
        (_, Some(e)) if e.credentials.left(now).is_zero() => format!(
            "the cached credentials of profile {profile} expired at {}",
            Utc(e.credentials.expiration)
        ),
        (_, Some(e)) => format!(
            "the cached credentials of profile {profile} expire at {}, in less than {} minutes",
            Utc(e.credentials.expiration),
            REFRESH_WINDOW.as_secs() / 60
        ),
    };
    let how = match &settings {
        None if interactive => "no server is known for it: pass --endpoint-url".to_owned(),
        _ => {
            let s = settings.unwrap_or_default();
            let mut run = format!(
                "idbroker login --endpoint-url {} --profile {profile}",
                if s.endpoint_url.is_empty() {
                    "URL"
                } else {
                    &s.endpoint_url
                }
            );
            if let Some(p) = &s.provider {
                run.push_str(&format!(" --provider {p}"));
            }
            if let Some(r) = &s.role_arn {
                run.push_str(&format!(" --role {r}"));
            }
            format!(
                "signing in needs a browser: run `{}` in a terminal",
                shown(&run)
            )
        }
    };
    Decision::Refuse(format!("{why}; {how}"))
}

/// `idbroker credentials`.
pub fn credentials(
    opts: &CredentialsOptions,
    clock: &dyn Clock,
    env: Env<'_>,
) -> Result<(), LoginError> {
    let path = cache::cache_path(&cache::cache_dir(env)?, &opts.profile)?;
    let cached = cache::load(&path).unwrap_or_else(|e| {
        eprintln!("idbroker: ignoring the cache: {e}");
        None
    });
    let now = clock.now();
    let creds = match decide(
        &opts.profile,
        cached.as_ref(),
        &opts.overrides,
        now,
        terminal::interactive(),
    ) {
        Decision::Refuse(why) => return Err(LoginError::SignIn(why)),
        Decision::Serve => match cached {
            Some(entry) => entry.credentials,
            None => return Err(LoginError::Local("the cache vanished".into())),
        },
        Decision::SignIn(settings) => {
            let server = server(&settings, env)?;
            let mut tty = terminal::tty_or_stderr();
            let _ = writeln!(
                tty,
                "idbroker: the credentials of profile {} need a new sign-in.",
                opts.profile
            );
            let runtime = runtime()?;
            let browser = Browser::Open(env("BROWSER"));
            let answer = runtime.block_on(flow::browser_sign_in(
                &server,
                &settings,
                &browser,
                &mut tty,
                opts.timeout,
            ))?;
            // No picker: standard output is the AWS CLI's, not the person's.
            let role = picker::choose(&answer.roles, settings.role_arn.as_deref(), None)?
                .role_arn
                .clone();
            let creds = runtime.block_on(server.credentials(&answer.ticket, &role))?;
            let _ = writeln!(
                tty,
                "{}\nSigned in: {}, expires {}.",
                signed_in(&answer),
                describe(&creds),
                expiry(&creds, clock.now())
            );
            let settings = Settings {
                role_arn: Some(role),
                ..settings
            };
            let entry = Entry::new(settings, creds);
            cache::store(&path, &entry)?;
            entry.credentials
        }
    };
    let json = creds
        .process_json()
        .map_err(|e| LoginError::local("credentials", e))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", json.as_str())
        .and_then(|()| out.flush())
        .map_err(|e| LoginError::local("standard output", e))
}

/// The server of `settings`, trusting `--ca-bundle` or else `AWS_CA_BUNDLE`; a warning for
/// plain HTTP beyond the loopback.
fn server(settings: &Settings, env: Env<'_>) -> Result<Server, LoginError> {
    let ca = settings.ca_bundle.clone().or_else(|| {
        env("AWS_CA_BUNDLE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let server = Server::new(&settings.endpoint_url, ca.as_deref())?;
    if server.cleartext() {
        eprintln!(
            "idbroker: warning: {} is plain HTTP: credentials cross the network unencrypted",
            settings.endpoint_url
        );
    }
    Ok(server)
}

fn runtime() -> Result<tokio::runtime::Runtime, LoginError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoginError::local("runtime", e))
}

fn signed_in(answer: &TokenAnswer) -> String {
    format!(
        "Signed in as {} through {}.",
        shown(&answer.subject),
        shown(&answer.provider)
    )
}

/// The assumed role's ARN, or the access key id when the server did not say.
fn describe(creds: &Credentials) -> String {
    match creds.assumed_role_arn.as_str() {
        "" => creds.access_key_id.clone(),
        arn => shown(arn).into_owned(),
    }
}

/// `2026-12-06T19:00:00Z (in 60 min)`.
fn expiry(creds: &Credentials, now: SystemTime) -> String {
    format!(
        "{} (in {} min)",
        Utc(creds.expiration),
        creds.left(now).as_secs() / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn entry(endpoint: &str, role: &str, expiration: &str) -> Entry {
        let creds: Credentials = serde_json::from_value(serde_json::json!({
            "AccessKeyId": "ASIAEXAMPLE000000001",
            "SecretAccessKey": "c2VjcmV0",
            "SessionToken": "dG9rZW4=",
            "Expiration": expiration,
        }))
        .unwrap();
        Entry::new(
            Settings {
                endpoint_url: endpoint.into(),
                provider: Some("corp".into()),
                role_arn: Some(role.into()),
                ..Settings::default()
            },
            creds,
        )
    }

    #[test]
    fn serve_sign_in_or_refuse() {
        const ROLE: &str = "arn:aws:iam::1:role/Dev";
        let e = entry("http://127.0.0.1:8080", ROLE, "2026-12-06T19:00:00Z");
        let clock = ManualClock::new(e.credentials.expiration - Duration::from_secs(16 * 60));
        let none = Overrides::default();
        assert_eq!(
            decide("dev", Some(&e), &none, clock.now(), false),
            Decision::Serve
        );
        // Another role on the command line: not these credentials.
        let other = Overrides {
            role_arn: Some("arn:aws:iam::1:role/Other".into()),
            ..Overrides::default()
        };
        let Decision::Refuse(why) = decide("dev", Some(&e), &other, clock.now(), false) else {
            panic!()
        };
        assert!(why.contains("other settings"), "{why}");
        let Decision::SignIn(s) = decide("dev", Some(&e), &other, clock.now(), true) else {
            panic!()
        };
        assert_eq!(s.role_arn.as_deref(), Some("arn:aws:iam::1:role/Other"));
        assert_eq!(s.provider.as_deref(), Some("corp"));

        clock.advance(Duration::from_secs(60));
        let Decision::Refuse(why) = decide("dev", Some(&e), &none, clock.now(), false) else {
            panic!()
        };
        assert_eq!(
            why,
            "the cached credentials of profile dev expire at 2026-12-06T19:00:00Z, in less than 15 minutes; \
             signing in needs a browser: run `idbroker login --endpoint-url http://127.0.0.1:8080 --profile dev \
             --provider corp --role arn:aws:iam::1:role/Dev` in a terminal"
        );
        assert_eq!(
            decide("dev", Some(&e), &none, clock.now(), true),
            Decision::SignIn(e.settings.clone())
        );
        clock.advance(Duration::from_secs(3600));
        let Decision::Refuse(why) = decide("dev", Some(&e), &none, clock.now(), false) else {
            panic!()
        };
        assert!(
            why.starts_with(
                "the cached credentials of profile dev expired at 2026-12-06T19:00:00Z;"
            ),
            "{why}"
        );

        let Decision::Refuse(why) = decide("dev", None, &none, clock.now(), false) else {
            panic!()
        };
        assert_eq!(
            why,
            "no credentials are cached for profile dev; signing in needs a browser: run \
             `idbroker login --endpoint-url URL --profile dev` in a terminal"
        );
        let Decision::Refuse(why) = decide("dev", None, &none, clock.now(), true) else {
            panic!()
        };
        assert!(
            why.ends_with("no server is known for it: pass --endpoint-url"),
            "{why}"
        );
    }
}
