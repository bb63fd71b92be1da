//! [`News`]: what wakes the phones waiting on `/v1/push/keys` (see [`crate::push`]) when
//! keys are stored or come out. Held in the shared state, so in a module of its own below
//! both the state and the routes that announce news.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// Wakes waiting push requests.
#[derive(Debug)]
pub struct News {
    generation: watch::Sender<u64>,
    closing: AtomicBool,
}

impl Default for News {
    fn default() -> Self {
        Self {
            generation: watch::Sender::new(0),
            closing: AtomicBool::new(false),
        }
    }
}

impl News {
    /// Something may have changed: waiting requests look again.
    pub fn announce(&self) {
        self.generation
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// The server is stopping: waiting requests answer now, so that shutdown need not
    /// wait for them.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.announce();
    }

    /// A receiver that sees every announcement from now on.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}
