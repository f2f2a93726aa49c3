//! `catalyst apply` against real Git servers on loopback: `git daemon` with
//! receive-pack enabled, smart HTTP (`git http-backend` behind the small CGI
//! host below, with Basic auth and push-to-create), the same over HTTPS
//! (`socat` terminating TLS), OpenSSH's `sshd`, and `file://`. Every result is
//! checked with the `git` CLI on the servers' repositories (or by cloning
//! back) against the compiled tree, byte for byte.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use catalyst::ops::apply::{split, RepoId};
use catalyst::pipeline::render::Output as Tree;
use common::git_daemon::{free_port, git, init_bare, Daemon};
use common::{compile_ok, example_sovereigns};

/// What every branch should hold: (repository, branch) → path → bytes.
type Expected = BTreeMap<(RepoId, String), BTreeMap<String, Vec<u8>>>;

fn expected(tree: &Tree) -> Expected {
    let repos = split(tree).expect("the tree maps to repositories");
    let mut all = Expected::new();
    for repo in repos {
        for (branch, files) in repo.branches {
            let files = files.into_iter().map(|(path, bytes)| (path.to_string(), bytes.to_vec())).collect();
            all.insert((repo.id.clone(), branch), files);
        }
    }
    all
}

/// The corporate example, compiled.
fn base_tree() -> Tree {
    let sovereign = example_sovereigns().into_iter().find(|s| s.ends_with("omantel.omani.works")).expect("the omantel example");
    compile_ok(&sovereign).1
}

/// The same tree with every YAML file changed, so every branch has something to push.
fn variant(tree: &Tree, tag: &str) -> Tree {
    let mut changed = tree.clone();
    for (path, bytes) in changed.files.iter_mut() {
        if path.ends_with(".yaml") {
            bytes.extend_from_slice(format!("# {tag}\n").as_bytes());
        }
    }
    changed
}

fn write_tree(tree: &Tree, dir: &Path) -> PathBuf {
    catalyst::pipeline::emit::emit(tree, dir).expect("the tree is written");
    dir.to_path_buf()
}

/// Bare repositories for every repository of `tree` under `root`, as an administrator would create them.
fn create_server_repos(root: &Path, tree: &Tree) {
    for repo in split(tree).expect("splits") {
        init_bare(&server_repo(root, &repo.id));
    }
}

fn server_repo(root: &Path, repo: &RepoId) -> PathBuf {
    root.join(&repo.org).join(format!("{}.git", repo.name))
}

/// The tip of a branch on the server, read with the git CLI; `None` when it does not exist.
fn tip(root: &Path, repo: &RepoId, branch: &str) -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--verify", "-q", &format!("refs/heads/{branch}")])
        .current_dir(server_repo(root, repo))
        .output()
        .expect("git runs");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Every file of a branch on the server: `git ls-tree` and `git cat-file --batch`.
fn server_files(root: &Path, repo: &RepoId, branch: &str) -> Option<BTreeMap<String, Vec<u8>>> {
    tip(root, repo, branch)?;
    let dir = server_repo(root, repo);
    let listing = git(&["ls-tree", "-r", "-z", &format!("refs/heads/{branch}")], &dir);
    let entries: Vec<(String, String)> = listing
        .split('\0')
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (meta, path) = entry.split_once('\t').expect("ls-tree entry");
            (meta.split(' ').nth(2).expect("oid").to_string(), path.to_string())
        })
        .collect();
    let mut batch = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git cat-file runs");
    let input: String = entries.iter().map(|(oid, _)| format!("{oid}\n")).collect();
    let mut stdin = batch.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut output = Vec::new();
    batch.stdout.take().expect("stdout").read_to_end(&mut output).expect("read cat-file");
    writer.join().expect("writer").expect("write cat-file input");
    batch.wait().expect("cat-file ends");
    let mut files = BTreeMap::new();
    let mut rest = output.as_slice();
    for (_, path) in entries {
        let header_end = rest.iter().position(|b| *b == b'\n').expect("cat-file header");
        let header = String::from_utf8_lossy(&rest[..header_end]).into_owned();
        let size: usize = header.rsplit(' ').next().and_then(|s| s.parse().ok()).expect("cat-file size");
        let start = header_end + 1;
        files.insert(path, rest[start..start + size].to_vec());
        rest = &rest[start + size + 1..];
    }
    Some(files)
}

/// Asserts every branch of `want` is on the server, byte for byte.
fn assert_server_holds(root: &Path, want: &Expected) {
    for ((repo, branch), files) in want {
        let got = server_files(root, repo, branch).unwrap_or_else(|| panic!("{repo} has no branch {branch}"));
        assert!(&got == files, "{repo} {branch} differs from the build: {:?}", differing(&got, files));
    }
}

fn differing(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut paths: Vec<String> = got.keys().chain(want.keys()).filter(|p| got.get(*p) != want.get(*p)).cloned().collect();
    paths.dedup();
    paths
}

/// Runs the real binary; the environment gets no credential unless `env` sets one.
fn catalyst(args: &[&str], env: &[(&str, &str)]) -> Output {
    spawn(args, env).wait_with_output().expect("catalyst ends")
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_catalyst"));
    command.args(args).env_remove("CATALYST_GIT_TOKEN").env("GIT_TERMINAL_PROMPT", "0").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().expect("the catalyst binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn apply(tree: &Path, remote: &str, cache: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["apply", tree.to_str().expect("utf-8"), "--remote", remote, "--cache-dir", cache.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    catalyst(&args, &[])
}

/// A tiny CGI host for `git http-backend`: one request per connection,
/// optional Basic auth with a token, optional push-to-create.
struct HttpGit {
    port: u16,
}

const HTTP_USER: &str = "catalyst-bot";

impl HttpGit {
    fn start(root: &Path, token: Option<&str>, create_on_push: bool) -> HttpGit {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let root = root.to_path_buf();
        let auth = token.map(|t| format!("Basic {}", base64(format!("{HTTP_USER}:{t}").as_bytes())));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, auth) = (root.clone(), auth.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &root, auth.as_deref(), create_on_push);
                });
            }
        });
        HttpGit { port }
    }

    fn remote(&self) -> String {
        format!("http://127.0.0.1:{}/{{org}}/{{repo}}.git", self.port)
    }
}

fn serve(stream: TcpStream, root: &Path, auth: Option<&str>, create_on_push: bool) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let body = read_body(&mut reader, &headers)?;
    let mut out = stream;
    if auth.is_some_and(|expected| headers.get("authorization").map(String::as_str) != Some(expected)) {
        let denied = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return out.write_all(denied.as_bytes());
    }
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    if create_on_push && (query.contains("git-receive-pack") || path.ends_with("git-receive-pack")) {
        let repo = root.join(path.split(".git/").next().unwrap_or(path).trim_start_matches('/')).with_extension("git");
        if !repo.exists() {
            init_bare(&repo);
        }
    }
    let mut cgi = Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", headers.get("content-type").cloned().unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", headers.get("content-encoding").cloned().unwrap_or_default())
        .env("REMOTE_USER", HTTP_USER)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = cgi.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let mut response = Vec::new();
    cgi.stdout.take().expect("stdout").read_to_end(&mut response)?;
    let _ = writer.join();
    cgi.wait()?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| response.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (end, gap) = split.unwrap_or((0, 0));
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let payload = &response[end + gap..];
    let mut status = "200 OK".to_string();
    let mut reply = String::new();
    for header in head.lines().filter(|l| !l.is_empty()) {
        match header.strip_prefix("Status:") {
            Some(value) => status = value.trim().to_string(),
            None => reply.push_str(&format!("{header}\r\n")),
        }
    }
    out.write_all(format!("HTTP/1.1 {status}\r\n{reply}Content-Length: {}\r\nConnection: close\r\n\r\n", payload.len()).as_bytes())?;
    out.write_all(payload)
}

/// The request body, from Content-Length or chunked transfer encoding (libgit2 streams pushes chunked).
fn read_body(reader: &mut impl BufRead, headers: &BTreeMap<String, String>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if headers.get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                return Ok(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    body.resize(length, 0);
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            text.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    text
}

/// A scratch folder with the server root, the cache and built trees.
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
    cache: PathBuf,
    base: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("srv");
        fs::create_dir_all(&root).expect("mkdir");
        Scratch { root, cache: dir.path().join("cache"), base: dir.path().to_path_buf(), _dir: dir }
    }

    /// A scratch folder whose `git daemon` serves an empty repository for every repository of `tree`.
    fn serving(tree: &Tree) -> (Scratch, Daemon) {
        let scratch = Scratch::new();
        create_server_repos(&scratch.root, tree);
        let daemon = Daemon::start(&scratch.root);
        (scratch, daemon)
    }

    fn tree(&self, name: &str, tree: &Tree) -> PathBuf {
        write_tree(tree, &self.base.join(name))
    }
}

fn assert_ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
}

/// A built tree reads back as exactly the compiled files, each content read once; a file edited
/// after the build is refused even when another file holds the content it held (a branch's copy).
#[test]
fn a_built_tree_reads_back_exactly_and_an_edited_copy_is_refused() {
    let tree = base_tree();
    let scratch = Scratch::new();
    let dir = scratch.tree("built", &tree);
    // The manifest is stamped a clock tick after the files (a build writes it last), so that the
    // files count as untouched since the build and each content is read once.
    std::thread::sleep(Duration::from_millis(50));
    let manifest = fs::File::options().write(true).open(dir.join(".catalyst-manifest")).expect("the manifest");
    manifest.set_modified(std::time::SystemTime::now()).expect("stamped");
    std::thread::sleep(Duration::from_millis(50));
    let read = catalyst::ops::apply::read_built(&dir).expect("the tree reads back");
    assert_eq!(read.files, tree.files, "every file, byte for byte");
    // A file whose content another branch also holds: the last of them in path order.
    let copy = (tree.files.iter().rev())
        .find(|(path, bytes)| path.starts_with("repos/") && tree.files.iter().filter(|(_, other)| other == bytes).count() > 1)
        .map(|(path, _)| path.clone())
        .expect("a content held by two branches");
    let file = dir.join(&copy);
    fs::write(&file, [fs::read(&file).expect("read"), b"# by hand\n".to_vec()].concat()).expect("edit");
    let refused = catalyst::ops::apply::read_built(&dir).expect_err("the edit is seen");
    assert_eq!(refused.code.id, "catalyst::apply::input");
    assert!(refused.message.contains(&copy) && refused.message.contains("changed after"), "{}", refused.message);
}

#[test]
fn first_apply_matches_the_build_and_a_second_apply_pushes_nothing() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    let built = scratch.tree("a", &tree);

    let first = apply(&built, &daemon.remote(), &scratch.cache, &[]);
    assert_ok(&first);
    assert!(text(&first).contains("9 repos, 23 branches updated, 0 unchanged"), "{}", text(&first));
    let want = expected(&tree);
    // Clone back over the git protocol with the git CLI and compare every byte.
    for ((repo, branch), files) in &want {
        let clone = scratch.base.join("clones").join(repo.to_string()).join(branch);
        let url = daemon.remote().replace("{org}", &repo.org).replace("{repo}", &repo.name);
        git(&["clone", "-q", "--branch", branch, "--single-branch", &url, clone.to_str().expect("utf-8")], &scratch.base);
        let cloned: BTreeMap<String, Vec<u8>> = walkdir::WalkDir::new(&clone)
            .into_iter()
            .map(|e| e.expect("entry"))
            .filter(|e| e.file_type().is_file() && !e.path().strip_prefix(&clone).expect("inside").starts_with(".git"))
            .map(|e| {
                let path = e.path().strip_prefix(&clone).expect("inside").to_string_lossy().into_owned();
                (path, fs::read(e.path()).expect("read"))
            })
            .collect();
        assert!(&cloned == files, "{repo} {branch}: {:?}", differing(&cloned, files));
    }
    let fleet = RepoId::new("system", "fleet");
    let message = git(&["log", "-1", "--format=%cn <%ce>%n%B", "main"], &server_repo(&scratch.root, &fleet));
    assert!(message.starts_with("catalyst <catalyst@openova.io>\ncatalyst: apply omantel.omani.works to system/fleet main"), "{message}");
    assert!(message.contains("\nSource: ") && message.contains("A catalyst.lock") && message.contains("\nCatalyst-Apply: "), "{message}");

    // The branches of a repository share a root, and each descends from the branch it is promoted
    // into, so a pull request between any two can exist and a promotion's merge base is the tip above.
    let shop_dir = server_repo(&scratch.root, &RepoId::new("omantel-retail", "shop"));
    let roots: Vec<String> = ["develop", "staging", "main"].iter().map(|b| git(&["rev-list", "--max-parents=0", b], &shop_dir)).collect();
    assert!(roots.iter().all(|root| root == &roots[0] && root.lines().count() == 1), "{roots:?}");
    for (a, b) in [("develop", "staging"), ("staging", "main"), ("develop", "main")] {
        assert_eq!(git(&["merge-base", a, b], &shop_dir), git(&["rev-parse", b], &shop_dir), "{a} and {b} meet at {b}");
    }
    assert_eq!(roots[0], git(&["rev-list", "--max-parents=0", "main"], &server_repo(&scratch.root, &fleet)), "one root everywhere");

    let tips: Vec<Option<String>> = want.keys().map(|(repo, branch)| tip(&scratch.root, repo, branch)).collect();
    let second = apply(&built, &daemon.remote(), &scratch.cache, &[]);
    assert_ok(&second);
    assert!(
        text(&second).contains("0 branches updated, 23 unchanged")
            && text(&second).contains("fetched 0 objects (0 bytes), pushed 0 objects (0 bytes)"),
        "a no-change apply only lists the remote refs: {}",
        text(&second)
    );
    assert_eq!(tips, want.keys().map(|(repo, branch)| tip(&scratch.root, repo, branch)).collect::<Vec<_>>(), "no new commits");

    // Idempotence is content-based: with an empty cache the objects are fetched, and still nothing is pushed.
    let fresh = apply(&built, &daemon.remote(), &scratch.base.join("fresh-cache"), &[]);
    assert_ok(&fresh);
    assert!(text(&fresh).contains("0 branches updated, 23 unchanged") && text(&fresh).contains("pushed 0 objects"), "{}", text(&fresh));
}

#[test]
fn smart_http_with_a_token_creates_repos_and_never_shows_the_token() {
    let scratch = Scratch::new();
    let tree = base_tree();
    let token = "tok-7f3a9c1e5b2d48e0a6c4";
    let server = HttpGit::start(&scratch.root, Some(token), true);
    let built = scratch.tree("a", &tree);
    let args =
        ["apply", built.to_str().expect("utf-8"), "--remote", &server.remote(), "--cache-dir", scratch.cache.to_str().expect("utf-8")];

    let out = catalyst(&args, &[("CATALYST_GIT_TOKEN", token), ("CATALYST_GIT_USERNAME", HTTP_USER)]);
    assert_ok(&out);
    assert!(text(&out).contains("9 repos created"), "push-to-create: {}", text(&out));
    assert_server_holds(&scratch.root, &expected(&tree));
    let again = catalyst(&args, &[("CATALYST_GIT_TOKEN", token), ("CATALYST_GIT_USERNAME", HTTP_USER)]);
    assert!(text(&again).contains("0 branches updated, 23 unchanged"), "{}", text(&again));

    let wrong = "tok-wrong-0b1c2d3e4f5a6b7c";
    let denied = catalyst(&args, &[("CATALYST_GIT_TOKEN", wrong), ("CATALYST_GIT_USERNAME", HTTP_USER)]);
    assert_eq!(denied.status.code(), Some(2), "{}", text(&denied));
    assert!(text(&denied).contains("catalyst::apply::auth"), "{}", text(&denied));
    // A token written into the URL itself is masked too.
    let in_url = server.remote().replace("http://", &format!("http://{HTTP_USER}:{wrong}@"));
    let masked = catalyst(
        &["apply", built.to_str().expect("utf-8"), "--remote", &in_url, "--cache-dir", scratch.cache.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(masked.status.code(), Some(2), "{}", text(&masked));
    assert!(text(&masked).contains(":***@"), "{}", text(&masked));

    for out in [&out, &again, &denied, &masked] {
        let all = text(out);
        assert!(!all.contains(token) && !all.contains(wrong), "a token was printed:\n{all}");
    }
    for entry in walkdir::WalkDir::new(&scratch.cache).into_iter().map(|e| e.expect("entry")).filter(|e| e.file_type().is_file()) {
        let bytes = fs::read(entry.path()).expect("read cache file");
        for secret in [token, wrong] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{} holds a token", entry.path().display());
        }
    }
}

/// Commits by hand to `branch` of `repo` on the server: `edit` changes the clone's files.
fn commit_by_hand(scratch: &Scratch, daemon: &Daemon, (repo, branch): (&RepoId, &str), clone: &str, edit: impl FnOnce(&Path)) -> String {
    let work = scratch.base.join(clone);
    let url = daemon.remote().replace("{org}", &repo.org).replace("{repo}", &repo.name);
    git(&["clone", "-q", "--branch", branch, &url, work.to_str().expect("utf-8")], &scratch.base);
    edit(&work);
    git(&["add", "-A"], &work);
    git(&["-c", "user.name=Jane Ops", "-c", "user.email=jane@example.com", "commit", "-q", "-m", "by hand"], &work);
    git(&["push", "-q", "origin", branch], &work);
    tip(&scratch.root, repo, branch).expect("pushed")
}

fn edit_file(work: &Path, path: &str, edit: impl FnOnce(String) -> String) {
    let text = fs::read_to_string(work.join(path)).expect("the branch holds the file");
    fs::write(work.join(path), edit(text)).expect("write");
}

#[test]
fn commits_people_push_are_merged_and_a_conflict_is_refused_unless_leased() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    assert_ok(&apply(&scratch.tree("a", &tree), &daemon.remote(), &scratch.cache, &[]));
    let shop = RepoId::new("omantel-retail", "shop");
    let shop_dir = server_repo(&scratch.root, &shop);

    // A file the compiler does not own, and a line of one it owns that the next change leaves alone.
    let hand = commit_by_hand(&scratch, &daemon, (&shop, "staging"), "hand", |work| {
        fs::write(work.join("HOTFIX.md"), "by hand\n").expect("write");
        edit_file(work, "base/values.yaml", |text| text.replacen("replicas: 2", "replicas: 3", 1));
    });
    let with_hand = |files: &BTreeMap<String, Vec<u8>>| {
        let mut files = files.clone();
        files.insert("HOTFIX.md".into(), b"by hand\n".to_vec());
        let values = String::from_utf8(files["base/values.yaml"].clone()).expect("utf-8").replacen("replicas: 2", "replicas: 3", 1);
        files.insert("base/values.yaml".into(), values.into_bytes());
        files
    };
    for tag in ["b", "c"] {
        let next = variant(&tree, tag);
        let out = apply(&scratch.tree(tag, &next), &daemon.remote(), &scratch.cache, &[]);
        assert_ok(&out);
        let mut want = expected(&next);
        let staging = want.get_mut(&(shop.clone(), "staging".to_string())).expect("the shop has staging");
        *staging = with_hand(staging);
        assert_server_holds(&scratch.root, &want);
        assert_eq!(git(&["merge-base", "--is-ancestor", &hand, "staging"], &shop_dir), "", "the hand-made commit stays in the history");
        let again = apply(&scratch.tree(tag, &next), &daemon.remote(), &scratch.cache, &[]);
        assert!(text(&again).contains(" 0 branches updated"), "nothing new to push: {}", text(&again));
    }
    let message = git(&["log", "-1", "--format=%B", "staging"], &shop_dir);
    assert!(message.starts_with("catalyst: merge ") && message.contains("Catalyst-Merge: "), "{message}");

    // The same lines changed on both sides: the repository is refused and keeps every commit.
    let conflicting = commit_by_hand(&scratch, &daemon, (&shop, "staging"), "conflicting", |work| {
        edit_file(work, "base/helmrelease.yaml", |text| format!("{text}# jane\n"));
    });
    let d = variant(&tree, "d");
    let built = scratch.tree("d", &d);
    let refused = apply(&built, &daemon.remote(), &scratch.cache, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let all = text(&refused);
    assert!(all.contains("catalyst::apply::conflict") && all.contains("omantel-retail/shop: branch staging"), "{all}");
    assert!(
        all.contains("base/helmrelease.yaml") && all.contains(&conflicting) && all.contains("Jane Ops"),
        "names the path and the commit: {all}"
    );
    assert_eq!(tip(&scratch.root, &shop, "staging").as_deref(), Some(conflicting.as_str()), "nothing is pushed to the shop");
    let mut others = expected(&d);
    others.retain(|(repo, _), _| repo != &shop);
    assert_server_holds(&scratch.root, &others);

    // Leased, the compiled side wins where both changed; what only people changed stays.
    let lease = format!("--force-with-lease=omantel-retail/shop:staging={}", &conflicting[..10]);
    assert_ok(&apply(&built, &daemon.remote(), &scratch.cache, &[&lease]));
    let mut want = expected(&d);
    let staging = want.get_mut(&(shop.clone(), "staging".to_string())).expect("the shop has staging");
    *staging = with_hand(staging);
    assert_server_holds(&scratch.root, &want);
    assert_eq!(git(&["rev-parse", "staging^1"], &shop_dir).trim(), conflicting, "merged on top of the hand-made commit");
}

/// The corporate example with prod's bp-postgres of `analytics-db` moved from 1.4.2 to 1.5.0, the
/// version staging runs: what the compiler emits once that promotion is in the spec.
fn promoted_tree(scratch: &Scratch) -> Tree {
    let copy = scratch.base.join("promoted");
    for dir in ["sovereigns/omantel.omani.works", "blueprints"] {
        common::copy_tree(&common::repo().join(dir), &copy.join(dir));
    }
    let org = copy.join("sovereigns/omantel.omani.works/organizations/omantel-it.yaml");
    let text = fs::read_to_string(&org).expect("the IT organization");
    let moved = text.replacen(r#"prod: {version: "=1.4.2","#, r#"prod: {version: "=1.5.0","#, 1);
    assert_ne!(moved, text, "prod pins bp-postgres 1.4.2 in {}", org.display());
    fs::write(&org, moved).expect("write");
    compile_ok(&copy.join("sovereigns/omantel.omani.works")).1
}

#[test]
fn a_promotion_merges_cleanly_into_exactly_the_compiled_tree_and_applies_keep_it() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    assert_ok(&apply(&scratch.tree("a", &tree), &daemon.remote(), &scratch.cache, &[]));
    let db = RepoId::new("omantel-it", "analytics-db");
    let db_dir = server_repo(&scratch.root, &db);
    for (lower, upper) in [("develop", "staging"), ("staging", "main")] {
        assert_eq!(git(&["merge-base", "--is-ancestor", upper, lower], &db_dir), "", "{upper} is below {lower}");
    }
    let main = (db.clone(), "main".to_string());
    let promoted = promoted_tree(&scratch);
    let want = expected(&promoted)[&main].clone();
    assert!(expected(&tree)[&main] != want, "staging runs another version than main");

    // The pull request: staging merged into main by a person, with a merge commit.
    let work = scratch.base.join("promote");
    let url = daemon.remote().replace("{org}", &db.org).replace("{repo}", &db.name);
    git(&["clone", "-q", "--branch", "main", &url, work.to_str().expect("utf-8")], &scratch.base);
    git(&["-c", "user.name=Jane Ops", "-c", "user.email=jane@example.com", "merge", "-q", "--no-ff", "--no-edit", "origin/staging"], &work);
    git(&["push", "-q", "origin", "main"], &work);
    let merged = tip(&scratch.root, &db, "main").expect("pushed");
    assert!(server_files(&scratch.root, &db, "main").expect("main") == want, "the merge is exactly prod at staging's version");

    // The spec still pins prod at 1.4.2, but the compiler has nothing new for main: the promotion stays.
    let again = apply(&scratch.tree("a2", &tree), &daemon.remote(), &scratch.cache, &[]);
    assert!(text(&again).contains(" 0 branches updated"), "{}", text(&again));
    // Once the spec catches up, main already holds what it compiles to.
    assert_ok(&apply(&scratch.tree("p", &promoted), &daemon.remote(), &scratch.cache, &[]));
    assert_eq!(tip(&scratch.root, &db, "main").as_deref(), Some(merged.as_str()), "nothing to push to main");
    assert_server_holds(&scratch.root, &expected(&promoted));
}

fn promote(tree: &Path, app: &str, remote: &str, cache: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "promote",
        tree.to_str().expect("utf-8"),
        app,
        "--to",
        "prod",
        "--remote",
        remote,
        "--cache-dir",
        cache.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    catalyst(&args, &[])
}

#[test]
fn promote_prepares_a_branch_that_merges_cleanly_and_judges_the_gates() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    let built = scratch.tree("a", &tree);
    assert_ok(&apply(&built, &daemon.remote(), &scratch.cache, &[]));
    let (db, branch) = (RepoId::new("omantel-it", "analytics-db"), "promote/stg-to-prod");
    let db_dir = server_repo(&scratch.root, &db);
    let main = tip(&scratch.root, &db, "main").expect("applied");
    let promote_db = |extra: &[&str]| promote(&built, "omantel-it/analytics-db", &daemon.remote(), &scratch.cache, extra);
    // A Thursday, 14:30 UTC: within prod's change window (`0 14 * * 2,4` for 2h), years after staging changed.
    let open = "--at=2030-01-03T14:30:00Z";

    let dry = promote_db(&[open, "--dry-run"]);
    assert_ok(&dry);
    let all = text(&dry);
    for line in [
        "promote omantel-it/analytics-db: staging into main as promote/stg-to-prod (would be created)",
        "    M base/helmrelease.yaml",
        "gates of omantel-it-prod at 2030-01-03T14:30:00Z:",
        "  passes               soak: staging unchanged since ",
        "  passes               change-window: `0 14 * * 2,4` for 2h: open since 2030-01-03T14:00:00Z, until 2030-01-03T16:00:00Z",
        "  on the pull request  pr-required: 2 approval(s) of @omantel-it/it-leads, @omantel-it/platform-team, @omantel-it/security-team",
        "  not judged offline   re-score-gate: a score of 80 or more (blocking)",
    ] {
        assert!(all.contains(line), "no `{line}` in:\n{all}");
    }
    assert_eq!(tip(&scratch.root, &db, branch), None, "a dry run pushes nothing");

    assert_ok(&promote_db(&[open]));
    let prepared = tip(&scratch.root, &db, branch).expect("the promote branch is pushed");
    assert_eq!(git(&["rev-parse", &format!("{branch}^1")], &db_dir).trim(), main, "on top of main: its pull request is a fast-forward");
    let promoted = promoted_tree(&scratch);
    assert!(server_files(&scratch.root, &db, branch).expect("branch") == expected(&promoted)[&(db.clone(), "main".into())]);
    assert_eq!(tip(&scratch.root, &db, "main").as_deref(), Some(main.as_str()), "main is left to the pull request");
    let again = promote_db(&[open]);
    assert!(text(&again).contains("(unchanged)"), "{}", text(&again));
    assert_eq!(tip(&scratch.root, &db, branch).as_deref(), Some(prepared.as_str()), "the same promotion is the same commit");

    // Outside the window, and right after staging changed: the gates block (the branch stays prepared).
    let closed = promote_db(&["--at=2030-01-03T17:00:00Z"]);
    assert_eq!(closed.status.code(), Some(1), "{}", text(&closed));
    let all = text(&closed);
    assert!(all.contains("catalyst::promote::gate") && all.contains("next open 2030-01-08T14:00:00Z to 2030-01-08T16:00:00Z"), "{all}");
    let unsoaked = promote_db(&[]);
    assert_eq!(unsoaked.status.code(), Some(1), "{}", text(&unsoaked));
    assert!(text(&unsoaked).contains("soak blocks promoting omantel-it/analytics-db into omantel-it-prod: staging changed at "));

    // Where main already holds staging there is nothing to promote; where it does not run, an error.
    let shop = promote(&built, "omantel-retail/shop", &daemon.remote(), &scratch.cache, &[]);
    assert_ok(&shop);
    assert!(text(&shop).contains("nothing to promote, main already holds staging"), "{}", text(&shop));
    let nowhere =
        catalyst(&["promote", built.to_str().expect("utf-8"), "omantel-it/nothing", "--to", "prod", "--remote", &daemon.remote()], &[]);
    assert_eq!(nowhere.status.code(), Some(2), "{}", text(&nowhere));
    assert!(text(&nowhere).contains("catalyst::promote::target"), "{}", text(&nowhere));

    // A hotfix on main that changes the lines staging changed: the promotion conflicts, nothing is pushed.
    commit_by_hand(&scratch, &daemon, (&db, "main"), "hotfix", |work| {
        edit_file(work, "base/helmrelease.yaml", |text| text.replace("version: 1.4.2", "version: 1.4.3"));
    });
    let conflicting = promote_db(&[open]);
    assert_eq!(conflicting.status.code(), Some(1), "{}", text(&conflicting));
    assert!(text(&conflicting).contains("catalyst::promote::conflict") && text(&conflicting).contains("base/helmrelease.yaml"));
    assert_eq!(tip(&scratch.root, &db, branch).as_deref(), Some(prepared.as_str()), "the prepared branch stays as it was");
}

#[test]
fn prune_removes_what_the_compiler_no_longer_produces_and_nothing_else() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    // A repository and a branch the compiler does not produce.
    let other = RepoId::new("other", "untouched");
    let other_dir = server_repo(&scratch.root, &other);
    init_bare(&other_dir);
    assert_ok(&apply(&scratch.tree("a", &tree), &daemon.remote(), &scratch.cache, &[]));
    let shop = RepoId::new("omantel-retail", "shop");
    let shop_dir = server_repo(&scratch.root, &shop);
    git(&["branch", "feature", "main"], &shop_dir);
    let feature = tip(&scratch.root, &shop, "feature");

    let mut smaller = tree.clone();
    let dropped = "repos/omantel-retail/shop/develop/overlays/dev/values.yaml";
    assert!(smaller.files.remove(dropped).is_some(), "the example has {dropped}");
    let built = scratch.tree("smaller", &smaller);
    let kept = apply(&built, &daemon.remote(), &scratch.cache, &[]);
    assert!(text(&kept).contains("0 branches updated"), "without --prune nothing is removed: {}", text(&kept));
    assert!(server_files(&scratch.root, &shop, "develop").expect("branch").contains_key("overlays/dev/values.yaml"));

    let pruned = apply(&built, &daemon.remote(), &scratch.cache, &["--prune"]);
    assert_ok(&pruned);
    assert!(text(&pruned).contains("1 branches updated"), "{}", text(&pruned));
    assert_server_holds(&scratch.root, &expected(&smaller));
    let message = git(&["log", "-1", "--format=%B", "develop"], &shop_dir);
    assert!(message.contains("D overlays/dev/values.yaml") && message.contains("0 added, 0 modified, 1 removed"), "{message}");
    assert_eq!(tip(&scratch.root, &shop, "feature"), feature, "other branches are not touched");
    assert_eq!(git(&["for-each-ref"], &other_dir), "", "other repositories are not touched");
}

#[test]
fn dry_run_prints_the_plan_and_pushes_nothing() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    let sovereign = example_sovereigns().into_iter().find(|s| s.ends_with("omantel.omani.works")).expect("example");
    // A Sovereign folder is compiled first.
    let out = apply(&sovereign, &daemon.remote(), &scratch.cache, &["--dry-run"]);
    assert_ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("update system/fleet\n  main (new branch): "), "{plan}");
    assert!(plan.contains("update omantel-retail/shop\n  develop (new branch): ") && plan.contains("    A kustomization.yaml\n"), "{plan}");
    assert!(text(&out).contains("dry run, nothing pushed: 9 repos, 23 branches updated"), "{}", text(&out));
    for ((repo, branch), _) in expected(&tree) {
        assert_eq!(tip(&scratch.root, &repo, &branch), None, "{repo} {branch} was pushed by a dry run");
    }
}

/// A small deterministic PRNG (xorshift64*), so a failing seed can be replayed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Each branch is at one of the allowed contents; returns how many branches are at each.
fn assert_each_branch_in(root: &Path, allowed: &[&Expected], context: &str) -> Vec<usize> {
    let mut counts = vec![0; allowed.len()];
    for (key, _) in allowed[0].iter() {
        let got = server_files(root, &key.0, &key.1);
        let at = allowed.iter().position(|want| got.as_ref() == want.get(key));
        let at = at.unwrap_or_else(|| panic!("{context}: {} {} is at none of the expected contents", key.0, key.1));
        counts[at] += 1;
    }
    counts
}

#[test]
fn a_killed_apply_leaves_every_branch_old_or_new_and_a_rerun_converges() {
    let trees = [base_tree(), variant(&base_tree(), "b")];
    let (scratch, daemon) = Scratch::serving(&trees[0]);
    let built = [scratch.tree("a", &trees[0]), scratch.tree("b", &trees[1])];
    let wants = [expected(&trees[0]), expected(&trees[1])];
    assert_ok(&apply(&built[0], &daemon.remote(), &scratch.cache, &[]));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..8 {
        let (old, new) = (round % 2, (round + 1) % 2);
        let delay = 150 + next(&mut state) % 1_200;
        let cache = scratch.cache.to_str().expect("utf-8");
        let tree = built[new].to_str().expect("utf-8");
        let mut child = spawn(&["apply", tree, "--remote", &daemon.remote(), "--cache-dir", cache, "--prune", "--jobs", "2"], &[]);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let context = format!("round {round}, killed after {delay} ms");
        let counts = assert_each_branch_in(&scratch.root, &[&wants[old], &wants[new]], &context);
        eprintln!("{context}: {} branches old, {} new", counts[0], counts[1]);
        assert_ok(&apply(&built[new], &daemon.remote(), &scratch.cache, &["--prune"]));
        assert_server_holds(&scratch.root, &wants[new]);
    }
    fsck_all(&scratch.root);
}

/// `git fsck --strict` on every repository of the server.
fn fsck_all(root: &Path) {
    for repo in fs::read_dir(root).expect("root").flat_map(|org| fs::read_dir(org.expect("org").path()).expect("repos")) {
        git(&["fsck", "--strict", "--no-progress"], &repo.expect("repo").path());
    }
}

#[test]
fn two_concurrent_applies_never_corrupt_a_repository_and_a_rerun_converges() {
    let trees = [base_tree(), variant(&base_tree(), "b"), variant(&base_tree(), "c")];
    let (scratch, daemon) = Scratch::serving(&trees[0]);
    let built: Vec<PathBuf> = trees.iter().enumerate().map(|(i, t)| scratch.tree(&format!("t{i}"), t)).collect();
    let wants: Vec<Expected> = trees.iter().map(expected).collect();
    assert_ok(&apply(&built[0], &daemon.remote(), &scratch.cache, &[]));

    // Two machines: separate caches, different builds, the same remote.
    let runs: Vec<Child> = [1, 2]
        .iter()
        .map(|&i| {
            let cache = scratch.base.join(format!("cache-{i}"));
            let args =
                ["apply", built[i].to_str().expect("utf-8"), "--remote", &daemon.remote(), "--cache-dir", cache.to_str().expect("utf-8")];
            spawn(&args, &[])
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().expect("apply ends");
        let all = text(&out);
        match out.status.code() {
            Some(0) => {}
            Some(1) => assert!(all.contains("catalyst::apply::race") && !all.contains("catalyst::apply::foreign"), "{all}"),
            code => panic!("exit {code:?}: {all}"),
        }
    }
    let counts = assert_each_branch_in(&scratch.root, &[&wants[0], &wants[1], &wants[2]], "after two concurrent applies");
    eprintln!("after two concurrent applies: {} branches at the old build, {} at one, {} at the other", counts[0], counts[1], counts[2]);
    fsck_all(&scratch.root);
    assert_ok(&apply(&built[2], &daemon.remote(), &scratch.base.join("cache-2"), &[]));
    assert_server_holds(&scratch.root, &wants[2]);
}

#[test]
fn a_refusing_server_and_a_missing_repo_are_reported_and_the_rest_is_applied() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    let missing = RepoId::new("omantel-it", "docs");
    fs::remove_dir_all(server_repo(&scratch.root, &missing)).expect("remove one repository");
    let refusing = RepoId::new("omantel-retail", "cache");
    let hook = server_repo(&scratch.root, &refusing).join("hooks/pre-receive");
    fs::write(&hook, "#!/bin/sh\necho 'policy: pushes to this repository are frozen' >&2\nexit 1\n").expect("write hook");
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");

    let out = apply(&scratch.tree("a", &tree), &daemon.remote(), &scratch.cache, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("catalyst::apply::rejected")
            && all.contains("omantel-retail/cache")
            && all.contains("pushes to this repository are frozen"),
        "{all}"
    );
    assert!(all.contains("catalyst::apply::missing-repo") && all.contains("omantel-it/docs"), "{all}");
    assert!(all.contains("2 failed"), "{all}");
    let mut rest = expected(&tree);
    rest.retain(|(repo, _), _| repo != &missing && repo != &refusing);
    assert_server_holds(&scratch.root, &rest);
    assert_eq!(tip(&scratch.root, &refusing, "main"), None, "the refused repository is unchanged");
}

#[test]
fn an_unreachable_server_is_a_clear_error_and_changes_nothing() {
    let scratch = Scratch::new();
    let built = scratch.tree("a", &base_tree());
    let manifest = fs::read(built.join(".catalyst-manifest")).expect("manifest");
    let remote = format!("git://127.0.0.1:{}/{{org}}/{{repo}}.git", free_port());
    let out = apply(&built, &remote, &scratch.cache, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("catalyst::apply::unreachable") && all.contains("system/fleet: cannot reach git://127.0.0.1:"), "{all}");
    assert!(all.contains("9 failed"), "{all}");
    assert!(!scratch.cache.exists(), "no cache is created for a server that cannot be reached");
    assert_eq!(fs::read(built.join(".catalyst-manifest")).expect("manifest"), manifest, "the built tree is untouched");

    let bad = catalyst(&["apply", built.to_str().expect("utf-8"), "--remote", "git://127.0.0.1/{repo}.git"], &[]);
    assert_eq!(bad.status.code(), Some(2), "a usage error: {}", text(&bad));
    assert!(text(&bad).contains("catalyst::apply::remote-template"), "{}", text(&bad));
}

// ------------------------------------------------------------ atomic pushes

/// An `update` hook that refuses one branch: receive-pack runs it once per ref.
fn refuse_branch(repo_dir: &Path, branch: &str) {
    let hook = repo_dir.join("hooks/update");
    let script = format!("#!/bin/sh\nif [ \"$1\" = refs/heads/{branch} ]; then echo '{branch} is frozen' >&2; exit 1; fi\nexit 0\n");
    fs::write(&hook, script).expect("write hook");
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
}

/// `shop`'s branches, by the tips they are at on the server.
fn tips(root: &Path, repo: &RepoId) -> Vec<(String, Option<String>)> {
    ["develop", "staging", "main"].iter().map(|b| (b.to_string(), tip(root, repo, b))).collect()
}

/// One repository's server refuses one of its branches; over `remote` the
/// other branches must not land either, while a server that does not offer
/// atomic pushes updates them one by one, and says so.
fn assert_branches_land_together(root: &Path, remote: &str, cache: &Path, built: &Path) {
    let (shop, portal) = (RepoId::new("omantel-retail", "shop"), RepoId::new("omantel-retail", "portal"));
    refuse_branch(&server_repo(root, &shop), "staging");
    refuse_branch(&server_repo(root, &portal), "staging");
    git(&["config", "receive.advertiseAtomic", "false"], &server_repo(root, &portal));
    let out = apply(built, remote, cache, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("catalyst::apply::rejected") && all.contains("omantel-retail/shop") && all.contains("staging is frozen"), "{all}");
    assert!(tips(root, &shop).iter().all(|(_, tip)| tip.is_none()), "an atomic push lands no branch: {:?}", tips(root, &shop));
    let portal_tips = tips(root, &portal);
    assert!(
        portal_tips.iter().all(|(branch, tip)| tip.is_some() == (branch != "staging")),
        "without atomic pushes the other branches land: {portal_tips:?}"
    );
    assert!(all.contains("1 repos pushed branch by branch"), "{all}");
    let mut rest = expected(&base_tree());
    rest.retain(|(repo, _), _| repo != &shop && repo != &portal);
    assert_server_holds(root, &rest);
}

#[test]
fn branches_of_a_repository_land_together_over_git_and_smart_http() {
    let tree = base_tree();
    let (scratch, daemon) = Scratch::serving(&tree);
    let built = scratch.tree("a", &tree);
    assert_branches_land_together(&scratch.root, &daemon.remote(), &scratch.cache, &built);

    let http = Scratch::new();
    create_server_repos(&http.root, &tree);
    let server = HttpGit::start(&http.root, None, false);
    assert_branches_land_together(&http.root, &server.remote(), &http.cache, &built);
}

#[test]
fn a_file_remote_moves_every_branch_in_one_transaction() {
    let tree = base_tree();
    let scratch = Scratch::new();
    let remote = format!("file://{}/{{org}}/{{repo}}.git", scratch.root.display());
    let built = scratch.tree("a", &tree);
    assert_ok(&apply(&built, &remote, &scratch.cache, &[]));
    assert_server_holds(&scratch.root, &expected(&tree));

    // A lock left on one branch (a killed run, or another apply holding it): no branch moves.
    let shop = RepoId::new("omantel-retail", "shop");
    let before = tips(&scratch.root, &shop);
    let lock = server_repo(&scratch.root, &shop).join("refs/heads/staging.lock");
    fs::write(&lock, "").expect("write a lock");
    let b = variant(&tree, "b");
    let refused = apply(&scratch.tree("b", &b), &remote, &scratch.cache, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("catalyst::apply::race") && text(&refused).contains("staging.lock"), "{}", text(&refused));
    assert_eq!(tips(&scratch.root, &shop), before, "not one of shop's branches moved");
    fs::remove_file(&lock).expect("remove the lock");
    assert_ok(&apply(&scratch.tree("b", &b), &remote, &scratch.cache, &[]));
    assert_server_holds(&scratch.root, &expected(&b));
    fsck_all(&scratch.root);
}

// ------------------------------------------------------------ HTTPS and SSH

/// Runs a setup command (openssl, ssh-keygen) and fails the test when it does.
fn run(program: &str, args: &[&str], cwd: &Path) {
    let out = Command::new(program).args(args).current_dir(cwd).output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): run scripts/install-test-tools.sh, which installs the tools the tests need")
    });
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A child process that is killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// TLS in front of the smart HTTP host: `socat` terminates it with a certificate
/// for 127.0.0.1, signed by nobody but itself; returns the server and the certificate.
fn https_in_front_of(http: &HttpGit, dir: &Path) -> (Server, u16, PathBuf) {
    fs::create_dir_all(dir).expect("mkdir");
    run(
        "openssl",
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2"]
            .into_iter()
            .chain(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .collect::<Vec<_>>(),
        dir,
    );
    let port = free_port();
    let listen = format!("OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert=cert.pem,key=key.pem,verify=0");
    let child = Command::new("socat")
        .args([listen.as_str(), &format!("TCP:127.0.0.1:{}", http.port)])
        .current_dir(dir)
        .stderr(Stdio::null())
        .spawn()
        .expect("socat starts: run scripts/install-test-tools.sh");
    common::git_daemon::wait_for_port(port);
    (Server(child), port, dir.join("cert.pem"))
}

#[test]
fn https_verifies_the_server_and_keeps_the_token_secret() {
    let tree = base_tree();
    let scratch = Scratch::new();
    create_server_repos(&scratch.root, &tree);
    let token = "tok-https-4d2c9a7e1f0b";
    let http = HttpGit::start(&scratch.root, Some(token), false);
    let (_tls, port, certificate) = https_in_front_of(&http, &scratch.base.join("tls"));
    let remote = format!("https://127.0.0.1:{port}/{{org}}/{{repo}}.git");
    let built = scratch.tree("a", &tree);
    let args = ["apply", built.to_str().expect("utf-8"), "--remote", &remote, "--cache-dir", scratch.cache.to_str().expect("utf-8")];
    let credentials = [("CATALYST_GIT_TOKEN", token), ("CATALYST_GIT_USERNAME", HTTP_USER)];

    // A certificate the machine does not trust: refused before anything is sent.
    let untrusted = catalyst(&args, &[credentials[0], credentials[1], ("SSL_CERT_FILE", "/dev/null"), ("SSL_CERT_DIR", "/nonexistent")]);
    assert_eq!(untrusted.status.code(), Some(2), "{}", text(&untrusted));
    assert!(text(&untrusted).contains("catalyst::apply::unreachable") && text(&untrusted).contains("certificate"), "{}", text(&untrusted));
    assert_eq!(tip(&scratch.root, &RepoId::new("system", "fleet"), "main"), None, "nothing was pushed");

    // Trusted through OpenSSL's SSL_CERT_FILE: applied, atomically, and the token never shown.
    let cert = certificate.to_str().expect("utf-8");
    let out = catalyst(&args, &[credentials[0], credentials[1], ("SSL_CERT_FILE", cert)]);
    assert_ok(&out);
    assert!(!text(&out).contains("branch by branch"), "smart HTTP over TLS pushes atomically: {}", text(&out));
    assert_server_holds(&scratch.root, &expected(&tree));
    let again = catalyst(&args, &[credentials[0], credentials[1], ("SSL_CERT_FILE", cert)]);
    assert!(text(&again).contains("0 branches updated, 23 unchanged"), "{}", text(&again));
    for out in [&untrusted, &out, &again] {
        assert!(!text(out).contains(token), "the token was printed: {}", text(out));
    }
}

/// `sshd` on loopback for the current user, with a host key and a user key of its own.
struct Sshd {
    _server: Server,
    port: u16,
    user: String,
    /// The user's private key, for CATALYST_GIT_SSH_KEY.
    key: PathBuf,
    /// A HOME whose `.ssh/known_hosts` knows the server's host key.
    home: PathBuf,
}

impl Sshd {
    fn start(dir: &Path) -> Sshd {
        fs::create_dir_all(dir.join("home/.ssh")).expect("mkdir");
        for name in ["host_key", "user_key"] {
            run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", "catalyst-test", "-f", name], dir);
        }
        fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).expect("authorize the user key");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nPidFile {dir}/sshd.pid\nAuthorizedKeysFile {dir}/authorized_keys\n\
             PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n",
            dir = dir.display()
        );
        fs::write(dir.join("sshd_config"), config).expect("write sshd_config");
        let host_key = fs::read_to_string(dir.join("host_key.pub")).expect("host key");
        fs::write(dir.join("home/.ssh/known_hosts"), format!("[127.0.0.1]:{port} {host_key}")).expect("known_hosts");
        // sshd re-executes itself, so it is started by its absolute path.
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts: run scripts/install-test-tools.sh");
        common::git_daemon::wait_for_port(port);
        let user = String::from_utf8_lossy(&Command::new("id").arg("-un").output().expect("id runs").stdout).trim().to_string();
        Sshd { _server: Server(child), port, user, key: dir.join("user_key"), home: dir.join("home") }
    }

    fn remote(&self, root: &Path) -> String {
        format!("ssh://{}@127.0.0.1:{}{}/{{org}}/{{repo}}.git", self.user, self.port, root.display())
    }
}

#[test]
fn ssh_checks_the_host_key_and_pushes_with_the_user_key() {
    let tree = base_tree();
    let scratch = Scratch::new();
    create_server_repos(&scratch.root, &tree);
    let sshd = Sshd::start(&scratch.base.join("ssh"));
    let built = scratch.tree("a", &tree);
    let remote = sshd.remote(&scratch.root);
    let args = ["apply", built.to_str().expect("utf-8"), "--remote", &remote, "--cache-dir", scratch.cache.to_str().expect("utf-8")];
    let key = sshd.key.to_str().expect("utf-8");

    // A host the user's known_hosts does not know: refused, nothing pushed.
    let stranger = scratch.base.join("stranger");
    fs::create_dir_all(stranger.join(".ssh")).expect("mkdir");
    let unknown = catalyst(&args, &[("CATALYST_GIT_SSH_KEY", key), ("HOME", stranger.to_str().expect("utf-8"))]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(text(&unknown).contains("catalyst::apply::unreachable") && text(&unknown).contains("hostkey"), "{}", text(&unknown));
    assert_eq!(tip(&scratch.root, &RepoId::new("system", "fleet"), "main"), None, "nothing was pushed");

    let home = sshd.home.to_str().expect("utf-8");
    let out = catalyst(&args, &[("CATALYST_GIT_SSH_KEY", key), ("HOME", home)]);
    assert_ok(&out);
    assert!(!text(&out).contains("branch by branch"), "ssh pushes atomically: {}", text(&out));
    assert_server_holds(&scratch.root, &expected(&tree));
    let again = catalyst(&args, &[("CATALYST_GIT_SSH_KEY", key), ("HOME", home)]);
    assert!(text(&again).contains("0 branches updated, 23 unchanged"), "{}", text(&again));
}
