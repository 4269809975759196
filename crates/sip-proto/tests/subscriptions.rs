//! The RFC 6665 subscriber and notifier cores against each other, through
//! the transaction layer, on virtual time, over an in-memory network that
//! drops, duplicates and reorders datagrams (`sim_net::DatagramNetwork`).
//!
//! Node 0 is the subscriber; nodes 1 and 2 are notifiers (node 2 only
//! when the SUBSCRIBE "forks": node 1 then makes a second subscription
//! for node 2 whose 2xx a proxy would have swallowed, so only its NOTIFYs
//! reach the subscriber).

#[path = "subscriptions/sim.rs"]
mod sim;

use std::time::Duration;

use sim::{expires_of, node_of_uri, Script, Sim};
use sip_proto::headers::HeaderName;
use sip_proto::subscription::{
    SubStateValue, SubscriberEvent, SubscriptionStatus, TerminationReason,
};

#[test]
fn initial_subscribe_carries_event_expires_accept_contact() {
    let mut sim = Sim::new(1, 0.0, 0.0, 600, Script::default());
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(5));
    let initial = sim.initial_subscribes();
    assert_eq!(initial.len(), 1);
    let h = &initial[0].1.headers;
    assert_eq!(h.get_str(&HeaderName::Event), Some("presence;id=7"));
    assert_eq!(h.get_str(&HeaderName::Expires), Some("600"));
    assert_eq!(h.get_str(&HeaderName::Accept), Some("application/pidf+xml"));
    assert_eq!(
        h.get_str(&HeaderName::Contact),
        Some("<sip:alice@127.0.0.1:5060>")
    );
    assert_eq!(sim.subscriber.status(), &SubscriptionStatus::Active);
    assert_eq!(sim.notifies(), [("bob1".to_owned(), SubStateValue::Active)]);
}

#[test]
fn refreshes_before_expiry_under_loss() {
    let mut refreshed = 0;
    for seed in 1..=12u64 {
        let mut sim = Sim::new(seed, 0.2, 0.1, 120, Script::default());
        sim.subscriber.subscribe();
        sim.run_until(Duration::from_secs(1000));
        assert_eq!(
            sim.timeout_notifies, 0,
            "seed {seed}: the notifier timed the subscription out"
        );
        assert_eq!(
            sim.subscriber.status(),
            &SubscriptionStatus::Active,
            "seed {seed}: {:?}",
            sim.events
        );
        assert_eq!(
            sim.initial_subscribes().len(),
            1,
            "seed {seed}: resubscribed"
        );
        let refreshes = sim.refreshes();
        assert!(
            refreshes.len() >= 8,
            "seed {seed}: {} refreshes",
            refreshes.len()
        );
        // Each refresh goes out well before the 120 s granted run out.
        let mut last = sim.initial_subscribes()[0].0;
        for (t, r) in refreshes {
            assert_eq!(expires_of(r), 120);
            assert!(
                t - last < Duration::from_secs(100),
                "seed {seed}: refresh at {t:?} after {last:?}"
            );
            assert!(
                t - last > Duration::from_secs(60),
                "seed {seed}: refresh too early at {t:?}"
            );
            last = t;
        }
        refreshed += 1;
    }
    assert_eq!(refreshed, 12);
}

#[test]
fn notify_before_the_2xx_creates_the_dialog() {
    for seed in 1..=8u64 {
        let script = Script {
            notify_first: Some(Duration::from_secs(2)),
            ..Script::default()
        };
        let mut sim = Sim::new(seed, 0.1, 0.1, 600, script);
        sim.subscriber.subscribe();
        sim.run_until(Duration::from_millis(1500));
        // The 2xx is still held: the NOTIFY alone made the dialog active.
        assert_eq!(
            sim.subscriber.status(),
            &SubscriptionStatus::Active,
            "seed {seed}"
        );
        let dialogs: Vec<_> = sim
            .subscriber
            .dialogs()
            .map(|(d, _)| d.remote_tag.clone())
            .collect();
        assert_eq!(dialogs, ["bob1"]);
        sim.run_until(Duration::from_secs(60));
        // The 2xx then matched that dialog instead of making another.
        assert_eq!(sim.subscriber.dialogs().count(), 1, "seed {seed}");
        assert_eq!(sim.subscriber.status(), &SubscriptionStatus::Active);
    }
}

#[test]
fn forked_notifies_make_two_dialogs() {
    let script = Script {
        fork: true,
        ..Script::default()
    };
    let mut sim = Sim::new(3, 0.1, 0.1, 300, script);
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(700));
    let mut tags: Vec<_> = sim
        .subscriber
        .dialogs()
        .map(|(d, s)| (d.remote_tag.clone(), s.clone()))
        .collect();
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        tags,
        [
            ("bob1".to_owned(), SubscriptionStatus::Active),
            ("bob1f".to_owned(), SubscriptionStatus::Active)
        ]
    );
    // Both dialogs are refreshed, each at its own notifier.
    let targets: Vec<usize> = sim
        .refreshes()
        .iter()
        .map(|(_, r)| node_of_uri(r.uri_str()))
        .collect();
    assert!(targets.contains(&1) && targets.contains(&2), "{targets:?}");
    assert_eq!(sim.timeout_notifies, 0);
    // Unsubscribing ends both.
    let now = sim.now;
    sim.subscriber.unsubscribe(now);
    sim.run_until(Duration::from_secs(760));
    assert_eq!(sim.subscriber.dialogs().count(), 0);
    assert_eq!(
        sim.subscriber.status(),
        &SubscriptionStatus::Terminated {
            reason: None,
            retry_after: None
        }
    );
    assert!(sim.notifiers.iter().all(|n| n.sub.is_done()));
}

/// What the subscriber did after the notifier ended the subscription at
/// 20 s with `reason` (network `seed`, lossy): the delays between the
/// terminating NOTIFY's arrival and each new initial SUBSCRIBE.
fn after_termination(
    seed: u64,
    reason: TerminationReason,
    retry_after: Option<u32>,
) -> (Sim, Vec<Duration>) {
    let script = Script {
        terminate_at: Some((Duration::from_secs(20), reason, retry_after)),
        ..Script::default()
    };
    let mut sim = Sim::new(seed, 0.15, 0.1, 600, script);
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(300));
    let ended = sim
        .events
        .iter()
        .find_map(|(t, e)| match e {
            SubscriberEvent::Notify { state, .. } if state.value == SubStateValue::Terminated => {
                Some(*t)
            }
            _ => None,
        })
        .expect("the terminating NOTIFY arrived");
    assert!(ended >= Duration::from_secs(20));
    let delays = sim
        .initial_subscribes()
        .iter()
        .skip(1)
        .map(|(t, _)| *t - ended)
        .collect();
    (sim, delays)
}

#[test]
fn deactivated_and_timeout_resubscribe_at_once() {
    for seed in 1..=5 {
        for reason in [TerminationReason::Deactivated, TerminationReason::Timeout] {
            let (sim, again) = after_termination(seed, reason.clone(), Some(100));
            assert_eq!(again, [Duration::ZERO], "seed {seed} {reason}");
            // A new subscription: new Call-ID, and it is active again.
            let ids: Vec<_> = sim
                .initial_subscribes()
                .iter()
                .map(|(_, r)| r.headers.get_str(&HeaderName::CallId).unwrap().to_owned())
                .collect();
            assert_ne!(ids[0], ids[1]);
            assert_eq!(
                sim.subscriber.status(),
                &SubscriptionStatus::Active,
                "seed {seed} {reason}"
            );
        }
    }
}

#[test]
fn probation_and_giveup_wait_for_retry_after_or_the_default() {
    for seed in 1..=5 {
        for (reason, after, wait) in [
            (TerminationReason::Probation, Some(50), 50),
            (TerminationReason::Giveup, Some(30), 30),
            (TerminationReason::Probation, None, 90),
            (TerminationReason::Other("x-moved".into()), None, 90),
        ] {
            let (sim, again) = after_termination(seed, reason.clone(), after);
            assert_eq!(
                again,
                [Duration::from_secs(wait)],
                "seed {seed} {reason} {after:?}"
            );
            assert_eq!(sim.subscriber.status(), &SubscriptionStatus::Active);
        }
    }
}

#[test]
fn rejected_noresource_invariant_never_retry() {
    for seed in 1..=5 {
        for reason in [
            TerminationReason::Rejected,
            TerminationReason::Noresource,
            TerminationReason::Invariant,
        ] {
            let (sim, again) = after_termination(seed, reason.clone(), Some(10));
            assert!(again.is_empty(), "seed {seed} {reason}: {again:?}");
            assert_eq!(
                sim.subscriber.status(),
                &SubscriptionStatus::Terminated {
                    reason: Some(reason.clone()),
                    retry_after: None
                }
            );
            assert!(sim.subscriber.poll_timeout().is_none());
        }
    }
}

#[test]
fn interval_too_brief_retries_with_min_expires() {
    let script = Script {
        min_expires: 300,
        ..Script::default()
    };
    let mut sim = Sim::new(9, 0.2, 0.1, 60, script);
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(30));
    let initial = sim.initial_subscribes();
    assert_eq!(initial.len(), 2);
    assert_eq!(expires_of(initial[0].1), 60);
    assert_eq!(expires_of(initial[1].1), 300);
    assert_eq!(sim.subscriber.expires(), 300);
    assert_eq!(sim.subscriber.status(), &SubscriptionStatus::Active);
}

#[test]
fn pending_then_authorized_or_rejected() {
    let script = Script {
        pending_for: Some(Duration::from_secs(10)),
        ..Script::default()
    };
    let mut sim = Sim::new(11, 0.1, 0.0, 600, script.clone());
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(5));
    assert_eq!(sim.subscriber.status(), &SubscriptionStatus::Pending);
    sim.run_until(Duration::from_secs(20));
    assert_eq!(sim.subscriber.status(), &SubscriptionStatus::Active);

    let mut sim = Sim::new(
        12,
        0.1,
        0.0,
        600,
        Script {
            reject: true,
            ..script
        },
    );
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(200));
    assert_eq!(
        sim.subscriber.status(),
        &SubscriptionStatus::Terminated {
            reason: Some(TerminationReason::Rejected),
            retry_after: None
        }
    );
    assert_eq!(sim.initial_subscribes().len(), 1);
}

#[test]
fn unsubscribe_ends_with_the_final_notify() {
    let mut sim = Sim::new(13, 0.2, 0.1, 600, Script::default());
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(10));
    let now = sim.now;
    sim.subscriber.unsubscribe(now);
    sim.run_until(Duration::from_secs(60));
    let last = sim.refreshes().last().map(|(_, r)| expires_of(r));
    assert_eq!(last, Some(0));
    assert_eq!(
        sim.notifies().last(),
        Some(&("bob1".to_owned(), SubStateValue::Terminated))
    );
    assert_eq!(
        sim.subscriber.status(),
        &SubscriptionStatus::Terminated {
            reason: None,
            retry_after: None
        }
    );
    // The final NOTIFY says terminated without a reason: `timeout` would
    // tell the subscriber to subscribe again at once.
    let last_reason = sim.events.iter().rev().find_map(|(_, e)| match e {
        SubscriberEvent::Notify { state, .. } => Some(state.reason.clone()),
        _ => None,
    });
    assert_eq!(last_reason, Some(None));
    assert_eq!(sim.timeout_notifies, 0);
    assert!(sim.notifiers[0].sub.is_done());
    assert_eq!(
        sim.initial_subscribes().len(),
        1,
        "no resubscription after our own unsubscribe"
    );
}

#[test]
fn notifier_times_out_a_subscriber_that_stops_refreshing() {
    let mut sim = Sim::new(14, 0.0, 0.0, 120, Script::default());
    sim.subscriber.subscribe();
    sim.run_until(Duration::from_secs(5));
    // The subscriber vanishes: only the notifier runs on.
    let mut n = sim.notifiers.pop().unwrap();
    let at = sim.now + Duration::from_secs(110);
    assert!(n.sub.handle_timeout(at).is_none());
    let end = n.sub.poll_timeout().unwrap();
    let notify = n.sub.handle_timeout(end).unwrap();
    assert_eq!(
        notify.headers.get_str(&HeaderName::SubscriptionState),
        Some("terminated;reason=timeout")
    );
    assert!(n.sub.is_done() && n.sub.poll_timeout().is_none());
}
