//! The built-in rule pack: the YAML files of `rules/builtin/`, embedded at build time.

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
