//! `--timeout`: a thread that bumps the engine's epoch when the limit
//! passes (the guest's epoch deadline then traps), unless the run ended
//! first.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::Engine;

pub(crate) struct Timer {
    done: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Timer {
    pub(crate) fn start(engine: Engine, limit: Duration) -> Timer {
        let done = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = done.clone();
        std::thread::spawn(move || {
            let (lock, cvar) = &*flag;
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (guard, _) = cvar
                .wait_timeout_while(guard, limit, |d| !*d)
                .unwrap_or_else(|p| p.into_inner());
            if !*guard {
                engine.increment_epoch();
            }
        });
        Timer { done }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.done;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
    }
}
