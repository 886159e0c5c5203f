//! What a downstream verifier reads from idbroker (docs/VERIFIER-PROTOCOL.md), from untrusted
//! bytes: a grant's JSON (`protocol::read_answer`: the caller and the policy documents, which it
//! compiles) and the event stream (`protocol::EventParser`, fed the bytes in arbitrary chunks).
//! Whatever the bytes: no panic; the parser's buffer stays bounded; a policy set that is not
//! resolved has nothing in it that could allow by mistake (everything is denied upstream).
#![no_main]

use idbroker_verify::protocol::{read_answer, EventParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_answer(data);
    let mut parser = EventParser::default();
    // The first byte picks the chunk size: events split anywhere.
    let step = usize::from(data.first().copied().unwrap_or(1)).max(1);
    for chunk in data.chunks(step) {
        parser.push(chunk);
        loop {
            match parser.next_event() {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(()) => return,
            }
        }
    }
});
