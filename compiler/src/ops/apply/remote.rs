//! Where the repositories live and how to talk to them: the URL template,
//! credentials (environment or git credential helpers, held in memory only)
//! and the mapping of transport errors to diagnostics that never carry a secret.

use std::cell::RefCell;
use std::fmt;
use std::path::PathBuf;

use git2::{Cred, CredentialType, RemoteCallbacks};

use super::layout::RepoId;
use crate::diagnostic::codes;
use crate::diagnostic::Diagnostic;

/// Environment variables the runtime reads credentials from.
pub const TOKEN_ENV: &str = "CATALYST_GIT_TOKEN";
pub const USERNAME_ENV: &str = "CATALYST_GIT_USERNAME";
pub const SSH_KEY_ENV: &str = "CATALYST_GIT_SSH_KEY";

/// A clone URL with `{org}` and `{repo}` placeholders, e.g. `https://gitea.example/{org}/{repo}.git`.
#[derive(Clone)]
pub struct RemoteTemplate {
    template: String,
}

impl RemoteTemplate {
    pub fn parse(template: &str) -> Result<Self, Diagnostic> {
        if !template.contains("{org}") || !template.contains("{repo}") {
            return Err(Diagnostic::error(
                codes::APPLY_REMOTE_TEMPLATE,
                format!("the remote `{}` does not name both {{org}} and {{repo}}", redact(template)),
            )
            .with_help("e.g. --remote 'https://gitea.example/{org}/{repo}.git'; every repository needs its own URL"));
        }
        Ok(RemoteTemplate { template: template.to_string() })
    }

    /// The clone URL of one repository (may hold credentials: print [`redact`]ed).
    pub fn url(&self, repo: &RepoId) -> String {
        self.template.replace("{org}", &repo.org).replace("{repo}", &repo.name)
    }

    /// The template with any password removed, for messages.
    pub fn display(&self) -> String {
        redact(&self.template)
    }

    /// The passwords written into the template itself, to scrub from messages.
    fn secrets(&self) -> Option<String> {
        userinfo_password(&self.template).map(|(start, end)| self.template[start..end].to_string())
    }
}

impl fmt::Debug for RemoteTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// The byte range of the password in `scheme://user:password@host…`.
fn userinfo_password(url: &str) -> Option<(usize, usize)> {
    let authority = url.find("://")? + 3;
    let end = url[authority..].find('/').map_or(url.len(), |i| authority + i);
    let at = url[authority..end].rfind('@')? + authority;
    let colon = url[authority..at].find(':')? + authority;
    Some((colon + 1, at))
}

/// `url` without the password of its user information.
pub fn redact(url: &str) -> String {
    match userinfo_password(url) {
        Some((start, end)) => format!("{}***{}", &url[..start], &url[end..]),
        None => url.to_string(),
    }
}

/// The local folder of a `file://` URL or a plain path: there the runtime can create missing repositories itself.
pub fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(path) = url.strip_prefix("file://") {
        return Some(PathBuf::from(path));
    }
    let scp_like = url.split_once(':').is_some_and(|(host, _)| !host.contains('/'));
    (!url.contains("://") && !scp_like).then(|| PathBuf::from(url))
}

/// Credentials from the environment; they live in memory only.
#[derive(Clone, Default)]
pub struct Credentials {
    pub username: Option<String>,
    pub token: Option<String>,
    pub ssh_key: Option<PathBuf>,
    /// Every secret value known, scrubbed from every message.
    secrets: Vec<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("token", &self.token.as_ref().map(|_| "***")).finish()
    }
}

impl Credentials {
    /// Reads `CATALYST_GIT_USERNAME`, `CATALYST_GIT_TOKEN` and `CATALYST_GIT_SSH_KEY`.
    pub fn from_env(template: &RemoteTemplate) -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let token = var(TOKEN_ENV);
        let secrets = token.iter().cloned().chain(template.secrets()).collect();
        Credentials { username: var(USERNAME_ENV), token, ssh_key: var(SSH_KEY_ENV).map(PathBuf::from), secrets }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().filter(|s| !s.is_empty()).fold(redact(text), |text, secret| text.replace(secret.as_str(), "***"))
    }
}

/// What was sent and received, measured by libgit2's transfer progress.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub fetched_objects: usize,
    pub fetched_bytes: usize,
    pub pushed_objects: usize,
    pub pushed_bytes: usize,
}

impl Transfer {
    pub fn add(&mut self, other: Transfer) {
        self.fetched_objects += other.fetched_objects;
        self.fetched_bytes += other.fetched_bytes;
        self.pushed_objects += other.pushed_objects;
        self.pushed_bytes += other.pushed_bytes;
    }
}

/// What the server said during one push.
#[derive(Default)]
pub struct PushLog {
    /// `remote:` lines (hook output), for the diagnostic when the server refuses.
    pub messages: String,
    /// Refs the server did not update, with its reason.
    pub rejected: Vec<(String, String)>,
    pub transfer: Transfer,
}

/// Callbacks offering each kind of credential once: libgit2 asks again after
/// a refusal, and a second offer of the same secret would loop forever.
pub fn callbacks<'a>(credentials: &'a Credentials, log: Option<&'a RefCell<PushLog>>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let mut offered: Vec<CredentialType> = Vec::new();
    let mut helper_tried = false;
    callbacks.credentials(move |url, from_url, allowed| {
        let username = credentials.username.as_deref().or(from_url).unwrap_or("git");
        let mut offer = |kind: CredentialType| {
            let fresh = allowed.contains(kind) && !offered.contains(&kind);
            if fresh {
                offered.push(kind);
            }
            fresh
        };
        if offer(CredentialType::USERNAME) {
            return Cred::username(username);
        }
        if offer(CredentialType::SSH_KEY) {
            return match &credentials.ssh_key {
                Some(key) => Cred::ssh_key(username, None, key, None),
                None => Cred::ssh_key_from_agent(username),
            };
        }
        if let Some(token) = credentials.token.as_deref().filter(|_| offer(CredentialType::USER_PASS_PLAINTEXT)) {
            return Cred::userpass_plaintext(credentials.username.as_deref().or(from_url).unwrap_or("catalyst"), token);
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) && !helper_tried {
            helper_tried = true;
            if let Ok(cred) = git2::Config::open_default().and_then(|config| Cred::credential_helper(&config, url, from_url)) {
                return Ok(cred);
            }
        }
        Err(git2::Error::new(
            git2::ErrorCode::Auth,
            git2::ErrorClass::Callback,
            format!("authentication failed: no accepted credentials (set {TOKEN_ENV}, configure a git credential helper or an ssh-agent)"),
        ))
    });
    if let Some(log) = log {
        callbacks.sideband_progress(move |text| {
            log.borrow_mut().messages.push_str(&String::from_utf8_lossy(text));
            true
        });
        callbacks.push_transfer_progress(move |_, total, bytes| {
            let transfer = &mut log.borrow_mut().transfer;
            transfer.pushed_objects = total;
            transfer.pushed_bytes = bytes;
        });
        callbacks.push_update_reference(move |name, status| {
            if let Some(reason) = status {
                log.borrow_mut().rejected.push((name.to_string(), reason.to_string()));
            }
            Ok(())
        });
    }
    callbacks
}

/// How a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The repository is not there (or not exported).
    NotFound,
    Auth,
    Unreachable,
}

pub fn classify(error: &git2::Error) -> Failure {
    let message = error.message().to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| message.contains(w));
    if error.code() == git2::ErrorCode::Auth || any(&["authentication", "credentials", "401", "403"]) {
        Failure::Auth
    } else if error.code() == git2::ErrorCode::NotFound
        || any(&[
            "404",
            "not found",
            "not exported",
            "no such repository",
            "does not appear to be a git repository",
            "could not find repository",
            "failed to resolve path",
        ])
    {
        Failure::NotFound
    } else {
        Failure::Unreachable
    }
}

/// The diagnostic for a repository the runtime could not talk to.
pub fn connection_error(repo: &RepoId, url: &str, error: &git2::Error, credentials: &Credentials) -> Diagnostic {
    let detail = credentials.scrub(error.message());
    let url = credentials.scrub(url);
    match classify(error) {
        Failure::Auth => Diagnostic::error(codes::APPLY_AUTH, format!("{repo}: the server at {url} refused the credentials: {detail}"))
            .with_help(format!("set {TOKEN_ENV} (and {USERNAME_ENV}), or configure a git credential helper or ssh-agent")),
        Failure::NotFound => missing_repo(repo, &url),
        Failure::Unreachable => Diagnostic::error(codes::APPLY_UNREACHABLE, format!("{repo}: cannot reach {url}: {detail}")).with_help(
            "check the --remote template, the network and that the Git server is running; nothing was pushed to this repository",
        ),
    }
}

pub fn missing_repo(repo: &RepoId, url: &str) -> Diagnostic {
    Diagnostic::error(
        codes::APPLY_MISSING_REPO,
        format!("{repo}: the repository {url} does not exist and the server did not create it on push"),
    )
    .with_help("create the repository on the server (or enable push-to-create), then apply again")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_need_both_placeholders_and_never_show_passwords() {
        assert!(RemoteTemplate::parse("https://gitea.example/{repo}.git").is_err());
        let template = RemoteTemplate::parse("https://bot:s3cret@gitea.example/{org}/{repo}.git").expect("valid");
        assert_eq!(template.url(&RepoId::new("acme", "shop")), "https://bot:s3cret@gitea.example/acme/shop.git");
        assert_eq!(template.display(), "https://bot:***@gitea.example/{org}/{repo}.git");
        assert_eq!(redact("git://host/a/b.git"), "git://host/a/b.git");
        let credentials = Credentials::from_env(&template);
        assert_eq!(credentials.scrub("failed for s3cret"), "failed for ***");
    }

    #[test]
    fn local_paths_are_file_urls_and_plain_paths() {
        assert_eq!(local_path("file:///srv/git/a/b.git"), Some(PathBuf::from("/srv/git/a/b.git")));
        assert_eq!(local_path("/srv/git/a/b.git"), Some(PathBuf::from("/srv/git/a/b.git")));
        assert_eq!(local_path("git@host:a/b.git"), None);
        assert_eq!(local_path("ssh://host/a/b.git"), None);
    }
}
