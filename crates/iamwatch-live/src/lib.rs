//! The live hub: every message published goes to every subscriber, each through its own
//! bounded queue.
//!
//! Publishing never waits. A subscriber whose queue is full is cut loose there and then (its
//! receiver ends with [`Ended::TooSlow`]) so one stalled browser tab cannot hold back the
//! pipeline or the other clients; it reconnects and resyncs from the API with `since`. A
//! subscriber that went away is removed on the next publish, so the registry never leaks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// The default message: text serialised once and shared by every subscriber. Any cheaply
/// cloned type works (the server uses its WebSocket frame type, so no copy per client).
pub type Message = Arc<str>;

#[derive(Debug, Default)]
pub struct HubCounters {
    pub published: AtomicU64,
    pub delivered: AtomicU64,
    /// Subscribers cut loose because their queue was full.
    pub dropped_slow: AtomicU64,
    /// Subscribers found gone while publishing.
    pub dropped_closed: AtomicU64,
}

#[derive(Debug)]
pub struct Hub<M = Message> {
    inner: Arc<Inner<M>>,
}

impl<M> Clone for Hub<M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

#[derive(Debug)]
struct Inner<M> {
    queue_capacity: usize,
    next_id: AtomicU64,
    subscribers: Mutex<HashMap<u64, Slot<M>>>,
    counters: HubCounters,
}

#[derive(Debug)]
struct Slot<M> {
    sender: mpsc::Sender<M>,
    /// Set when the hub cut the subscriber loose, so its receiver can say why.
    too_slow: Arc<std::sync::atomic::AtomicBool>,
}

/// Why a subscription ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Its queue filled up: it was not reading fast enough.
    TooSlow,
    /// The hub was dropped.
    Closed,
}

/// The receiving end of one subscription. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription<M = Message> {
    id: u64,
    receiver: mpsc::Receiver<M>,
    too_slow: Arc<std::sync::atomic::AtomicBool>,
    hub: std::sync::Weak<Inner<M>>,
}

impl<M> Subscription<M> {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The next message, or why there will be none.
    pub async fn next(&mut self) -> Result<M, Ended> {
        match self.receiver.recv().await {
            Some(message) => Ok(message),
            None if self.too_slow.load(Ordering::SeqCst) => Err(Ended::TooSlow),
            None => Err(Ended::Closed),
        }
    }

    /// The next message if one is already queued (never waits; `None` also when ended).
    pub fn try_next(&mut self) -> Option<M> {
        self.receiver.try_recv().ok()
    }

    /// Messages waiting in this subscriber's queue.
    pub fn backlog(&self) -> usize {
        self.receiver.len()
    }
}

impl<M> Drop for Subscription<M> {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            lock(&hub.subscribers).remove(&self.id);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the map cannot leave it inconsistent (single insert/remove calls).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<M: Clone> Hub<M> {
    /// `queue_capacity` messages may wait per subscriber before it is cut loose.
    pub fn new(queue_capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                queue_capacity: queue_capacity.max(1),
                next_id: AtomicU64::new(1),
                subscribers: Mutex::new(HashMap::new()),
                counters: HubCounters::default(),
            }),
        }
    }

    pub fn subscribe(&self) -> Subscription<M> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::channel(self.inner.queue_capacity);
        let too_slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
        lock(&self.inner.subscribers).insert(
            id,
            Slot {
                sender,
                too_slow: Arc::clone(&too_slow),
            },
        );
        Subscription {
            id,
            receiver,
            too_slow,
            hub: Arc::downgrade(&self.inner),
        }
    }

    /// Sends `message` to every subscriber without waiting; returns how many received it.
    pub fn publish(&self, message: M) -> usize {
        let counters = &self.inner.counters;
        counters.published.fetch_add(1, Ordering::Relaxed);
        let mut delivered = 0;
        lock(&self.inner.subscribers).retain(|_, slot| {
            match slot.sender.try_send(message.clone()) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    slot.too_slow.store(true, Ordering::SeqCst);
                    counters.dropped_slow.fetch_add(1, Ordering::Relaxed);
                    false // dropping the sender ends the subscriber's stream
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    counters.dropped_closed.fetch_add(1, Ordering::Relaxed);
                    false
                }
            }
        });
        counters
            .delivered
            .fetch_add(delivered as u64, Ordering::Relaxed);
        delivered
    }

    pub fn subscribers(&self) -> usize {
        lock(&self.inner.subscribers).len()
    }

    /// Messages waiting in all queues together.
    pub fn queued(&self) -> usize {
        lock(&self.inner.subscribers)
            .values()
            .map(|slot| slot.sender.max_capacity() - slot.sender.capacity())
            .sum()
    }

    pub fn counters(&self) -> &HubCounters {
        &self.inner.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Message {
        Arc::from(text)
    }

    #[tokio::test]
    async fn every_subscriber_receives_every_message_in_order() {
        let hub = Hub::new(8);
        let mut first = hub.subscribe();
        let mut second = hub.subscribe();
        assert_eq!(hub.publish(message("a")), 2);
        assert_eq!(hub.publish(message("b")), 2);
        for subscription in [&mut first, &mut second] {
            assert_eq!(&*subscription.next().await.unwrap(), "a");
            assert_eq!(&*subscription.next().await.unwrap(), "b");
        }
    }

    #[tokio::test]
    async fn a_full_queue_cuts_that_subscriber_loose_and_no_other() {
        let hub = Hub::new(2);
        let mut stalled = hub.subscribe();
        let mut reading = hub.subscribe();
        for round in 0..5 {
            hub.publish(message(&round.to_string()));
            assert_eq!(&*reading.next().await.unwrap(), round.to_string());
        }
        assert_eq!(hub.subscribers(), 1);
        assert_eq!(hub.counters().dropped_slow.load(Ordering::Relaxed), 1);
        // What was queued before the cut is still delivered, then the reason.
        assert_eq!(&*stalled.next().await.unwrap(), "0");
        assert_eq!(&*stalled.next().await.unwrap(), "1");
        assert_eq!(stalled.next().await, Err(Ended::TooSlow));
    }

    #[tokio::test]
    async fn dropped_subscriptions_leave_the_registry() {
        let hub = Hub::new(4);
        let subscriptions: Vec<_> = (0..100).map(|_| hub.subscribe()).collect();
        assert_eq!(hub.subscribers(), 100);
        drop(subscriptions);
        assert_eq!(hub.subscribers(), 0);
        assert_eq!(hub.publish(message("nobody")), 0);
    }

    #[tokio::test]
    async fn publishing_never_waits_on_a_stalled_subscriber() {
        let hub = Hub::new(1);
        let _stalled = hub.subscribe();
        // Would block forever if publish awaited queue space.
        for round in 0..10_000 {
            hub.publish(message(&round.to_string()));
        }
        assert_eq!(hub.subscribers(), 0);
    }
}
