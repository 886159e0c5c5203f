//! `GET /verify/events?service=NAME`: the server-sent-events stream of revocations for the
//! verifiers of one service (docs/VERIFIER-PROTOCOL.md). The call is signed by the service
//! (SigV4, service `idbroker`, empty body) and allowed like `POST /verify/key`
//! (`idbroker:VerifyRequest` on `service/NAME`); errors are JSON. The stream relays the
//! process's [`RevocationHub`]: `hello` first, then `revoked`, `reset`, `down`, and `alive`
//! every [`ALIVE_EVERY`] while the hub's feed is up (while it is down, only an SSE comment once a
//! second, which is no event). It holds no secret, and ends after at most
//! [`STREAM_LIFE`] (the verifier connects again, maybe to another replica). At most
//! [`MAX_STREAMS`](crate::revocation_hub::MAX_STREAMS) are open per process; beyond, 503. The
//! subscription is audited once, accepted or refused.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use tokio::sync::broadcast::{self, error::RecvError};
use tracing::instrument;

use crate::http::audit::{Asked, Outcome, Who};
use crate::http::error::{ApiError, JsonError};
use crate::http::{auth, facts, Call};
use crate::revocation_hub::{HubNews, RevocationHub, StreamSlot};
use crate::state::AppState;
use crate::sts::StsError;
use crate::verification::{service_arn, valid_service};

/// The action name of the audit record, the metric and the throttle.
pub const ACTION: &str = crate::metrics::WATCH_REVOCATIONS;

/// `alive` this often while the hub's feed is up (a verifier counts its stream up while some
/// event arrives at least every second).
pub const ALIVE_EVERY: Duration = Duration::from_millis(250);

/// While the hub's feed is down, no event is sent (the verifier must hear silence), but a
/// comment ([`KEEP_ALIVE`], which SSE readers ignore) is written every this many
/// [`ALIVE_EVERY`] ticks (once a second): a stream whose client has gone is only noticed when
/// something is written to it, and would otherwise keep its place for the rest of its life.
const QUIET_TICKS: u32 = 4;

/// A stream ends after at most this long, at a random time in its last sixth (so that streams
/// opened together do not all reconnect together).
pub const STREAM_LIFE: Duration = Duration::from_secs(3600);

const ALIVE: &[u8] = b"event: alive\ndata: {}\n\n";
const RESET: &[u8] = b"event: reset\ndata: {}\n\n";
const DOWN: &[u8] = b"event: down\ndata: {}\n\n";
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// `GET /verify/events`.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub async fn verify_events(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JsonError> {
    let mut call = Call::start(&req);
    let result = async {
        let now = state.clock.now();
        let dir = state.directory();
        let caller =
            auth::authenticate_for(crate::admin::SERVICE, &req, &[], &state, &dir, now).await?;
        call.audit.who = Who::Signed(caller.clone());
        crate::http::throttle::by_principal(&state, &caller, ACTION, now).await?;
        let service = service_param(req.query_string())?;
        call.audit.asked = Asked::Events {
            service: service.clone(),
        };
        let resource = service_arn(&state.config.region, &dir.account_id, &service);
        crate::sts::authorize(
            &dir,
            &caller,
            crate::verification::ACTION,
            &resource,
            &facts(&req, &state, now),
        )?;
        let slot = state.revocations.open_stream().ok_or_else(|| {
            ApiError::new(
                "ServiceUnavailable",
                503,
                "Too many event streams are open on this server. Please try again later.",
            )
        })?;
        let relay = Relay::new(&state, slot);
        let body = futures_util::stream::unfold(relay, |mut relay| async move {
            let event = relay.next().await?;
            Some((Ok::<_, Infallible>(event), relay))
        });
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .content_type("text/event-stream")
                .insert_header(("x-amzn-RequestId", call.request_id.clone()))
                .insert_header(("Cache-Control", "no-store"))
                // Proxies that buffer answers (nginx) pass this one through as it comes.
                .insert_header(("X-Accel-Buffering", "no"))
                .streaming(body),
        )
    }
    .await;
    call.end(&state, &req, ACTION, Outcome::of(&result), None);
    result.map_err(|e| JsonError(e.with_request_id(&call.request_id)))
}

/// The one `service` parameter of the query, a credential-scope service name.
fn service_param(query: &str) -> Result<String, ApiError> {
    let mut found = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "service" {
            continue;
        }
        if found.is_some() {
            return Err(StsError::Validation("service must be given once".into()).into());
        }
        found = Some(value.into_owned());
    }
    match found {
        Some(s) if valid_service(&s) => Ok(s),
        Some(_) => {
            Err(StsError::Validation("service must be 1 to 64 of a-z, 0-9 and -".into()).into())
        }
        None => Err(StsError::MissingParameter("service".into()).into()),
    }
}

/// One stream's state: what it has still to say first, the hub's news, the heartbeat, its end.
struct Relay {
    first: Option<Bytes>,
    news: broadcast::Receiver<HubNews>,
    hub: Arc<RevocationHub>,
    tick: tokio::time::Interval,
    quiet_ticks: u32,
    end: Pin<Box<tokio::time::Sleep>>,
    _slot: StreamSlot,
}

impl Relay {
    fn new(state: &AppState, slot: StreamSlot) -> Relay {
        let hub = Arc::clone(&state.revocations);
        // Subscribed before the feed's state is read: a change in between is in the news too.
        let news = hub.subscribe();
        let hello = serde_json::json!({ "policy_version": state.directory().version() });
        let mut first = format!("event: hello\ndata: {hello}\n\n").into_bytes();
        if !hub.feed_up() {
            first.extend_from_slice(DOWN);
        }
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + ALIVE_EVERY, ALIVE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Relay {
            first: Some(Bytes::from(first)),
            news,
            hub,
            tick,
            quiet_ticks: 0,
            end: Box::pin(tokio::time::sleep(life())),
            _slot: slot,
        }
    }

    /// The next event to write; `None` when the stream ends.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            tokio::select! {
                biased;
                () = &mut self.end => return None,
                news = self.news.recv() => return match news {
                    Ok(HubNews::Revoked(e)) => {
                        Some(Bytes::from(format!("event: revoked\ndata: {}\n\n", e.to_message())))
                    }
                    // Up: whatever was revoked while the feed was down is unknown.
                    Ok(HubNews::Reset | HubNews::Up) | Err(RecvError::Lagged(_)) => {
                        Some(Bytes::from_static(RESET))
                    }
                    Ok(HubNews::Down) => Some(Bytes::from_static(DOWN)),
                    Ok(HubNews::Policies(version)) => Some(Bytes::from(format!(
                        "event: policies\ndata: {}\n\n",
                        serde_json::json!({ "policy_version": version })
                    ))),
                    // The hub is gone (never while the state lives).
                    Err(RecvError::Closed) => None,
                },
                _ = self.tick.tick() => {
                    if self.hub.feed_up() {
                        self.quiet_ticks = 0;
                        return Some(Bytes::from_static(ALIVE));
                    }
                    self.quiet_ticks += 1;
                    if self.quiet_ticks >= QUIET_TICKS {
                        self.quiet_ticks = 0;
                        return Some(Bytes::from_static(KEEP_ALIVE));
                    }
                }
            }
        }
    }
}

/// This stream's life: [`STREAM_LIFE`] less a random part of up to a sixth of it.
fn life() -> Duration {
    let sixth = STREAM_LIFE / 6;
    let spread = u64::try_from(sixth.as_millis()).unwrap_or(u64::MAX).max(1);
    // 64 random bits of a v4 UUID (the crate's thread-local CSPRNG): no generator of our own.
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    STREAM_LIFE - Duration::from_millis(random % spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_parameter() {
        assert_eq!(service_param("service=reports").unwrap(), "reports");
        assert_eq!(service_param("x=1&service=a-b").unwrap(), "a-b");
        assert_eq!(service_param("").unwrap_err().code, "MissingParameter");
        for bad in [
            "service=",
            "service=Reports",
            "service=a%2Fb",
            "service=a&service=a",
        ] {
            assert_eq!(
                service_param(bad).unwrap_err().code,
                "ValidationError",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_life_is_at_most_an_hour_and_more_than_fifty_minutes() {
        for _ in 0..100 {
            let l = life();
            assert!(l <= STREAM_LIFE && l > STREAM_LIFE * 5 / 6, "{l:?}");
        }
    }
}
