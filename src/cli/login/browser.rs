//! Opening the sign-in URL in a browser: `$BROWSER` when set (a command and its arguments split
//! at whitespace, run without a shell; `%s` in them replaced by the URL, else the URL appended
//! as the last argument), otherwise `xdg-open` (Linux and other Unix) or `open` (macOS). The
//! browser's own output goes nowhere: `idbroker credentials` keeps its standard output for the
//! credentials.

use std::process::{Command, Stdio};

/// The program and arguments that open `url`; `None` when there is no way on this system.
pub fn command(url: &str, browser_env: Option<&str>) -> Option<Vec<String>> {
    if let Some(words) = browser_env.map(str::split_whitespace) {
        let mut argv: Vec<String> = words.map(str::to_owned).collect();
        if !argv.is_empty() {
            if argv.iter().any(|w| w.contains("%s")) {
                for w in &mut argv {
                    *w = w.replace("%s", url);
                }
            } else {
                argv.push(url.to_owned());
            }
            return Some(argv);
        }
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(unix) {
        "xdg-open"
    } else {
        return None;
    };
    Some(vec![opener.to_owned(), url.to_owned()])
}

/// Start the browser on `url` (not waiting for it: a thread reaps it when it ends). `Err` says
/// why it could not be started.
pub fn open(url: &str, browser_env: Option<&str>) -> Result<(), String> {
    let argv = command(url, browser_env).ok_or("no browser opener on this system")?;
    let (program, args) = argv.split_first().ok_or("BROWSER is empty")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_variable() {
        let url = "http://127.0.0.1:8080/console/cli/start?a=b&c=d";
        assert_eq!(
            command(url, Some("firefox --new-window")).unwrap(),
            ["firefox", "--new-window", url]
        );
        assert_eq!(
            command(url, Some("  chromium  --app=%s ")).unwrap(),
            ["chromium", format!("--app={url}").as_str()]
        );
        let default = command(url, Some("  ")).unwrap();
        assert_eq!(default.last().map(String::as_str), Some(url));
        assert_eq!(command(url, None).unwrap(), default);
    }

    #[test]
    fn opening_fails_plainly() {
        assert!(open("http://x/", Some("/nonexistent/idbroker-test-browser")).is_err());
        assert!(open("http://x/", Some("true")).is_ok());
    }
}
