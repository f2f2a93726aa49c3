//! Atomic pushes over libgit2's own smart transports.
//!
//! libgit2 1.9 never asks a server for an atomic update: `atomic` is not
//! among the capabilities its push sends, so a push of several branches
//! can land some of them and not the others. [`enable`] registers, once, a
//! transport for each smart scheme (`git://`, `http://`, `https://`,
//! `ssh://` and scp-like addresses) that wraps libgit2's own subtransport
//! for that scheme. The wrapper reads the capabilities the server
//! advertises for `git-receive-pack` and, when `atomic` is among them, adds
//! it to the capability list of the push's first command. Nothing else is
//! touched: connections, credentials, certificates and the protocol itself
//! stay libgit2's. `file://` pushes do not use a subtransport; the runtime
//! updates those repositories with a ref transaction of its own
//! ([`super::git`]).
//!
//! Whether the last push on this thread asked for an atomic update is kept
//! for the caller ([`last_push_was_atomic`]): libgit2 pushes on the calling
//! thread.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::ptr;
use std::sync::Once;

use libgit2_sys as raw;

// libgit2's built-in subtransports (`include/git2/sys/transport.h`); libgit2-sys links them but does not declare them.
extern "C" {
    fn git_smart_subtransport_http(out: *mut *mut raw::git_smart_subtransport, owner: *mut raw::git_transport, param: *mut c_void)
        -> c_int;
    fn git_smart_subtransport_git(out: *mut *mut raw::git_smart_subtransport, owner: *mut raw::git_transport, param: *mut c_void) -> c_int;
    fn git_smart_subtransport_ssh(out: *mut *mut raw::git_smart_subtransport, owner: *mut raw::git_transport, param: *mut c_void) -> c_int;
}

type Constructor = unsafe extern "C" fn(*mut *mut raw::git_smart_subtransport, *mut raw::git_transport, *mut c_void) -> c_int;

/// The capability that makes receive-pack apply every ref update or none.
const ATOMIC: &[u8] = b"atomic";
/// How much of the advertisement is read for the capabilities before giving up on them.
const ADVERTISEMENT_LIMIT: usize = 64 * 1024;

thread_local! {
    /// Whether the last push on this thread asked for an atomic update (`None`: no push stream was opened).
    static LAST_PUSH: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Forgets what the last push on this thread asked for.
pub fn reset() {
    LAST_PUSH.with(|last| last.set(None));
}

/// Whether the last push on this thread asked the server for an atomic update.
pub fn last_push_was_atomic() -> bool {
    LAST_PUSH.with(Cell::get).unwrap_or(false)
}

/// Registers the wrapping transports; the first call does it, later ones do nothing.
pub fn enable() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        raw::init();
        let schemes: [(&[u8], Constructor, c_uint); 6] = [
            (b"git\0", git_smart_subtransport_git, 0),
            (b"http\0", git_smart_subtransport_http, 1),
            (b"https\0", git_smart_subtransport_http, 1),
            (b"ssh\0", git_smart_subtransport_ssh, 0),
            (b"ssh+git\0", git_smart_subtransport_ssh, 0),
            (b"git+ssh\0", git_smart_subtransport_ssh, 0),
        ];
        for (scheme, constructor, rpc) in schemes {
            // Lives for the process: libgit2 keeps the pointer in its table of transports.
            let definition = Box::leak(Box::new(raw::git_smart_subtransport_definition {
                callback: Some(wrapped_subtransport),
                rpc,
                param: constructor as *mut c_void,
            }));
            // SAFETY: `scheme` is NUL-terminated; the callback and its parameter live forever. Registration
            // happens once, before any transport of this process is created (`Once`). A scheme already
            // registered (EEXISTS) keeps its transport, which only loses the atomic capability.
            unsafe {
                raw::git_transport_register(scheme.as_ptr().cast::<c_char>(), Some(smart_transport), ptr::from_mut(definition).cast());
            }
        }
    });
}

/// libgit2's smart transport, with our subtransport definition (`param`).
extern "C" fn smart_transport(out: *mut *mut raw::git_transport, owner: *mut raw::git_remote, param: *mut c_void) -> c_int {
    // SAFETY: the arguments are libgit2's own, and `param` is a definition `enable` leaked.
    unsafe { raw::git_transport_smart(out, owner, param) }
}

/// A subtransport that wraps libgit2's built-in one for its scheme.
#[repr(C)]
struct Subtransport {
    /// First, so that libgit2's pointer to the parent is a pointer to this.
    parent: raw::git_smart_subtransport,
    inner: *mut raw::git_smart_subtransport,
    /// The wrapper of the stream libgit2 holds now: stateful transports hand the same stream out twice.
    stream: *mut Stream,
    /// Whether the server advertised `atomic` for receive-pack.
    atomic: bool,
}

#[repr(C)]
struct Stream {
    parent: raw::git_smart_subtransport_stream,
    inner: *mut raw::git_smart_subtransport_stream,
    owner: *mut Subtransport,
    service: raw::git_smart_service_t,
    /// The advertisement read so far, until its capabilities are found.
    advertisement: Option<Vec<u8>>,
    /// Whether the next write is the push's command list.
    commands_pending: bool,
}

extern "C" fn wrapped_subtransport(
    out: *mut *mut raw::git_smart_subtransport,
    owner: *mut raw::git_transport,
    param: *mut c_void,
) -> c_int {
    // SAFETY: `param` is the constructor `enable` stored in the definition, cast back to its own type.
    let constructor: Constructor = unsafe { std::mem::transmute::<*mut c_void, Constructor>(param) };
    let mut inner = ptr::null_mut();
    // SAFETY: as libgit2 calls its own constructors for this scheme, with the smart transport as owner.
    let code = unsafe { constructor(&mut inner, owner, ptr::null_mut()) };
    if code < 0 {
        return code;
    }
    let wrapper = Box::new(Subtransport {
        parent: raw::git_smart_subtransport { action: Some(action), close: Some(close), free: Some(free) },
        inner,
        stream: ptr::null_mut(),
        atomic: false,
    });
    // SAFETY: `out` is libgit2's out-parameter; it takes ownership, returned through `free`.
    unsafe { *out = Box::into_raw(wrapper).cast() };
    0
}

extern "C" fn action(
    out: *mut *mut raw::git_smart_subtransport_stream,
    subtransport: *mut raw::git_smart_subtransport,
    url: *const c_char,
    service: raw::git_smart_service_t,
) -> c_int {
    // SAFETY: libgit2 passes back the pointer `wrapped_subtransport` gave it, a `Subtransport`.
    let wrapper = unsafe { &mut *subtransport.cast::<Subtransport>() };
    let mut inner_stream = ptr::null_mut();
    // SAFETY: the inner subtransport is libgit2's own, alive until our `free`; `action` is always set.
    let code = unsafe {
        match (*wrapper.inner).action {
            Some(inner_action) => inner_action(&mut inner_stream, wrapper.inner, url, service),
            None => -1,
        }
    };
    if code < 0 {
        return code;
    }
    let pushing = matches!(service, raw::GIT_SERVICE_RECEIVEPACK);
    // SAFETY: `wrapper.stream` is null or a live `Stream` (its `free` clears it).
    if let Some(stream) = unsafe { wrapper.stream.as_mut() }.filter(|s| s.inner == inner_stream) {
        // Only when it turns into the push: libgit2 asks for it again to end the session with a flush.
        stream.commands_pending |= pushing && !matches!(stream.service, raw::GIT_SERVICE_RECEIVEPACK);
        stream.service = service;
        // SAFETY: `out` is libgit2's out-parameter.
        unsafe { *out = ptr::from_mut(stream).cast() };
        return 0;
    }
    let scanning = matches!(service, raw::GIT_SERVICE_RECEIVEPACK_LS);
    let stream = Box::new(Stream {
        parent: raw::git_smart_subtransport_stream { subtransport, read: Some(read), write: Some(write), free: Some(free_stream) },
        inner: inner_stream,
        owner: wrapper,
        service,
        advertisement: scanning.then(Vec::new),
        commands_pending: pushing,
    });
    wrapper.stream = Box::into_raw(stream);
    // SAFETY: `out` is libgit2's out-parameter; the stream is returned through `free_stream`.
    unsafe { *out = wrapper.stream.cast() };
    0
}

extern "C" fn read(stream: *mut raw::git_smart_subtransport_stream, buffer: *mut c_char, size: usize, bytes_read: *mut usize) -> c_int {
    // SAFETY: libgit2 passes back the pointer `action` gave it, a `Stream`.
    let stream = unsafe { &mut *stream.cast::<Stream>() };
    // SAFETY: the inner stream is libgit2's own and alive until our `free_stream`; `read` is always set.
    let code = unsafe {
        match (*stream.inner).read {
            Some(inner_read) => inner_read(stream.inner, buffer, size, bytes_read),
            None => -1,
        }
    };
    if code >= 0 {
        if let Some(seen) = stream.advertisement.as_mut() {
            // SAFETY: the inner read wrote `*bytes_read` bytes (at most `size`) into `buffer`.
            let read = unsafe { std::slice::from_raw_parts(buffer.cast::<u8>(), (*bytes_read).min(size)) };
            seen.extend_from_slice(read);
            if let Some(atomic) = advertises_atomic(seen) {
                // SAFETY: the owner outlives its streams (libgit2 frees streams first; `free` detaches them).
                if let Some(owner) = unsafe { stream.owner.as_mut() } {
                    owner.atomic = atomic;
                }
                stream.advertisement = None;
            }
        }
    }
    code
}

extern "C" fn write(stream: *mut raw::git_smart_subtransport_stream, buffer: *const c_char, len: usize) -> c_int {
    // SAFETY: libgit2 passes back the pointer `action` gave it, a `Stream`.
    let stream = unsafe { &mut *stream.cast::<Stream>() };
    // SAFETY: libgit2 writes `len` bytes from `buffer`.
    let data = unsafe { std::slice::from_raw_parts(buffer.cast::<u8>(), len) };
    let mut rewritten = None;
    if std::mem::take(&mut stream.commands_pending) {
        // SAFETY: as in `read`.
        let atomic = unsafe { stream.owner.as_ref() }.is_some_and(|owner| owner.atomic);
        // A push that updates nothing sends a flush alone: no command list, nothing to ask for.
        if let Some(commands) = with_atomic(data) {
            LAST_PUSH.with(|last| last.set(Some(atomic)));
            rewritten = atomic.then_some(commands);
        }
    }
    let data = rewritten.as_deref().unwrap_or(data);
    // SAFETY: the inner stream is alive until `free_stream`; `write` is always set.
    unsafe {
        match (*stream.inner).write {
            Some(inner_write) => inner_write(stream.inner, data.as_ptr().cast(), data.len()),
            None => -1,
        }
    }
}

extern "C" fn free_stream(stream: *mut raw::git_smart_subtransport_stream) {
    // SAFETY: libgit2 hands back the `Stream` `action` boxed, once, and never uses it again.
    let stream = unsafe { Box::from_raw(stream.cast::<Stream>()) };
    // SAFETY: the inner stream is libgit2's own; this is its one `free`.
    unsafe {
        if let Some(inner_free) = (*stream.inner).free {
            inner_free(stream.inner);
        }
    }
    // SAFETY: as in `read`.
    if let Some(owner) = unsafe { stream.owner.as_mut() } {
        if ptr::eq(owner.stream, &*stream) {
            owner.stream = ptr::null_mut();
        }
    }
}

extern "C" fn close(subtransport: *mut raw::git_smart_subtransport) -> c_int {
    // SAFETY: as in `action`.
    let wrapper = unsafe { &mut *subtransport.cast::<Subtransport>() };
    // SAFETY: the inner subtransport is alive until `free`.
    unsafe { (*wrapper.inner).close.map_or(0, |inner_close| inner_close(wrapper.inner)) }
}

extern "C" fn free(subtransport: *mut raw::git_smart_subtransport) {
    // SAFETY: libgit2 hands back the `Subtransport` `wrapped_subtransport` boxed, once, and never uses it again.
    let wrapper = unsafe { Box::from_raw(subtransport.cast::<Subtransport>()) };
    // SAFETY: a stream still held is detached, so that it never reaches its freed owner.
    if let Some(stream) = unsafe { wrapper.stream.as_mut() } {
        stream.owner = ptr::null_mut();
    }
    // SAFETY: the inner subtransport is libgit2's own; this is its one `free`.
    unsafe {
        if let Some(inner_free) = (*wrapper.inner).free {
            inner_free(wrapper.inner);
        }
    }
}

/// Whether the capability list of a receive-pack advertisement (its first line
/// with a NUL) holds `atomic`; `None` while that line has not been read whole.
fn advertises_atomic(seen: &[u8]) -> Option<bool> {
    let Some(nul) = seen.iter().position(|&b| b == 0) else { return (seen.len() > ADVERTISEMENT_LIMIT).then_some(false) };
    let rest = &seen[nul + 1..];
    let end = rest.iter().position(|&b| b == b'\n')?;
    Some(rest[..end].split(|&b| b == b' ').any(|capability| capability == ATOMIC))
}

/// The push's command list with `atomic` added to the capabilities of its
/// first pkt-line; `None` when the buffer is not the expected command list.
fn with_atomic(data: &[u8]) -> Option<Vec<u8>> {
    let length = usize::from_str_radix(std::str::from_utf8(data.get(..4)?).ok()?, 16).ok()?;
    let line = data.get(4..length)?;
    let body = line.strip_suffix(b"\n")?;
    if !body.contains(&0) {
        return None;
    }
    let mut out = format!("{:04x}", length + ATOMIC.len() + 1).into_bytes();
    out.extend_from_slice(body);
    out.push(b' ');
    out.extend_from_slice(ATOMIC);
    out.push(b'\n');
    out.extend_from_slice(&data[length..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_read_from_the_first_line_with_a_nul() {
        let http = b"001f# service=git-receive-pack\n0000009b1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c refs/heads/main\0report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta object-format=sha1 agent=git/2.47.3\n0000";
        assert_eq!(advertises_atomic(http), Some(true));
        assert_eq!(advertises_atomic(&http[..60]), None, "not read whole yet");
        let without =
            b"00b10000000000000000000000000000000000000000 capabilities^{}\0report-status delete-refs side-band-64k quiet ofs-delta\n0000";
        assert_eq!(advertises_atomic(without), Some(false));
        assert_eq!(
            advertises_atomic(&vec![b'x'; ADVERTISEMENT_LIMIT + 1]),
            Some(false),
            "gives up on an advertisement with no capabilities"
        );
    }

    #[test]
    fn atomic_joins_the_capabilities_of_the_first_command() {
        let old = "0".repeat(40);
        let new = "1".repeat(40);
        let first = format!("{old} {new} refs/heads/develop\0 report-status side-band-64k\n");
        let second = format!("{old} {new} refs/heads/main\n");
        let data = format!("{:04x}{first}{:04x}{second}0000PACK", first.len() + 4, second.len() + 4);
        let rewritten = String::from_utf8(with_atomic(data.as_bytes()).expect("rewritten")).expect("text");
        let first = format!("{old} {new} refs/heads/develop\0 report-status side-band-64k atomic\n");
        assert_eq!(rewritten, format!("{:04x}{first}{:04x}{second}0000PACK", first.len() + 4, second.len() + 4));
        assert_eq!(with_atomic(b"0000"), None);
        assert_eq!(with_atomic(b"zz"), None);
        assert_eq!(with_atomic(b"0009abcd\n"), None, "no capability list");
    }
}
