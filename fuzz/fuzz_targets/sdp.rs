//! Any bytes through `sdp::parse`; an accepted description is answered (both address
//! families) and its encoding is canonical: it re-parses, and a second round changes
//! nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_sip::sdp;

fuzz_target!(|data: &[u8]| {
    let Ok(sd) = sdp::parse(data) else { return };
    if let Ok((ans, _)) = sdp::answer(&sd, "192.0.2.1", 4000, 7) {
        let wire = ans.encode();
        let back = sdp::parse(&wire).expect("our own answer must parse");
        let _ = sdp::negotiated_from_answer(&sd, &back);
    }
    let _ = sdp::answer(&sd, "2001:db8::7", 4000, 7);
    let wire = sd.encode();
    let again = sdp::parse(&wire).expect("re-encoded SDP must parse");
    assert!(again.encode() == wire, "SDP encoding is not canonical");
});
