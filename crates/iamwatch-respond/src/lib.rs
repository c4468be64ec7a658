//! Response playbooks on an incident's principal. A playbook is first a plan: the IAM calls it
//! would make, each said in English and Korean, worked out from the incident alone
//! ([`plan::plan`]); nothing is changed until the plan is carried out ([`execute::execute`]),
//! which `iamwatch respond` does only with `--execute`, recording what was done in the
//! incident's history.

pub mod auto;
pub mod execute;
pub mod plan;

pub use execute::{execute, StepOutcome};
pub use plan::{plan, PlanError, Playbook, Principal, Step};
