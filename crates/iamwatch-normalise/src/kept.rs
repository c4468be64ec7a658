//! What is computed from a string that repeats across a trail (a user agent, an API name),
//! kept per thread for the next incident with the same string.

use std::cell::RefCell;
use std::collections::HashMap;
use std::thread::LocalKey;

/// A thread's kept values, by the string they were computed from.
pub(crate) type Kept<V> = RefCell<HashMap<String, V>>;

/// The value kept in `kept` for `key`, or `compute(key)` kept there first. The map starts over
/// once it holds `capacity` keys: crude, but bounded, and a trail's strings refill it at once.
pub(crate) fn kept_or_compute<V: Clone>(
    kept: &'static LocalKey<Kept<V>>,
    capacity: usize,
    key: &str,
    compute: impl FnOnce(&str) -> V,
) -> V {
    kept.with(|kept| {
        if let Some(value) = kept.borrow().get(key) {
            return value.clone();
        }
        let value = compute(key);
        let mut kept = kept.borrow_mut();
        if kept.len() >= capacity {
            kept.clear();
        }
        kept.insert(key.to_string(), value.clone());
        value
    })
}
