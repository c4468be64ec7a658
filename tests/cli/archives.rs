//! Archives handed over instead of log files: one clear problem each, not a dead letter for
//! every piece of binary read as if it were JSON.

use crate::helpers::*;
use std::process::Command;

#[test]
fn an_archive_is_one_problem_saying_to_extract_it() {
    let workspace = Workspace::new();
    let trail = serde_json::json!({ "Records": seed_records() }).to_string();
    let logs = workspace.path("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("trail.json"), &trail).unwrap();
    // As people hand logs over: a tarball made by the system's tar, gzipped and not.
    for (archive, flags) in [("logs.tar.gz", "czf"), ("logs.tar", "cf")] {
        let made = Command::new("tar")
            .arg(flags)
            .arg(workspace.path(archive))
            .arg("-C")
            .arg(&logs)
            .arg("trail.json")
            .status()
            .expect("tar runs");
        assert!(made.success());
    }
    let zip = workspace.write("logs.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00binary");
    let tarball = workspace.path("logs.tar.gz");
    let tar = workspace.path("logs.tar");
    for (path, what) in [
        (&tarball, "a gzipped tar archive"),
        (&tar, "a tar archive"),
        (&zip, "a zip archive"),
    ] {
        let output = workspace.scan(&["--format", "jsonl"], &[path]);
        assert_success(&output);
        let errors = stderr(&output);
        assert!(
            errors.contains(&format!("{what} is not read; extract it first")),
            "{errors}"
        );
        assert!(errors.contains("unreadable records: 1 "), "{errors}");
        assert!(!errors.contains("not JSON"), "{errors}");
    }
    // Extracted, the same trail is read.
    let output = workspace.scan(&["--format", "jsonl"], &[&logs]);
    assert_success(&output);
    assert!(!incidents_of(&output).is_empty());
}

#[test]
fn a_parquet_file_is_one_problem_saying_what_to_scan_instead() {
    let workspace = Workspace::new();
    // As Amazon Security Lake names its objects; a Parquet file opens and ends with "PAR1".
    let mut bytes = b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00".to_vec();
    bytes.extend((0..4000u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 24) as u8));
    bytes.extend(b"\x1c\x00\x00\x00PAR1");
    let parquet = workspace.write("part-00000.gz.parquet", &bytes);
    let output = workspace.scan(&["--format", "jsonl"], &[&parquet]);
    assert_success(&output);
    let errors = stderr(&output);
    assert!(
        errors.contains("a Parquet file is not read; scan the trail's JSON log files"),
        "{errors}"
    );
    assert!(errors.contains("unreadable records: 1 "), "{errors}");
    assert!(!errors.contains("not JSON"), "{errors}");
}

/// The CloudTrail console's "Download events: CSV": each line was a dead letter or two of "not
/// JSON", and the user was not told to download JSON instead.
#[test]
fn a_csv_export_is_one_problem_saying_what_to_download_instead() {
    let workspace = Workspace::new();
    let csv = "Event ID,Event time,User name,Event name,Resource type,Resource name,AWS access key,AWS region,Error code,Source IP address,Resources\n\
        3f1c2d4e-0000-4000-8000-000000000001,2024-06-01T09:00:00Z,alice,DeleteUser,AWS::IAM::User,bob,AKIAEXAMPLE,us-east-1,,198.51.100.23,[]\n\
        3f1c2d4e-0000-4000-8000-000000000002,2024-06-01T09:01:00Z,alice,CreateAccessKey,AWS::IAM::AccessKey,bob,AKIAEXAMPLE,us-east-1,,198.51.100.23,[]\n";
    let plain = workspace.write("event_history.csv", csv.as_bytes());
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzip, csv.as_bytes()).unwrap();
    let gzipped = workspace.write("event_history.csv.gz", &gzip.finish().unwrap());
    for input in [plain, gzipped] {
        let output = workspace.scan(&["--format", "jsonl"], &[&input]);
        assert_success(&output);
        let errors = stderr(&output);
        assert!(
            errors.contains("a CSV export of CloudTrail events")
                && errors.contains("download the event history as JSON"),
            "{errors}"
        );
        assert!(errors.contains("unreadable records: 1 "), "{errors}");
        assert!(!errors.contains("not JSON"), "{errors}");
    }
}
