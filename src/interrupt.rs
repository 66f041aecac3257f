//! SIGINT and SIGTERM: remove this process's temporaries and lock files, then exit.
//!
//! No crate for signals is in the dependency tree, so the handler is installed with the C
//! library's `signal` (Unix only). It only records the signal (async-signal-safe); a watcher
//! thread polls for it, removes every file registered with the report crate's cleanup registry
//! (the `*.tmp-<pid>` files being written, the output directories' lock files) and exits with
//! 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process
//! killed by it. The registry stays locked until exit, so no new temporary appears meanwhile.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
mod imp {
    use std::os::raw::c_int;
    use std::sync::atomic::Ordering;

    pub const SIGINT: c_int = 2;
    pub const SIGTERM: c_int = 15;

    unsafe extern "C" {
        /// `sighandler_t signal(int signum, sighandler_t handler)` of the C library.
        fn signal(signum: c_int, handler: usize) -> usize;
    }

    extern "C" fn on_signal(sig: c_int) {
        super::SIGNAL.store(sig, Ordering::SeqCst);
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(c_int) as usize;
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        unsafe {
            signal(SIGINT, handler);
            signal(SIGTERM, handler);
        }
    }
}

/// Installs the handlers and starts the watcher thread (once, at the start of a command that
/// writes files).
pub fn install() {
    #[cfg(unix)]
    {
        imp::install();
        let spawned = std::thread::Builder::new()
            .name("interrupt".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_millis(20));
                    let sig = SIGNAL.load(Ordering::SeqCst);
                    if sig != 0 {
                        lrtsim_report::remove_cleanup_files_and_exit(128 + sig);
                    }
                }
            });
        if spawned.is_err() {
            eprintln!(
                "warning: cannot start the interrupt watcher; an interrupted run may leave *.tmp-<pid> files"
            );
        }
    }
}
