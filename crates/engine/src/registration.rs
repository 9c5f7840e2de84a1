//! REGISTER handling: digest authentication against the configured users and call
//! boxes, then the pure registrar of `lifeline-sip`. The same authentication, as a
//! proxy challenge (407), guards requests that act for a user, such as agent feature
//! codes.
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

    fn challenge(&mut self, req: &Request, stale: bool, proxy: bool) -> Response {
        let (code, header) = if proxy {
            (407, HeaderName::PROXY_AUTHENTICATE)
        } else {
            (401, HeaderName::WWW_AUTHENTICATE)
        };
        let mut resp = Response::for_request(req, code, None);
        for value in self.auth.challenge(unix_secs(), stale) {
            resp.headers.push(header.clone(), value);
        }
        resp.set_to_tag(&self.ep.new_token());
        resp
    }

    /// The user who sent `req`, by digest (`Authorization`, or `Proxy-Authorization`
    /// when `proxy`); otherwise the challenge or refusal to answer with.
    pub(crate) fn authenticate(
        &mut self,
        req: &Request,
        peer: Peer,
        proxy: bool,
    ) -> Result<String, Response> {
        let header = if proxy {
            HeaderName::PROXY_AUTHORIZATION
        } else {
            HeaderName::AUTHORIZATION
        };
        let Some(auth_value) = req.headers.get(&header).map(str::to_owned) else {
            return Err(self.challenge(req, false, proxy));
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
        match self
            .auth
            .verify(unix_secs(), req.method.as_str(), &auth_value, lookup)
        {
            Ok(user) => Ok(user),
            Err(AuthError::StaleNonce) => Err(self.challenge(req, true, proxy)),
            Err(e @ (AuthError::BadResponse | AuthError::UnknownUser(_))) => {
                tracing::info!(peer = %peer.addr, method = %req.method.as_str(), error = %e, "authentication refused");
                let mut resp = Response::for_request(req, 403, None);
                resp.set_to_tag(&self.ep.new_token());
                Err(resp)
            }
            Err(e) => {
                tracing::info!(peer = %peer.addr, error = %e, "re-challenged");
                Err(self.challenge(req, false, proxy))
            }
        }
    }

    fn register_response(&mut self, now: Instant, req: &Request, peer: Peer) -> Response {
        let user = match self.authenticate(req, peer, false) {
            Ok(user) => user,
            Err(resp) => return resp,
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
