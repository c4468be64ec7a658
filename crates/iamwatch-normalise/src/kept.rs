//! What is computed from a string that repeats across a trail (a user agent, an API name),
//! kept per thread for the next incident with the same string.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::thread::LocalKey;

/// A thread's kept values, by the string they were computed from. Fx, not SipHash: the keys
/// are user agents of a hundred bytes and more, hashed for every incident, and nothing here
/// is worth a collision attack (the map is bounded and starts over when full).
pub(crate) type Kept<V> = RefCell<FxHashMap<String, V>>;

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
