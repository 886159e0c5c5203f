//! The session index of the Redis store: who holds a session of a role, a principal or a source
//! identity, listed without `SCAN`.
//!
//! Each scope of a session has a sorted set `Pindex:KIND:HEX` (as for revocation marks: `KIND`
//! = `role`, `principal`, `source-identity`; `HEX` = SHA-256 of the value), member = the access
//! key id, score = the session's expiry. Each write of an index drops the entries expired by then
//! (`ZREMRANGEBYSCORE`) and keeps the index key at least as long as its longest session.
//!
//! **Every session answered is listable.** The index entries are written before the record (or
//! with it, in one script, on a standalone Redis: one round trip), and a failed index write fails
//! the `put`: a session is never stored unlisted. The reverse can happen (an index write done, the
//! record's failed, or a session deleted): listing reads every record and lists only what is
//! there, alive, of the scope and not revoked.
//!
//! **Listing** reads at most a page of entries from one index (a script: prune, find where the
//! previous page ended, `ZRANGE`), then their records (one `MGET`; redis-rs splits it by slot on
//! a cluster) and the revocation marks of their scopes (one more `MGET`). Entries that can never
//! be listed again (a revoked session's tombstone, a mark that covers it, a record of another
//! scope) are removed from the index as they are found; entries without a record are left alone,
//! as their `put` may be on its way, and go with their expiry.

use std::collections::{BTreeMap, BTreeSet};

use ::redis::Script;

use super::{sha256_hex, RedisStore, TOMBSTONE};
use crate::credentials::AccessKeyId;
use crate::session::{RevocationScope, Session};
use crate::store::page::{check_page_size, ListPosition, SessionPage};
use crate::store::warn_limit::WarnLimit;
use crate::SessionError;

/// Add one session to one index (the Lua body shared by [`INDEX`] and [`ISSUE`]): `k` the index
/// key; `exp`, `id`, `now`, `ttl` as their ARGV.
const ADD_TO_INDEX: &str = r"
local function add(k, exp, id, now, ttl)
  redis.call('ZADD', k, exp, id)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  if redis.call('TTL', k) < tonumber(ttl) then redis.call('EXPIRE', k, ttl) end
end
";

/// One index entry (a cluster: each index key is in a slot of its own).
/// KEYS: the index. ARGV: expiry, access key id, now, seconds the session has left.
fn index_script() -> Script {
    Script::new(&format!(
        "{ADD_TO_INDEX}add(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])\nreturn 1\n"
    ))
}

/// Issue a session on a standalone Redis, atomically: refused (0) if the id is in use or revoked;
/// otherwise its index entries, then its record (`SET … EX`), 1.
/// KEYS: the record, then its indexes. ARGV: the record, seconds left, expiry, access key id, now.
fn issue_script() -> Script {
    Script::new(&format!(
        r"{ADD_TO_INDEX}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #KEYS do add(KEYS[i], ARGV[3], ARGV[4], ARGV[5], ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"
    ))
}

/// A page of index entries: expired ones dropped, then at most ARGV[2] entries after the position
/// (ARGV[3] expiry, ARGV[4] access key id; both empty: from the start), as a flat list of member,
/// score. When the position's own entry is gone, it is put back for an instant to learn its rank
/// (the entries tied with it on expiry are neither skipped nor repeated).
/// KEYS: the index. ARGV: now, how many, the position.
const LIST: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local start = 0
if ARGV[4] ~= '' then
  local rank = redis.call('ZRANK', KEYS[1], ARGV[4])
  if rank then
    start = rank + 1
  else
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
    start = redis.call('ZRANK', KEYS[1], ARGV[4])
    redis.call('ZREM', KEYS[1], ARGV[4])
  end
end
return redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1, 'WITHSCORES')
";

/// The index scripts, loaded once per store.
#[derive(Clone)]
pub(super) struct IndexScripts {
    pub(super) index: Script,
    pub(super) issue: Script,
    list: Script,
}

impl IndexScripts {
    pub(super) fn new() -> Self {
        Self {
            index: index_script(),
            issue: issue_script(),
            list: Script::new(LIST),
        }
    }
}

/// Unreadable records met while listing: skipped (they cannot authenticate either), and said at
/// most once per 10 s.
static UNREADABLE: WarnLimit = WarnLimit::new();

/// The index key of `scope` under `prefix`.
fn index_key(prefix: &str, scope: &RevocationScope) -> String {
    format!(
        "{prefix}index:{}:{}",
        scope.kind(),
        sha256_hex(scope.value())
    )
}

/// `ZRANGE … WITHSCORES` as the script returns it (member, score, member, score, …).
fn entries(flat: Vec<String>) -> Result<Vec<ListPosition>, SessionError> {
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let Some(member) = it.next() {
        let score = it.next().ok_or(SessionError::Corrupt)?;
        out.push(ListPosition {
            access_key_id: AccessKeyId::parse(&member).map_err(|_| SessionError::Corrupt)?,
            expires_at: score.parse::<u64>().map_err(|_| SessionError::Corrupt)?,
        });
    }
    Ok(out)
}

/// What one index entry's record says.
enum Found {
    /// Alive and of the scope: listed unless a mark revokes it.
    Alive(Box<Session>),
    /// Never listable again: removed from the index.
    Dead,
    /// Not listed now (no record yet or any more, expired, unreadable): left to its expiry.
    Skip,
}

fn classify(
    entry: &ListPosition,
    raw: Option<Vec<u8>>,
    scope: &RevocationScope,
    now: u64,
) -> Found {
    let Some(raw) = raw else { return Found::Skip };
    if raw == TOMBSTONE.as_bytes() {
        return Found::Dead;
    }
    let Ok(session) = Session::from_json(&raw) else {
        if let Some(more) = UNREADABLE.admit_now() {
            tracing::warn!(
                left_out = more,
                "session store: an unreadable session record was not listed ({more} more in the last 10 s)"
            );
        }
        return Found::Skip;
    };
    if session.access_key_id != entry.access_key_id || !session.in_scope(scope) {
        return Found::Dead;
    }
    if session.is_expired(now) {
        return Found::Skip;
    }
    Found::Alive(Box::new(session))
}

impl RedisStore {
    /// The key of the index of `scope`: `Pindex:KIND:` + SHA-256 of the value, hex.
    pub fn index_key(&self, scope: &RevocationScope) -> String {
        index_key(&self.prefix, scope)
    }

    /// The index keys of `session`: one per scope it falls under.
    pub(super) fn index_keys(&self, session: &Session) -> Vec<String> {
        session
            .revocation_scopes()
            .iter()
            .map(|s| self.index_key(s))
            .collect()
    }

    /// [`crate::SessionStore::list_sessions`] (see the module documentation).
    pub(super) async fn list_page(
        &self,
        scope: &RevocationScope,
        after: Option<&ListPosition>,
        max: usize,
        now: u64,
    ) -> Result<SessionPage, SessionError> {
        check_page_size(max)?;
        let key = self.index_key(scope);
        // One more than a page: whether another page follows.
        let (pos_exp, pos_id) = after.map_or((String::new(), String::new()), |p| {
            (p.expires_at.to_string(), p.access_key_id.to_string())
        });
        let index = key.as_str();
        let flat: Vec<String> = self
            .bounded(|mut conn| async move {
                self.index_scripts
                    .list
                    .key(index)
                    .arg(now)
                    .arg(max + 1)
                    .arg(pos_exp)
                    .arg(pos_id)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        let mut entries = entries(flat)?;
        let next = (entries.len() > max)
            .then(|| entries.get(max - 1).cloned())
            .flatten();
        entries.truncate(max);
        if entries.is_empty() {
            return Ok(SessionPage {
                sessions: Vec::new(),
                next,
            });
        }

        let mut cmd = ::redis::cmd("MGET");
        for e in &entries {
            cmd.arg(self.session_key(&e.access_key_id));
        }
        let records: Vec<Option<Vec<u8>>> = self.query(cmd).await?;
        if records.len() != entries.len() {
            return Err(SessionError::Corrupt);
        }
        let mut dead = Vec::new();
        let mut alive = Vec::new();
        for (entry, raw) in entries.iter().zip(records) {
            match classify(entry, raw, scope, now) {
                Found::Alive(s) => alive.push(*s),
                Found::Dead => dead.push(entry.access_key_id.to_string()),
                Found::Skip => {}
            }
        }

        // The marks of every scope the live sessions fall under, in one read.
        let scopes: BTreeSet<RevocationScope> =
            alive.iter().flat_map(Session::revocation_scopes).collect();
        let marks: BTreeMap<RevocationScope, u64> = if scopes.is_empty() {
            BTreeMap::new()
        } else {
            let mut cmd = ::redis::cmd("MGET");
            for s in &scopes {
                cmd.arg(self.revocation_key(s));
            }
            let values: Vec<Option<String>> = self.query(cmd).await?;
            if values.len() != scopes.len() {
                return Err(SessionError::Corrupt);
            }
            scopes
                .into_iter()
                .zip(values)
                .filter_map(|(s, v)| v.map(|v| (s, v)))
                .map(|(s, v)| v.parse::<u64>().map(|at| (s, at)))
                .collect::<Result<_, _>>()
                .map_err(|_| SessionError::Corrupt)?
        };
        let mut sessions = Vec::with_capacity(alive.len());
        for s in alive {
            let revoked = s
                .revocation_scopes()
                .iter()
                .any(|scope| marks.get(scope).is_some_and(|at| s.is_revoked_by(*at)));
            if revoked {
                dead.push(s.access_key_id.to_string());
            } else {
                sessions.push(s);
            }
        }

        if !dead.is_empty() {
            // Tidying only: the page is right without it, and the next listing tries again.
            let mut cmd = ::redis::cmd("ZREM");
            cmd.arg(&key).arg(dead);
            let _ = self.query::<i64>(cmd).await;
        }
        Ok(SessionPage { sessions, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_hash_the_value() {
        let k = index_key(
            "idbroker:",
            &RevocationScope::SourceIdentity("{evil}".into()),
        );
        assert!(k.starts_with("idbroker:index:source-identity:"), "{k}");
        assert!(!k.contains('{'));
        assert_eq!(k.len(), "idbroker:index:source-identity:".len() + 64);
        assert_ne!(
            index_key("p:", &RevocationScope::Role("a".into())),
            index_key("p:", &RevocationScope::Principal("a".into()))
        );
    }

    #[test]
    fn entries_are_read_strictly() {
        let ok = entries(vec!["ASIAAAAAAAAAAAAAAAAA".into(), "1795867200".into()]).unwrap();
        assert_eq!(ok[0].expires_at, 1_795_867_200);
        assert!(entries(vec!["ASIAAAAAAAAAAAAAAAAA".into()]).is_err());
        assert!(entries(vec!["nope".into(), "1".into()]).is_err());
        assert!(entries(vec!["ASIAAAAAAAAAAAAAAAAA".into(), "1.5".into()]).is_err());
    }
}
