//! The detector events are judged by, replaceable while serving: `serve` reads its rule files
//! (and the GeoIP database) again on SIGHUP, so that an edited rule takes effect without a
//! restart, which would drop every live client and replay the stateful detections' recall.
//!
//! A reload that fails (a rule file that does not load, an override naming a rule that is
//! gone) changes nothing: the rules in force stay, and the failure is logged and counted. A
//! detection a user believes active must not go missing because a later edit broke a file.

use iamwatch_detect::Detector;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

#[derive(Clone)]
pub struct LiveRules {
    inner: Arc<Inner>,
}

struct Inner {
    current: RwLock<Arc<Detector>>,
    reloads: AtomicU64,
    failed_reloads: AtomicU64,
}

impl LiveRules {
    pub fn new(detector: Detector) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: RwLock::new(Arc::new(detector)),
                reloads: AtomicU64::new(0),
                failed_reloads: AtomicU64::new(0),
            }),
        }
    }

    /// The detector in force now. A request keeps the one it started with to its end, so
    /// that every record of one delivery is judged by the same rules.
    pub fn current(&self) -> Arc<Detector> {
        let current = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&current)
    }

    /// Puts the detector `build` makes in force; when it fails, keeps the one in force and
    /// returns the error. Either way the outcome is logged and counted.
    ///
    /// # Errors
    /// `build`'s error, unchanged.
    pub fn reload<E: Display>(&self, build: impl FnOnce() -> Result<Detector, E>) -> Result<(), E> {
        match build() {
            Ok(detector) => {
                let rules = detector.rules().rules().len();
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Arc::new(detector);
                self.inner.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(rules, "rules reloaded");
                Ok(())
            }
            Err(error) => {
                self.inner.failed_reloads.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %error, "rules not reloaded: the rules in force stay");
                Err(error)
            }
        }
    }

    /// Reloads that put new rules in force, and reloads that failed.
    pub fn reload_counts(&self) -> (u64, u64) {
        (
            self.inner.reloads.load(Ordering::Relaxed),
            self.inner.failed_reloads.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamwatch_detect::rules::RuleSet;
    use iamwatch_detect::DetectorConfig;

    fn detector_of(rules: RuleSet) -> Detector {
        Detector::new(DetectorConfig::default(), Arc::new(rules))
    }

    #[test]
    fn a_reload_replaces_the_detector_and_a_failed_one_keeps_it() {
        let live = LiveRules::new(Detector::default());
        let builtin = live.current().rules().rules().len();
        assert!(builtin > 0);
        let held = live.current();

        live.reload(|| Ok::<_, String>(detector_of(RuleSet::empty())))
            .unwrap();
        assert_eq!(live.current().rules().rules().len(), 0);
        assert_eq!(
            held.rules().rules().len(),
            builtin,
            "a detector taken before the reload is left whole"
        );

        let error = live
            .reload(|| Err::<Detector, _>("rules.yml: document 1: unknown anchor".to_string()))
            .unwrap_err();
        assert!(error.contains("unknown anchor"));
        assert_eq!(
            live.current().rules().rules().len(),
            0,
            "a failed reload changes nothing"
        );
        assert_eq!(live.reload_counts(), (1, 1));
    }
}
