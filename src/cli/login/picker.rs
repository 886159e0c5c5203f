//! Which of the ticket's roles to take: the one asked for (`--role`, or the cached profile's),
//! the only one, or with someone at the terminal, the one they pick from a numbered list.

use std::io::{BufRead, Read, Write};

use super::error::{shown, LoginError};
use super::protocol::RoleOption;

/// Attempts at typing a number before the picker gives up.
const ATTEMPTS: usize = 3;

/// The roles, one line each (for lists and errors).
pub fn listing(roles: &[RoleOption]) -> String {
    roles
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "  {}. {} (session {}, {} s)\n",
                i + 1,
                shown(&r.role_arn),
                shown(&r.session_name),
                r.duration_seconds
            )
        })
        .collect()
}

/// The role to take. `wanted` must be one of `roles`; with several roles and none wanted, `ask`
/// (an answer source and where to write the list, when someone is at the terminal) picks one,
/// and without it the choice is refused, listing the roles.
pub fn choose<'a>(
    roles: &'a [RoleOption],
    wanted: Option<&str>,
    ask: Option<(&mut dyn BufRead, &mut dyn Write)>,
) -> Result<&'a RoleOption, LoginError> {
    if let Some(arn) = wanted {
        return roles.iter().find(|r| r.role_arn == arn).ok_or_else(|| {
            LoginError::SignIn(format!(
                "the role {} is not one this sign-in may take; it may take:\n{}",
                shown(arn),
                listing(roles).trim_end()
            ))
        });
    }
    match roles {
        [] => Err(LoginError::SignIn(
            "the sign-in granted no role (ask the administrator which roles trust your identity provider)".into(),
        )),
        [only] => Ok(only),
        _ => match ask {
            Some((input, out)) => pick(roles, input, out),
            None => Err(LoginError::SignIn(format!(
                "the sign-in may take several roles; say which with --role ROLE_ARN:\n{}",
                listing(roles).trim_end()
            ))),
        },
    }
}

fn pick<'a>(
    roles: &'a [RoleOption],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<&'a RoleOption, LoginError> {
    let io = |e: std::io::Error| LoginError::local("the terminal", e);
    write!(out, "Roles you may take:\n{}", listing(roles)).map_err(io)?;
    for _ in 0..ATTEMPTS {
        write!(out, "Role number [1-{}]: ", roles.len()).map_err(io)?;
        out.flush().map_err(io)?;
        let mut line = String::new();
        if Read::take(&mut *input, 64)
            .read_line(&mut line)
            .map_err(io)?
            == 0
        {
            break;
        }
        let chosen = line
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| roles.get(i));
        if let Some(role) = chosen {
            return Ok(role);
        }
        writeln!(out, "Type a number from 1 to {}.", roles.len()).map_err(io)?;
    }
    Err(LoginError::SignIn("no role chosen".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(n: usize) -> Vec<RoleOption> {
        (1..=n)
            .map(|i| RoleOption {
                role_arn: format!("arn:aws:iam::123456789012:role/R{i}"),
                session_name: "alice".into(),
                duration_seconds: 3600,
            })
            .collect()
    }

    #[test]
    fn several_roles_without_a_terminal_are_refused_with_the_list() {
        let r = roles(2);
        let e = choose(&r, None, None).unwrap_err().to_string();
        assert!(e.contains("--role"), "{e}");
        assert!(e.contains("role/R1") && e.contains("role/R2"), "{e}");
    }

    #[test]
    fn one_named_or_only() {
        let r = roles(3);
        assert_eq!(
            choose(&r, Some("arn:aws:iam::123456789012:role/R2"), None)
                .unwrap()
                .role_arn,
            r[1].role_arn
        );
        let e = choose(&r, Some("arn:aws:iam::123456789012:role/Other"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("role/Other") && e.contains("role/R3"), "{e}");
        assert_eq!(choose(&r[..1], None, None).unwrap(), &r[0]);
        assert!(choose(&[], None, None).is_err());
    }

    #[test]
    fn the_picker_asks_again_then_takes_the_number() {
        let r = roles(3);
        let mut input = std::io::Cursor::new(b"x\n9\n 2 \n".to_vec());
        let mut out = Vec::new();
        let got = choose(&r, None, Some((&mut input, &mut out))).unwrap();
        assert_eq!(got, &r[1]);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("  3. arn:aws:iam::123456789012:role/R3 (session alice, 3600 s)"));
        assert_eq!(out.matches("Role number [1-3]: ").count(), 3);
        let mut eof = std::io::Cursor::new(Vec::new());
        assert!(choose(&r, None, Some((&mut eof, &mut Vec::new()))).is_err());
    }
}
