//! Console login: the configured users, passwords checked against argon2 hashes, and
//! sessions.
//!
//! Each user's argon2id hash (random salt) is made from the configured password the
//! first time that user logs in, and every login is checked against the hash, so the
//! password is compared in constant work whatever it is. A session is a random 256-bit
//! token, valid 12 hours from its last use; at most [`MAX_SESSIONS`] live at once (the
//! oldest go first). After [`MAX_FAILURES`] wrong passwords in a row a user is locked
//! out for [`LOCKOUT`], which stops password guessing at the console.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use lifeline_config::{Config, Role};
use serde::Serialize;

/// How long a session lasts after its last use.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once.
pub const MAX_SESSIONS: usize = 10_000;
/// Wrong passwords in a row before a lockout.
pub const MAX_FAILURES: u32 = 5;
/// How long a lockout lasts.
pub const LOCKOUT: Duration = Duration::from_secs(60);

/// A logged-in user, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// The user id (also the SIP user name).
    pub id: String,
    /// The name shown to others.
    pub display_name: String,
    /// `agent`, `dispatcher`, `supervisor` or `admin`.
    pub role: &'static str,
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown user or wrong password (one answer for both).
    #[error("wrong user or password")]
    Refused,
    /// Too many wrong passwords; try again later.
    #[error("too many failed logins; try again in a minute")]
    LockedOut,
}

struct Account {
    info: UserInfo,
    password: String,
    hash: OnceLock<String>,
}

struct Session {
    user: String,
    last_used: Instant,
}

#[derive(Default)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

/// The users who may log in, and the live sessions.
pub struct Accounts {
    users: HashMap<String, Account>,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Agent => "agent",
        Role::Dispatcher => "dispatcher",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

/// An argon2id PHC string for `password` with a fresh random salt.
fn hash(password: &str) -> String {
    let salt_bytes: [u8; 16] = rand::random();
    let Ok(salt) = SaltString::encode_b64(&salt_bytes) else {
        return String::new();
    };
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl Accounts {
    /// The users of `config`.
    pub fn new(config: &Config) -> Accounts {
        let users = config
            .users()
            .iter()
            .map(|u| {
                let account = Account {
                    info: UserInfo {
                        id: u.id.clone(),
                        display_name: u.display_name.clone(),
                        role: role_name(u.role),
                    },
                    password: u.password.expose().to_owned(),
                    hash: OnceLock::new(),
                };
                (u.id.clone(), account)
            })
            .collect();
        Accounts {
            users,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Checks `password` for `user` and opens a session: its token and the user. This
    /// is deliberately slow (argon2): call it off the async workers.
    pub fn login(&self, user: &str, password: &str) -> Result<(String, UserInfo), LoginError> {
        let now = Instant::now();
        if self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .and_then(|f| f.locked_until)
            .is_some_and(|until| until > now)
        {
            return Err(LoginError::LockedOut);
        }
        // An unknown user costs the same argon2 work as a known one.
        let ok = match self.users.get(user) {
            Some(a) => verify(password, a.hash.get_or_init(|| hash(&a.password))),
            None => {
                static DUMMY: OnceLock<String> = OnceLock::new();
                let _ = verify(password, DUMMY.get_or_init(|| hash("not a password")));
                false
            }
        };
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(account) = self.users.get(user).filter(|_| ok) else {
            if self.users.contains_key(user) {
                let f = failures.entry(user.to_owned()).or_default();
                f.count += 1;
                if f.count >= MAX_FAILURES {
                    f.count = 0;
                    f.locked_until = Some(now + LOCKOUT);
                    tracing::warn!(%user, "console login locked after repeated failures");
                }
            }
            return Err(LoginError::Refused);
        };
        failures.remove(user);
        drop(failures);
        let token = hex::encode(rand::random::<[u8; 32]>());
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| now.saturating_duration_since(s.last_used) < SESSION_TTL);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(t, _)| t.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            token.clone(),
            Session {
                user: user.to_owned(),
                last_used: now,
            },
        );
        Ok((token, account.info.clone()))
    }

    /// The user of a live session (which is extended), or `None`.
    pub fn session(&self, token: &str) -> Option<UserInfo> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let s = sessions.get_mut(token)?;
        if now.saturating_duration_since(s.last_used) >= SESSION_TTL {
            sessions.remove(token);
            return None;
        }
        s.last_used = now;
        self.users.get(&s.user).map(|a| a.info.clone())
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn accounts() -> Accounts {
        let config =
            lifeline_config::load(std::path::Path::new("../../sip-config/lifeline.toml")).unwrap();
        Accounts::new(&config)
    }

    #[test]
    fn a_demo_agent_logs_in_with_the_sip_password_and_the_session_works() {
        let a = accounts();
        let (token, user) = a.login("1001", "pw1001").unwrap();
        assert_eq!((user.id.as_str(), user.role), ("1001", "agent"));
        assert_eq!(a.session(&token).unwrap().id, "1001");
        a.logout(&token);
        assert!(a.session(&token).is_none());
        assert!(a.session("not-a-token").is_none());
    }

    #[test]
    fn wrong_passwords_and_unknown_users_get_one_answer_and_lock_out() {
        let a = accounts();
        assert_eq!(a.login("nobody", "x"), Err(LoginError::Refused));
        for _ in 0..MAX_FAILURES {
            assert_eq!(a.login("1002", "wrong"), Err(LoginError::Refused));
        }
        assert_eq!(a.login("1002", "pw1002"), Err(LoginError::LockedOut));
    }

    #[test]
    fn the_hash_is_argon2id_and_salted() {
        let (h1, h2) = (hash("pw"), hash("pw"));
        assert!(h1.starts_with("$argon2id$"), "{h1}");
        assert_ne!(h1, h2);
        assert!(verify("pw", &h1) && !verify("pw2", &h1));
    }
}
