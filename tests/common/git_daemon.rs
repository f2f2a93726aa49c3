//! A real `git daemon` on loopback with pushes enabled, and the `git` CLI,
//! shared by the apply tests and the apply benchmark.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the `git` CLI and returns its standard output; fails on a non-zero exit.
pub fn git(args: &[&str], cwd: &Path) -> String {
    let out = Command::new("git").args(args).current_dir(cwd).output().expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An empty bare repository, as a server administrator would create it.
pub fn init_bare(path: &Path) {
    std::fs::create_dir_all(path).expect("mkdir");
    git(&["init", "-q", "--bare"], path);
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server on port {port} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `git daemon` serving `root` with pushes enabled; stopped when dropped.
pub struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    pub fn start(root: &Path) -> Daemon {
        let port = free_port();
        // The daemon itself, not the `git` wrapper, so that killing the child stops the server.
        let exec_path = git(&["--exec-path"], root);
        let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .args(["--reuseaddr", "--export-all", "--enable=receive-pack", "--informative-errors", "--listen=127.0.0.1"])
            .arg(format!("--base-path={}", root.display()))
            .arg(format!("--port={port}"))
            .arg(root)
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        wait_for_port(port);
        Daemon { child, port }
    }

    /// The `--remote` template for this server.
    pub fn remote(&self) -> String {
        format!("git://127.0.0.1:{}/{{org}}/{{repo}}.git", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
