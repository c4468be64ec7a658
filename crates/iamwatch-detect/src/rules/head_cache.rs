//! Head checks decided once per combination of the head fields that repeat.
//!
//! An organisation's records share a few hundred combinations of API, service, error code,
//! identity type and region, and most rules' head patterns read only those fields. A rule set's
//! verdict for a combination is therefore computed once per thread and reused; only the rules
//! whose head patterns read a field that differs from record to record (user agent, source
//! address) are checked per record. Before this, the head check was a third of the time spent
//! on an event no rule wanted.

use super::shape::Head;
use rustc_hash::FxHashMap;
use std::cell::RefCell;

/// Combinations kept per thread before the cache starts over; an entry is a few hundred bytes.
const CAPACITY: usize = 4096;

/// What a rule set decided for one combination.
#[derive(Debug, Default)]
pub(super) struct HeadPlan {
    /// Candidates whose head patterns passed on the repeating fields (all they read).
    pub decided: Vec<usize>,
    /// Candidates whose head patterns also read per-record fields.
    pub per_record: Vec<usize>,
    /// The head fields [`Self::per_record`]'s patterns read, sorted and deduplicated: gathered
    /// once here instead of from the rules for every record.
    pub per_record_paths: Vec<Box<str>>,
}

/// The repeating fields of a head, in a fixed order (`source` derives from `eventSource`).
fn repeating_fields<'h>(head: &Head<'h>) -> [&'h str; 6] {
    [
        head.event_source,
        head.event_name,
        head.error_code,
        head.identity_type,
        head.region,
        head.vpc_endpoint_id,
    ]
}

#[derive(Default)]
struct Cache {
    /// By key ([`write_key`]); the map hashes and compares the key's bytes.
    plans: FxHashMap<Box<[u8]>, HeadPlan>,
    /// The key of the head being looked up, kept to be refilled.
    key: Vec<u8>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The set id and the repeating fields as one byte string, each field after its length so that
/// no two combinations spell the same key: hashed in one pass and compared with one `memcmp`,
/// one allocation per entry. Six hashes and compares over six allocations took 2 to 4% more of
/// a scan's CPU.
fn write_key(set_id: u64, head: &Head<'_>, key: &mut Vec<u8>) {
    key.clear();
    key.extend_from_slice(&set_id.to_le_bytes());
    for field in repeating_fields(head) {
        key.extend_from_slice(&(field.len() as u32).to_le_bytes());
        key.extend_from_slice(field.as_bytes());
    }
}

/// Runs `then` on the plan for `head` in rule set `set_id`, computing it with `plan` the first
/// time this thread sees the combination.
pub(super) fn with_plan<R>(
    set_id: u64,
    head: &Head<'_>,
    plan: impl FnOnce() -> HeadPlan,
    then: impl FnOnce(&HeadPlan) -> R,
) -> R {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let Cache { plans, key } = &mut *cache;
        write_key(set_id, head, key);
        if let Some(found) = plans.get(key.as_slice()) {
            return then(found);
        }
        if plans.len() >= CAPACITY {
            plans.clear();
        }
        then(plans.entry(key.as_slice().into()).or_insert_with(plan))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'h>(event_name: &'h str, user_agent: &'h str) -> Head<'h> {
        Head {
            event_source: "iam.amazonaws.com",
            event_name,
            user_agent,
            ..Head::default()
        }
    }

    #[test]
    fn a_combination_is_planned_once_per_set_and_per_record_fields_do_not_count() {
        let planned = std::cell::Cell::new(0);
        let plan = |decided: usize| {
            planned.set(planned.get() + 1);
            HeadPlan {
                decided: vec![decided],
                per_record: Vec::new(),
                per_record_paths: Vec::new(),
            }
        };
        let set_id = 0xfeed_0001;
        // The candidates decided for `head` in `set`, planning them as `fresh` if needed.
        let decided = |set: u64, head: Head<'_>, fresh: usize| {
            with_plan(set, &head, || plan(fresh), |p| p.decided.clone())
        };
        let first = decided(set_id, head("CreateUser", "aws-cli/2"), 1);
        let again = decided(set_id, head("CreateUser", "Boto3/1"), 2);
        assert_eq!((first, again, planned.get()), (vec![1], vec![1], 1));
        let other_api = decided(set_id, head("DeleteUser", ""), 3);
        let other_set = decided(set_id + 1, head("CreateUser", ""), 4);
        assert_eq!((other_api, other_set, planned.get()), (vec![3], vec![4], 3));
    }

    #[test]
    fn fields_that_spell_the_same_bytes_together_are_told_apart() {
        let set_id = 0xfeed_0003;
        let source_and_name = |event_source, event_name| Head {
            event_source,
            event_name,
            ..Head::default()
        };
        let planned = |head: Head<'_>, fresh: usize| {
            with_plan(
                set_id,
                &head,
                || HeadPlan {
                    decided: vec![fresh],
                    per_record: Vec::new(),
                    per_record_paths: Vec::new(),
                },
                |plan| plan.decided.clone(),
            )
        };
        assert_eq!(planned(source_and_name("iam.", "ListUsers"), 1), vec![1]);
        assert_eq!(planned(source_and_name("iam.List", "Users"), 2), vec![2]);
        assert_eq!(planned(source_and_name("iam.", "ListUsers"), 3), vec![1]);
    }

    #[test]
    fn the_cache_starts_over_when_full_instead_of_growing() {
        let set_id = 0xfeed_0002;
        let names: Vec<String> = (0..CAPACITY + 10).map(|n| format!("Api{n}")).collect();
        for name in &names {
            with_plan(set_id, &head(name, ""), HeadPlan::default, |_| ());
        }
        let len = CACHE.with(|cache| cache.borrow().plans.len());
        assert!(len <= CAPACITY, "{len} entries");
        // The first combination was dropped: it is planned again.
        let mut planned = false;
        with_plan(
            set_id,
            &head(&names[0], ""),
            || {
                planned = true;
                HeadPlan::default()
            },
            |_| (),
        );
        assert!(planned);
    }
}
