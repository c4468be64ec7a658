//! Embeds the built-in rule pack (`rules/builtin/*.yml` at the workspace root).

use std::fmt::Write;
use std::path::Path;

fn main() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/builtin");
    println!("cargo:rerun-if-changed={}", directory.display());
    let mut names: Vec<String> = std::fs::read_dir(&directory)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".yml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from("/// `(file name, content)` of every built-in rule file.\npub const FILES: &[(&str, &str)] = &[\n");
    for name in &names {
        let path = directory.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("builtin_rules.rs");
    std::fs::write(out, code).expect("write the built-in rule list");
}
