//! Dialogs (RFC 3261 §12): the state two user agents share after an INVITE is
//! answered, and how in-dialog requests are built and matched.
//!
//! A [`Dialog`] is created on either side (`uas` when we answer, `uac` when we called
//! out) and builds every later request of the call: CSeq numbering, the route set,
//! the remote target from Contact. Incoming requests are matched to a dialog by
//! [`DialogId`] (Call-ID plus the two tags).

use crate::address::NameAddr;
use crate::header::HeaderName;
use crate::message::{Request, Response, SipMessage};
use crate::method::Method;
use crate::uri::Uri;

/// Call-ID plus local and remote tag: the key of a dialog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The id of the dialog an incoming request belongs to (its To tag is ours).
    pub fn of_incoming(req: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.call_id()?.to_owned(),
            local_tag: req.to()?.tag()?.to_owned(),
            remote_tag: req.from()?.tag()?.to_owned(),
        })
    }

    /// The id of the dialog an incoming response belongs to (its From tag is ours).
    pub fn of_response(resp: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: resp.call_id()?.to_owned(),
            local_tag: resp.from()?.tag()?.to_owned(),
            remote_tag: resp.to()?.tag()?.to_owned(),
        })
    }
}

/// One side's view of a dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialog {
    /// The dialog key.
    pub id: DialogId,
    /// Our address (with our tag).
    pub local: NameAddr,
    /// The peer's address (with its tag).
    pub remote: NameAddr,
    /// Where in-dialog requests go (the peer's Contact).
    pub remote_target: Uri,
    /// Route headers for in-dialog requests, in the order they are sent.
    pub route_set: Vec<String>,
    /// The last CSeq we used.
    pub local_seq: u32,
    /// The last CSeq the peer used.
    pub remote_seq: Option<u32>,
    /// Our Contact, put in requests we send.
    pub local_contact: String,
}

impl Dialog {
    /// The dialog we create by answering `req` (an INVITE) with `local_tag`.
    pub fn uas(req: &Request, local_tag: &str, local_contact: &str) -> Option<Dialog> {
        let mut local = req.to()?;
        local.params.set("tag", Some(local_tag));
        let remote = req.from()?;
        let remote_target = req.contacts().into_iter().next()?.uri;
        Some(Dialog {
            id: DialogId {
                call_id: req.call_id()?.to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag: remote.tag()?.to_owned(),
            },
            local,
            remote,
            remote_target,
            route_set: req
                .headers
                .list(&HeaderName::RECORD_ROUTE)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            local_seq: 0,
            remote_seq: req.cseq().map(|c| c.seq),
            local_contact: local_contact.to_owned(),
        })
    }

    /// The dialog our INVITE `req` created when `resp` (1xx with a tag, or 2xx)
    /// arrived.
    pub fn uac(req: &Request, resp: &Response) -> Option<Dialog> {
        let local = req.from()?;
        let remote = resp.to()?;
        let remote_target = resp
            .contacts()
            .into_iter()
            .next()
            .map(|c| c.uri)
            .unwrap_or_else(|| req.uri.clone());
        let mut route_set: Vec<String> = resp
            .headers
            .list(&HeaderName::RECORD_ROUTE)
            .into_iter()
            .map(str::to_owned)
            .collect();
        route_set.reverse();
        Some(Dialog {
            id: DialogId {
                call_id: req.call_id()?.to_owned(),
                local_tag: local.tag()?.to_owned(),
                remote_tag: remote.tag()?.to_owned(),
            },
            local,
            remote,
            remote_target,
            route_set,
            local_seq: req.cseq()?.seq,
            remote_seq: None,
            local_contact: req
                .headers
                .get(&HeaderName::CONTACT)
                .unwrap_or("")
                .to_owned(),
        })
    }

    /// A new in-dialog request (BYE, re-INVITE, INFO, ...) with the next CSeq. The
    /// caller's endpoint adds the Via.
    pub fn request(&mut self, method: Method) -> Request {
        self.local_seq += 1;
        let seq = self.local_seq;
        self.build(method, seq)
    }

    /// The ACK for the 2xx to our INVITE with CSeq `invite_seq` (§13.2.2.4).
    pub fn ack(&self, invite_seq: u32) -> Request {
        self.build(Method::Ack, invite_seq)
    }

    fn build(&self, method: Method, seq: u32) -> Request {
        let mut req = Request::new(method.clone(), self.remote_target.clone());
        let h = &mut req.headers;
        for r in &self.route_set {
            h.push(HeaderName::ROUTE, r.clone());
        }
        h.push(HeaderName::MAX_FORWARDS, "70");
        h.push(HeaderName::FROM, self.local.to_string());
        h.push(HeaderName::TO, self.remote.to_string());
        h.push(HeaderName::CALL_ID, self.id.call_id.clone());
        h.push(HeaderName::CSEQ, format!("{seq} {method}"));
        if !self.local_contact.is_empty() && method != Method::Bye {
            h.push(HeaderName::CONTACT, self.local_contact.clone());
        }
        req
    }

    /// Accepts an incoming in-dialog request's CSeq: false if it is lower than the last
    /// one seen (the request must then be answered 500, §12.2.2). ACK and CANCEL reuse
    /// the INVITE's number and are always accepted.
    pub fn accept_remote_seq(&mut self, req: &Request) -> bool {
        let Some(cseq) = req.cseq() else { return false };
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return true;
        }
        match self.remote_seq {
            Some(last) if cseq.seq <= last => false,
            _ => {
                self.remote_seq = Some(cseq.seq);
                true
            }
        }
    }

    /// Takes a refreshed remote target from a target-refresh request or response.
    pub fn refresh_target(&mut self, msg: &impl SipMessage) {
        if let Some(c) = msg.contacts().into_iter().next() {
            self.remote_target = c.uri;
        }
    }
}
