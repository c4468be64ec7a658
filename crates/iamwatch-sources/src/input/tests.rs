use super::*;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

fn read_all(reader: impl Read) -> String {
    let mut text = String::new();
    let mut reader = reader;
    reader.read_to_string(&mut text).unwrap();
    text
}

/// `text` as one gzip member.
fn gzip(text: impl AsRef<[u8]>) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(text.as_ref()).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn gzip_is_detected_by_content_and_members_are_concatenated() {
    let bytes = [gzip("{\"a\":1}\n"), gzip("{\"b\":2}\n")].concat();
    let reader = open_reader(Box::new(io::Cursor::new(bytes)), "x").unwrap();
    assert_eq!(read_all(reader), "{\"a\":1}\n{\"b\":2}\n");
    let plain = open_reader(Box::new(io::Cursor::new(b"{}".to_vec())), "x").unwrap();
    assert_eq!(read_all(plain), "{}");
}

/// A log file gzipped again (and again) reads as its records, from a stream, from memory and
/// from a file alike; a fourth layer is refused, saying so.
#[test]
fn gzip_inside_gzip_is_read_through_and_deep_nesting_is_refused() {
    let text = "{\"Records\":[{\"eventName\":\"DeleteUser\"}]}\n";
    let directory = std::env::temp_dir().join(format!("iamwatch-nested-gz-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let mut layered = text.as_bytes().to_vec();
    for layers in 1..=4 {
        layered = gzip(&layered);
        let file = directory.join(format!("layers-{layers}.json.gz"));
        std::fs::write(&file, &layered).unwrap();
        let opened = [
            open_reader(Box::new(io::Cursor::new(layered.clone())), "x").map(InputData::Stream),
            open_bytes(layered.clone(), "x"),
            open_input(&Input::File(file)),
        ];
        for (way, opened) in opened.into_iter().enumerate() {
            match opened {
                Ok(data) if layers <= 3 => {
                    assert_eq!(read_all(data), text, "{layers} layers, way {way}")
                }
                Err(InputError::Unsupported { refused, .. }) if layers == 4 => {
                    assert!(
                        refused.to_string().contains("gzip inside gzip"),
                        "{refused}"
                    );
                }
                Ok(data) => panic!("{layers} layers read as {:?}", read_all(data)),
                Err(error) => panic!("{layers} layers, way {way}: {error}"),
            }
        }
    }
    std::fs::remove_dir_all(&directory).unwrap();
    // Gzip's magic alone, without a header after it, is text like any other (found by the
    // property test below: it read as nothing).
    let magic = gzip([0x1f, 0x8b]);
    for opened in [
        open_reader(Box::new(io::Cursor::new(magic.clone())), "x").map(InputData::Stream),
        open_bytes(magic, "x"),
    ] {
        let mut read = Vec::new();
        opened.unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, [0x1f, 0x8b]);
    }
}

#[test]
fn small_gzip_files_inflate_whole_and_multi_member_files_still_read() {
    let directory = std::env::temp_dir().join(format!("iamwatch-gz-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let single = directory.join("single.json.gz");
    std::fs::write(&single, gzip("{\"Records\":[]}")).unwrap();
    let multi = directory.join("multi.gz");
    std::fs::write(&multi, [gzip("{\"a\":1}\n"), gzip("{\"b\":2}\n")].concat()).unwrap();
    let plain = directory.join("plain.json");
    std::fs::write(&plain, "{}").unwrap();
    let text_of =
        |path: &std::path::Path| read_all(open_input(&Input::File(path.to_path_buf())).unwrap());
    assert_eq!(text_of(&single), "{\"Records\":[]}");
    // Identical members: the first one's CRC and size equal the file's last trailer, so
    // only the search for a second header keeps the fast path from reading one of them.
    let twice = directory.join("twice.gz");
    std::fs::write(&twice, [gzip("{\"a\":1}\n"), gzip("{\"a\":1}\n")].concat()).unwrap();
    assert_eq!(text_of(&twice), "{\"a\":1}\n{\"a\":1}\n");
    let padded = directory.join("padded.json.gz");
    std::fs::write(&padded, [gzip("{\"Records\":[]}"), vec![0; 16]].concat()).unwrap();
    assert_eq!(text_of(&padded), "{\"Records\":[]}");
    assert_eq!(text_of(&multi), "{\"a\":1}\n{\"b\":2}\n");
    assert_eq!(text_of(&plain), "{}");
    let mut corrupt = gzip("{\"Records\":[]}".repeat(50));
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    let broken = directory.join("broken.json.gz");
    std::fs::write(&broken, corrupt).unwrap();
    let mut text = String::new();
    let result = open_input(&Input::File(broken))
        .unwrap()
        .read_to_string(&mut text);
    assert!(result.is_err(), "corruption is reported, not hidden");
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn zip_archives_are_refused_by_name() {
    let error = open_reader(
        Box::new(io::Cursor::new(b"PK\x03\x04rest".to_vec())),
        "logs.zip",
    )
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "logs.zip: a zip archive is not read; extract it first"
    );
}

/// A `.gz` of no bytes (a download that never finished) read as an empty input and said
/// nothing; an empty `.json` is an empty input still.
#[test]
fn an_empty_gzip_file_is_reported_and_an_empty_json_file_is_empty() {
    let directory = tempfile::tempdir().unwrap();
    let empty = |name: &str| {
        let path = directory.path().join(name);
        File::create(&path).unwrap();
        open_file(File::open(&path).unwrap(), name)
    };
    let error = empty("2024-06-01.json.gz").err().unwrap();
    assert_eq!(
        error.to_string(),
        "2024-06-01.json.gz: an empty .gz file (0 bytes: a download or copy that did not finish?) is not read; fetch it again"
    );
    let mut read = Vec::new();
    empty("events.json")
        .unwrap()
        .read_to_end(&mut read)
        .unwrap();
    assert!(read.is_empty());
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let error = discover(&[PathBuf::from("/no/such/trail.json")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/no/such/trail.json: no such file or directory"
    );
}

#[test]
fn a_url_is_an_error_saying_how_to_read_it() {
    let error = discover(&[PathBuf::from("https://trail.example/AWSLogs/")]).unwrap_err();
    assert!(matches!(error, InputError::Url { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("https://trail.example/AWSLogs/: a URL is not read;"),
        "{message}"
    );
    assert!(
        message.contains("s3://BUCKET/PREFIX locations are"),
        "{message}"
    );
    // A missing file whose name merely holds "://" deeper in is still missing.
    let odd = discover(&[PathBuf::from("/no/such/a://b")]).unwrap_err();
    assert!(matches!(odd, InputError::NotFound { .. }), "{odd:?}");
}

#[test]
fn a_reason_leaves_the_path_to_the_message_that_names_the_input() {
    let missing = discover(&[PathBuf::from("/no/such/trail.json")]).unwrap_err();
    assert_eq!(missing.reason(), "no such file or directory");
    let unreadable = InputError::Unreadable {
        path: "trail.json".into(),
        source: io::Error::from(io::ErrorKind::PermissionDenied),
    };
    assert_eq!(unreadable.reason(), "cannot read: permission denied");
    let zip = open_reader(
        Box::new(io::Cursor::new(b"PK\x03\x04".to_vec())),
        "logs.zip",
    )
    .err()
    .unwrap();
    assert_eq!(zip.reason(), "a zip archive is not read; extract it first");
}

/// Hands out `bytes` at most `step` at a time, as a pipe fed slowly does; read past its end
/// when `then_silent` is set, it panics, as a pipe left open would hold the read forever.
struct Trickle {
    bytes: io::Cursor<Vec<u8>>,
    step: usize,
    then_silent: bool,
}

impl Read for Trickle {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let step = buffer.len().min(self.step);
        let count = self.bytes.read(&mut buffer[..step])?;
        assert!(
            count > 0 || !self.then_silent,
            "read past what the pipe had sent"
        );
        Ok(count)
    }
}

fn trickled(bytes: &[u8], step: usize, then_silent: bool) -> Box<dyn Read + Send> {
    Box::new(Trickle {
        bytes: io::Cursor::new(bytes.to_vec()),
        step,
        then_silent,
    })
}

#[test]
fn an_archive_or_csv_trickling_in_is_still_told_and_an_event_is_not_held_up() {
    // A tar of one log file, its header coming 100 bytes at a time: each header block was a
    // dead letter when the first read was too short to hold the magic at 257.
    let mut tar = archive::tar_header(b"trail.json.gz", b'0');
    tar.extend_from_slice(&gzip("{}"));
    let error = open_reader(trickled(&tar, 100, false), "<stdin>")
        .err()
        .unwrap();
    assert_eq!(
        error.reason(),
        "a tar archive is not read; extract it first"
    );
    let csv = b"eventVersion,userIdentity,eventTime,eventSource,eventName,awsRegion\n1.08,x";
    let error = open_reader(trickled(csv, 16, false), "<stdin>")
        .err()
        .unwrap();
    assert!(
        error.reason().starts_with("a CSV export"),
        "{}",
        error.reason()
    );
    // An event followed by silence is judged on what came.
    let event = b"{\"eventName\":\"ListUsers\",\"awsRegion\":\"us-east-1\"}\n";
    assert!(open_reader(trickled(event, 4096, true), "<stdin>").is_ok());
    // Trickled JSON reads whole and unchanged.
    let records = b"{\"Records\":[{\"eventName\":\"a\"},{\"eventName\":\"b\"}]}";
    let reader = open_reader(trickled(records, 7, false), "<stdin>").unwrap();
    assert_eq!(read_all(reader).as_bytes(), records);
}

/// A named pipe's first read takes only gzip's two bytes: an archive or a CSV export written
/// into it was read as text, and every line of it was a dead letter.
#[test]
fn an_archive_or_csv_through_a_named_pipe_is_told_as_one() {
    let root = tempfile::tempdir().unwrap();
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    zip.resize(600, b'x');
    let mut tar = archive::tar_header(b"trail.json", b'0');
    tar.extend_from_slice(b"{\"Records\":[]}");
    let csv = b"eventVersion,eventTime,eventName\n1.08,2024-06-01T00:00:00Z,ListUsers\n".to_vec();
    for (name, bytes, reason) in [
        ("zip", zip, "a zip archive is not read; extract it first"),
        ("tar", tar, "a tar archive is not read; extract it first"),
        ("csv", csv, "a CSV export"),
    ] {
        let pipe = root.path().join(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&pipe)
            .status()
            .unwrap();
        assert!(made.success());
        let writer = {
            let pipe = pipe.clone();
            // Opening a pipe for writing waits for its reader.
            std::thread::spawn(move || std::fs::write(pipe, bytes))
        };
        let error = open_file(File::open(&pipe).unwrap(), name).err();
        let _ = writer.join();
        let error = error.unwrap_or_else(|| panic!("{name} was read"));
        assert!(
            error.reason().starts_with(reason),
            "{name}: {}",
            error.reason()
        );
    }
}

#[test]
fn directories_are_walked_in_order_taking_only_log_files() {
    let root = std::env::temp_dir().join(format!("iamwatch-walk-{}", std::process::id()));
    std::fs::create_dir_all(root.join("b/CloudTrail-Digest")).unwrap();
    for name in [
        "b/2.json.gz",
        "a.json",
        "README.md",
        "b/CloudTrail-Digest/d.json.gz",
        "c.jsonl",
    ] {
        std::fs::write(root.join(name), b"{}").unwrap();
    }
    // Firehose deliveries have no extension: read when they start like JSON or gzip.
    std::fs::write(root.join("firehose-1-2024-06-01"), b"\n {\"a\":1}{\"a\":2}").unwrap();
    std::fs::write(root.join("firehose-2-2024-06-01"), gzip("{}")).unwrap();
    // An export saved as UTF-16 (with its byte-order mark) without an extension.
    std::fs::write(root.join("export"), b"\xFF\xFE \x00\n\x00[\x00]\x00").unwrap();
    std::fs::write(root.join("notes"), b"\xFF\xFEh\x00i\x00").unwrap();
    std::fs::write(root.join("LICENSE"), b"MIT License").unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    let found = discover(&[root.clone(), PathBuf::from("-")]).unwrap();
    let names: Vec<String> = found
        .inputs
        .iter()
        .map(|input| input.name().replace(&root.display().to_string(), ""))
        .collect();
    assert_eq!(
        names,
        vec![
            "/a.json",
            "/b/2.json.gz",
            "/c.jsonl",
            "/export",
            "/firehose-1-2024-06-01",
            "/firehose-2-2024-06-01",
            "<stdin>"
        ]
    );
    assert_eq!(
        found.passed_over.len(),
        5,
        "README.md, the digest, LICENSE, empty, notes"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_walk_neither_waits_on_a_named_pipe_nor_goes_round_a_link_loop() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    std::fs::create_dir_all(root.join("logs/deeper")).unwrap();
    std::fs::write(root.join("logs/a.json"), b"{}").unwrap();
    std::fs::write(root.join("logs/deeper/b.json"), b"{}").unwrap();
    // Opening a pipe waits for a writer: this one never gets one.
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("logs/pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    // Two links back up the tree: each turn of the loop would double the walk.
    symlink("..", root.join("logs/deeper/up")).unwrap();
    symlink("../..", root.join("logs/deeper/top")).unwrap();
    symlink(root.join("nowhere"), root.join("logs/dangling.json")).unwrap();
    // Run on a thread: a walk that hangs fails the test instead of hanging it.
    let (sender, receiver) = std::sync::mpsc::channel();
    let logs = root.join("logs");
    std::thread::spawn(move || sender.send(discover(&[logs])));
    let found = receiver
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the walk finishes")
        .unwrap();
    let names: Vec<String> = found
        .inputs
        .iter()
        .map(|input| input.name().replace(&root.display().to_string(), ""))
        .collect();
    assert_eq!(names, ["/logs/a.json", "/logs/deeper/b.json"]);
    let mut passed_over: Vec<String> = found
        .passed_over
        .iter()
        .map(|path| {
            path.display()
                .to_string()
                .replace(&root.display().to_string(), "")
        })
        .collect();
    passed_over.sort();
    assert_eq!(
        passed_over,
        [
            "/logs/dangling.json",
            // `top` leads above the walk's root, which is walked once: its `logs` is the root.
            "/logs/deeper/top/logs",
            "/logs/deeper/up",
            "/logs/pipe"
        ]
    );
}

proptest::proptest! {
    #[test]
    fn damaged_gzip_never_panics_and_intact_gzip_reads_back(
        text in proptest::collection::vec(proptest::num::u8::ANY, 0..2000),
        flips in proptest::collection::vec((0usize..4000, 1u8..=255), 0..4),
        tail in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
    ) {
        // (Text that is itself gzip is read through: `gzip_inside_gzip_is_read_through…`.)
        proptest::prop_assume!(!text.starts_with(&[0x1f, 0x8b, 0x08]));
        let intact = gzip(&text);
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("x.json.gz");
        std::fs::write(&path, &intact).unwrap();
        let mut read = Vec::new();
        open_file(File::open(&path).unwrap(), "x").unwrap().read_to_end(&mut read).unwrap();
        // Gzip is transparent: what it holds reads as itself, except that text opening with a
        // UTF-16 byte order mark reads as its UTF-8, as it does unzipped (even a bare mark,
        // which is no text at all).
        let expected = match utf16::byte_order(&text) {
            Some(order) => utf16::decode_all(&text, order),
            None => text.clone(),
        };
        proptest::prop_assert_eq!(&read, &expected);
        // Flipped bytes and trailing junk: an error or some bytes, never a panic.
        let mut damaged = intact.clone();
        for (position, mask) in &flips {
            let position = position % damaged.len();
            damaged[position] ^= mask;
        }
        damaged.extend(&tail);
        std::fs::write(&path, &damaged).unwrap();
        if let Ok(mut data) = open_file(File::open(&path).unwrap(), "x") {
            let _ = data.read_to_end(&mut Vec::new());
        }
    }
}
