//! Any UTF-8 through `Uri::parse`, `NameAddr::parse`, `Via::parse` and `CSeq::parse`;
//! what parses prints back to text that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_sip::{CSeq, NameAddr, Uri, Via};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Uri::parse(text) {
        let _ = u.user_unescaped();
        assert_eq!(Uri::parse(&u.to_string()).as_ref(), Ok(&u), "URI {u}");
    }
    if let Ok(a) = NameAddr::parse(text) {
        let _ = a.tag();
        assert_eq!(
            NameAddr::parse(&a.to_string()).as_ref(),
            Ok(&a),
            "name-addr {a}"
        );
    }
    if let Ok(v) = Via::parse(text) {
        let _ = (v.branch(), v.sent_by());
        assert_eq!(Via::parse(&v.to_string()).as_ref(), Ok(&v), "Via {v}");
    }
    if let Ok(c) = CSeq::parse(text) {
        assert_eq!(CSeq::parse(&c.to_string()).as_ref(), Ok(&c), "CSeq {c}");
    }
});
