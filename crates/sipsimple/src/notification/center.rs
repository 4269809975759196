//! Delivery of notifications: the center, its observers' bounded queues
//! and their subscriptions (the ordering and drop-oldest rules are in the
//! parent module's documentation).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::Notify;

use super::{NotificationData, SenderId};

/// One posted notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub sender: SenderId,
    pub timestamp: SystemTime,
    pub data: NotificationData,
}

impl Notification {
    pub fn name(&self) -> &str {
        self.data.name()
    }
}

/// What an observer wants: a name, a sender, both, or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub name: Option<String>,
    pub sender: Option<SenderId>,
}

impl Filter {
    pub fn all() -> Filter {
        Filter::default()
    }

    pub fn name(name: &str) -> Filter {
        Filter {
            name: Some(name.to_owned()),
            sender: None,
        }
    }

    pub fn sender(sender: SenderId) -> Filter {
        Filter {
            name: None,
            sender: Some(sender),
        }
    }

    pub fn and_sender(mut self, sender: SenderId) -> Filter {
        self.sender = Some(sender);
        self
    }

    fn matches(&self, n: &Notification) -> bool {
        self.name.as_deref().is_none_or(|x| x == n.name())
            && self.sender.is_none_or(|s| s == n.sender)
    }
}

struct Observer {
    filter: Filter,
    queue: Arc<Queue>,
}

impl Drop for Observer {
    /// The center is gone (or forgot this observer): its reader hears
    /// the end once it has read what waits.
    fn drop(&mut self) {
        self.queue.center_gone.store(true, Ordering::SeqCst);
        self.queue.ready.notify_one();
    }
}

/// One observer's queue. Bounded, and full means the oldest waiting
/// notification is dropped for the new one (not the new one refused): an
/// observer that fell behind lost stale progress, never the final state
/// (a file transfer through a relay posts a DidDeliverChunk per 8 KiB
/// REPORT, 12800 for 100 MB, then FileTransferStreamDidFinish).
struct Queue {
    items: Mutex<VecDeque<Notification>>,
    capacity: usize,
    /// Something was queued, or the center is gone (one reader: a
    /// stored permit covers a post between its check and its wait).
    ready: Notify,
    missed: AtomicU64,
    center_gone: AtomicBool,
    subscription_gone: AtomicBool,
}

impl Queue {
    fn items(&self) -> MutexGuard<'_, VecDeque<Notification>> {
        // A poisoned lock only means a push or pop interrupted by a
        // panicking thread; a VecDeque stays consistent across either.
        crate::sync::lock(&self.items)
    }

    fn push(&self, n: Notification) {
        {
            let mut items = self.items();
            if items.len() >= self.capacity {
                items.pop_front();
                self.missed.fetch_add(1, Ordering::Relaxed);
            }
            items.push_back(n);
        }
        self.ready.notify_one();
    }
}

struct Inner {
    observers: Vec<Observer>,
    next_sender: u64,
}

/// The notification center of one application. Cloning shares it.
#[derive(Clone)]
pub struct NotificationCenter {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
}

impl std::fmt::Debug for NotificationCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationCenter")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// An observer's stream of notifications.
pub struct Subscription {
    queue: Arc<Queue>,
}

impl Subscription {
    /// The next notification; `None` once the center is gone and what
    /// it posted was read.
    pub async fn next(&mut self) -> Option<Notification> {
        loop {
            if let Some(n) = self.try_next() {
                return Some(n);
            }
            if self.queue.center_gone.load(Ordering::SeqCst) {
                // Set after the last post: one more look, then the end.
                return self.try_next();
            }
            self.queue.ready.notified().await;
        }
    }

    /// A notification if one is waiting.
    pub fn try_next(&mut self) -> Option<Notification> {
        self.queue.items().pop_front()
    }

    /// How many notifications were dropped because this observer fell
    /// behind (the oldest waiting ones, to make room for newer), since
    /// the last call (the lag report).
    pub fn take_missed(&self) -> u64 {
        self.queue.missed.swap(0, Ordering::Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.queue.subscription_gone.store(true, Ordering::SeqCst);
    }
}

impl Default for NotificationCenter {
    fn default() -> Self {
        NotificationCenter::new(1024)
    }
}

impl NotificationCenter {
    /// A center whose observers may each have `capacity` notifications
    /// waiting.
    pub fn new(capacity: usize) -> Self {
        NotificationCenter {
            inner: Arc::new(Mutex::new(Inner {
                observers: Vec::new(),
                next_sender: 1,
            })),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means an observer list mid-update by a
        // panicking thread; the list itself is still consistent.
        crate::sync::lock(&self.inner)
    }

    /// A fresh sender id for an object that posts.
    pub fn new_sender(&self) -> SenderId {
        let mut inner = self.lock();
        let id = SenderId(inner.next_sender);
        inner.next_sender += 1;
        id
    }

    /// Subscribes; dropping the subscription unsubscribes.
    pub fn subscribe(&self, filter: Filter) -> Subscription {
        let queue = Arc::new(Queue {
            items: Mutex::new(VecDeque::new()),
            capacity: self.capacity,
            ready: Notify::new(),
            missed: AtomicU64::new(0),
            center_gone: AtomicBool::new(false),
            subscription_gone: AtomicBool::new(false),
        });
        self.lock().observers.push(Observer {
            filter,
            queue: queue.clone(),
        });
        Subscription { queue }
    }

    /// Posts a notification to every matching observer, without waiting.
    pub fn post(&self, sender: SenderId, data: NotificationData) {
        let n = Notification {
            sender,
            timestamp: SystemTime::now(),
            data,
        };
        let mut inner = self.lock();
        inner.observers.retain(|o| {
            if o.queue.subscription_gone.load(Ordering::SeqCst) {
                return false;
            }
            if o.filter.matches(&n) {
                o.queue.push(n.clone());
            }
            true
        });
    }

    /// Observers currently subscribed.
    pub fn observers(&self) -> usize {
        self.lock()
            .observers
            .iter()
            .filter(|o| !o.queue.subscription_gone.load(Ordering::SeqCst))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, data: &str) -> NotificationData {
        NotificationData::Custom {
            name: name.to_owned(),
            data: data.to_owned(),
        }
    }

    #[tokio::test]
    async fn filters_by_name_sender_and_both() {
        let nc = NotificationCenter::default();
        let (a, b) = (nc.new_sender(), nc.new_sender());
        let mut by_name = nc.subscribe(Filter::name("X"));
        let mut by_sender = nc.subscribe(Filter::sender(b));
        let mut both = nc.subscribe(Filter::name("X").and_sender(b));
        let mut all = nc.subscribe(Filter::all());
        nc.post(a, custom("X", "1"));
        nc.post(b, custom("Y", "2"));
        nc.post(b, custom("X", "3"));
        let data = |s: &mut Subscription| {
            std::iter::from_fn(|| s.try_next())
                .map(|n| match n.data {
                    NotificationData::Custom { data, .. } => data,
                    _ => unreachable!(),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(data(&mut by_name), ["1", "3"]);
        assert_eq!(data(&mut by_sender), ["2", "3"]);
        assert_eq!(data(&mut both), ["3"]);
        assert_eq!(data(&mut all), ["1", "2", "3"]);
    }

    #[tokio::test]
    async fn a_slow_observer_never_blocks_and_is_told_what_it_missed() {
        let nc = NotificationCenter::new(4);
        let s = nc.new_sender();
        let mut slow = nc.subscribe(Filter::all());
        let mut fast = nc.subscribe(Filter::all());
        for i in 0..10 {
            // Posting returns at once even though `slow` reads nothing.
            nc.post(s, custom("N", &i.to_string()));
            assert!(fast.try_next().is_some());
        }
        assert_eq!(slow.take_missed(), 6);
        assert_eq!(slow.take_missed(), 0);
        // The newest four are kept, in order: the oldest made room.
        let got: Vec<_> = std::iter::from_fn(|| slow.try_next())
            .map(|n| n.data)
            .collect();
        assert_eq!(
            got,
            (6..10)
                .map(|i| custom("N", &i.to_string()))
                .collect::<Vec<_>>()
        );
    }

    /// Issue 15: a 100 MB file through Kamailio's relay posts 12800
    /// FileTransferStreamDidDeliverChunk before its DidFinish; an
    /// observer that reads none of them meanwhile (a test waiting on the
    /// other party first) must still get the DidFinish, not lose it to
    /// a full queue.
    #[tokio::test]
    async fn the_last_notification_survives_a_flood_the_observer_did_not_read() {
        let nc = NotificationCenter::new(8);
        let s = nc.new_sender();
        let mut all = nc.subscribe(Filter::all());
        for i in 0..100u64 {
            nc.post(
                s,
                NotificationData::FileTransferStreamDidDeliverChunk {
                    message_id: "m".into(),
                    code: 200,
                    reason: "OK".into(),
                    chunk: None,
                    transferred_bytes: (i + 1) * 8192,
                    file_size: 100 * 8192,
                },
            );
        }
        nc.post(
            s,
            NotificationData::FileTransferStreamDidFinish { error: None },
        );
        let mut last_progress = None;
        let mut finished = false;
        while let Some(n) = all.try_next() {
            match n.data {
                NotificationData::FileTransferStreamDidDeliverChunk {
                    transferred_bytes, ..
                } => last_progress = Some(transferred_bytes),
                NotificationData::FileTransferStreamDidFinish { error } => {
                    assert_eq!(error, None);
                    finished = true;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(finished, "the DidFinish was dropped");
        assert_eq!(last_progress, Some(100 * 8192));
        assert_eq!(all.take_missed(), 101 - 8);
    }

    #[tokio::test]
    async fn next_ends_after_what_a_dropped_center_left() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let mut sub = nc.subscribe(Filter::all());
        nc.post(s, custom("N", "1"));
        drop(nc);
        assert_eq!(sub.next().await.map(|n| n.data), Some(custom("N", "1")));
        assert!(sub.next().await.is_none());
    }

    #[tokio::test]
    async fn next_wakes_for_a_post_from_another_task() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let mut sub = nc.subscribe(Filter::all());
        let poster = nc.clone();
        let task = tokio::spawn(async move {
            for i in 0..3 {
                tokio::task::yield_now().await;
                poster.post(s, custom("N", &i.to_string()));
            }
        });
        for i in 0..3 {
            let n = sub.next().await.unwrap();
            assert_eq!(n.data, custom("N", &i.to_string()));
        }
        task.await.unwrap();
    }

    #[tokio::test]
    async fn posting_while_delivering_keeps_order_across_tasks() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let mut first = nc.subscribe(Filter::name("A"));
        let mut watcher = nc.subscribe(Filter::all());
        let relay = nc.clone();
        // An observer that reacts to A by posting B.
        let task = tokio::spawn(async move {
            while let Some(n) = first.next().await {
                if let NotificationData::Custom { data, .. } = n.data {
                    relay.post(s, custom("B", &data));
                }
            }
        });
        nc.post(s, custom("A", "1"));
        nc.post(s, custom("A", "2"));
        let mut names = Vec::new();
        while names.len() < 4 {
            let n = watcher.next().await.unwrap();
            let name = n.name().to_owned();
            let data = match n.data {
                NotificationData::Custom { data, .. } => data,
                _ => String::new(),
            };
            names.push(format!("{name}{data}"));
        }
        // Each B comes after the A that caused it; the A's keep their order.
        let pos = |x: &str| names.iter().position(|n| n == x).unwrap();
        assert!(pos("A1") < pos("A2"));
        assert!(pos("A1") < pos("B1") && pos("A2") < pos("B2"));
        assert!(pos("B1") < pos("B2"));
        drop(nc);
        task.abort();
    }

    #[test]
    fn dropped_subscriptions_are_removed() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let sub = nc.subscribe(Filter::all());
        assert_eq!(nc.observers(), 1);
        drop(sub);
        nc.post(s, custom("N", ""));
        assert_eq!(nc.observers(), 0);
    }

    #[test]
    fn spec_names() {
        let d = NotificationData::DNSLookupDidFail { error: "x".into() };
        assert_eq!(d.name(), "DNSLookupDidFail");
    }
}
