//! Privileges: capture needs CAP_NET_RAW (and CAP_NET_ADMIN for some devices). Started as
//! root, leakscope gives root up right after opening the capture handle; with file
//! capabilities it never needs root at all.

use nix::unistd::{Gid, Uid, User, geteuid, getgid, getuid, setgid, setgroups, setuid};
use std::path::PathBuf;

/// The unprivileged user root drops to by default.
pub const DEFAULT_USER: &str = "nobody";

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("cannot drop root privileges: no user named {0:?} (use --user NAME)")]
    NoSuchUser(String),
    #[error("cannot drop root privileges: user {user:?} is root")]
    UserIsRoot { user: String },
    #[error("cannot drop root privileges to {user:?}: {step} failed: {errno}")]
    Syscall {
        user: String,
        step: &'static str,
        errno: nix::errno::Errno,
    },
    #[error("privileges were not dropped: the process can still become root again")]
    StillRoot,
}

/// Who the process runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
}

pub fn identity() -> Identity {
    Identity {
        uid: getuid().as_raw(),
        euid: geteuid().as_raw(),
        gid: getgid().as_raw(),
    }
}

pub fn is_root() -> bool {
    geteuid().is_root()
}

/// If running as root, become `user` (default `nobody`): supplementary groups, then the
/// group, then the user (in that order: after setuid the others are no longer allowed).
/// Returns the user switched to, or `None` when not root (nothing to drop).
pub fn drop_root(user: Option<&str>) -> Result<Option<String>, PrivError> {
    if !is_root() {
        return Ok(None);
    }
    let name = user.unwrap_or(DEFAULT_USER);
    let u = User::from_name(name)
        .ok()
        .flatten()
        .ok_or_else(|| PrivError::NoSuchUser(name.to_string()))?;
    if u.uid.is_root() {
        return Err(PrivError::UserIsRoot {
            user: name.to_string(),
        });
    }
    let fail = |step| {
        move |errno| PrivError::Syscall {
            user: name.to_string(),
            step,
            errno,
        }
    };
    setgroups(&[u.gid]).map_err(fail("setgroups"))?;
    setgid(u.gid).map_err(fail("setgid"))?;
    setuid(u.uid).map_err(fail("setuid"))?;
    // Prove it: going back must fail.
    if setuid(Uid::from_raw(0)).is_ok() || setgid(Gid::from_raw(0)).is_ok() {
        return Err(PrivError::StillRoot);
    }
    Ok(Some(name.to_string()))
}

/// The path of this executable, for the `setcap` hint.
pub fn own_path() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("leakscope"))
}

/// The command that lets an unprivileged user capture with this binary.
pub fn setcap_hint() -> String {
    format!(
        "sudo setcap cap_net_raw,cap_net_admin=eip {}",
        own_path().display()
    )
}
