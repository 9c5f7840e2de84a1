//! REGISTER handling: digest authentication against the configured users and call
//! boxes, then the pure registrar of `lifeline-sip`.
//!
//! Wrong passwords and unknown users both get 403, so the answer does not tell which
//! accounts exist; a stale nonce gets a fresh 401 with `stale=true`, which clients
//! retry silently.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lifeline_sip::auth::AuthError;
use lifeline_sip::transaction::{Peer, TxId};
use lifeline_sip::{HeaderName, Request, Response, SipMessage};

use crate::core::Core;

/// Wall-clock seconds, for nonce issue times.
pub(crate) fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Core {
    pub(crate) fn on_register(&mut self, now: Instant, tx: TxId, req: &Request, peer: Peer) {
        let resp = self.register_response(now, req, peer);
        self.ep.respond(now, tx, resp);
    }

    fn challenge(&mut self, req: &Request, stale: bool) -> Response {
        let mut resp = Response::for_request(req, 401, None);
        for value in self.auth.challenge(unix_secs(), stale) {
            resp.headers.push(HeaderName::WWW_AUTHENTICATE, value);
        }
        resp.set_to_tag(&self.ep.new_token());
        resp
    }

    fn register_response(&mut self, now: Instant, req: &Request, peer: Peer) -> Response {
        let Some(auth_value) = req
            .headers
            .get(&HeaderName::AUTHORIZATION)
            .map(str::to_owned)
        else {
            return self.challenge(req, false);
        };
        let config = self.config.clone();
        let lookup = |user: &str| -> Option<String> {
            config
                .find_user(user)
                .map(|u| u.password.expose().to_owned())
                .or_else(|| {
                    config
                        .find_callbox(user)
                        .map(|b| b.password.expose().to_owned())
                })
        };
        let user = match self
            .auth
            .verify(unix_secs(), req.method.as_str(), &auth_value, lookup)
        {
            Ok(user) => user,
            Err(AuthError::StaleNonce) => return self.challenge(req, true),
            Err(e @ (AuthError::BadResponse | AuthError::UnknownUser(_))) => {
                tracing::info!(peer = %peer.addr, error = %e, "registration refused");
                let mut resp = Response::for_request(req, 403, None);
                resp.set_to_tag(&self.ep.new_token());
                return resp;
            }
            Err(e) => {
                tracing::info!(peer = %peer.addr, error = %e, "registration re-challenged");
                return self.challenge(req, false);
            }
        };
        let aor_user = req.to().and_then(|t| t.uri.user_unescaped());
        if aor_user.as_deref() != Some(user.as_str()) {
            let mut resp =
                Response::for_request(req, 403, Some("Forbidden: Credentials Do Not Match To"));
            resp.set_to_tag(&self.ep.new_token());
            return resp;
        }
        // A phone registered over TCP is later reached over the same connection: the
        // transports find it by the binding's source address.
        let mut resp = self
            .registrar
            .register(now, &user, req, peer.addr, peer.transport.as_str());
        resp.set_to_tag(&self.ep.new_token());
        resp
    }
}
