//! Finding and opening inputs. Compression is decided by the bytes, not the file name: trails
//! copied by hand lose their `.gz`, and some tools gzip without saying so.

use flate2::bufread::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// How the input is named in messages: its path, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Self::Stdin => "<stdin>".to_string(),
            Self::File(path) => path.display().to_string(),
        }
    }

    /// Size on disk, when known (for progress reporting).
    pub fn size(&self) -> Option<u64> {
        match self {
            Self::Stdin => None,
            Self::File(path) => std::fs::metadata(path).ok().map(|metadata| metadata.len()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: cannot read")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {what} is not read; extract it first")]
    Unsupported { path: String, what: &'static str },
}

/// What [`discover`] found: inputs to read, in a stable order, and files it passed over.
#[derive(Debug, Default)]
pub struct Discovered {
    pub inputs: Vec<Input>,
    /// Files inside walked directories that are not log files (READMEs, digests, archives).
    pub passed_over: Vec<PathBuf>,
}

/// Expands paths into inputs: `-` is standard input, a directory is walked recursively in
/// name order, a file is taken as given.
///
/// Inside directories only log-like files are taken (`.json`, `.jsonl`, `.ndjson`, `.gz`);
/// CloudTrail digest files are passed over. A file named explicitly is always read.
///
/// # Errors
/// [`InputError::NotFound`] for a path that does not exist; [`InputError::Unreadable`] for a
/// directory that cannot be listed.
pub fn discover(paths: &[PathBuf]) -> Result<Discovered, InputError> {
    let mut found = Discovered::default();
    for path in paths {
        if path.as_os_str() == "-" {
            found.inputs.push(Input::Stdin);
            continue;
        }
        let metadata = std::fs::metadata(path).map_err(|_| InputError::NotFound {
            path: path.display().to_string(),
        })?;
        if metadata.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.inputs.push(Input::File(path.clone()));
        }
    }
    Ok(found)
}

fn walk(directory: &Path, found: &mut Discovered) -> Result<(), InputError> {
    let unreadable = |source| InputError::Unreadable {
        path: directory.display().to_string(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|name| name == "CloudTrail-Digest")
            {
                found.passed_over.push(path);
                continue;
            }
            walk(&path, found)?;
        } else if is_log_file(&path) {
            found.inputs.push(Input::File(path));
        } else {
            found.passed_over.push(path);
        }
    }
    Ok(())
}

fn is_log_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains("cloudtrail-digest") {
        return false;
    }
    [".json", ".jsonl", ".ndjson", ".gz"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Opens an input for reading, transparently gunzipping gzip data (including concatenated
/// gzip members, as `cat a.gz b.gz` makes).
///
/// # Errors
/// [`InputError`] when the file cannot be opened or is a zip archive.
pub fn open_input(input: &Input) -> Result<Box<dyn Read + Send>, InputError> {
    match input {
        Input::Stdin => open_reader(Box::new(io::stdin()), "<stdin>"),
        Input::File(path) => {
            let name = path.display().to_string();
            let file = File::open(path).map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => InputError::NotFound { path: name.clone() },
                _ => InputError::Unreadable {
                    path: name.clone(),
                    source,
                },
            })?;
            open_reader(Box::new(file), &name)
        }
    }
}

/// Wraps any reader the same way [`open_input`] does (gzip detection included).
///
/// # Errors
/// [`InputError`] when the first bytes cannot be read or announce a zip archive.
pub fn open_reader(
    reader: Box<dyn Read + Send>,
    name: &str,
) -> Result<Box<dyn Read + Send>, InputError> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered
        .fill_buf()
        .map_err(|source| InputError::Unreadable {
            path: name.to_string(),
            source,
        })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(MultiGzDecoder::new(buffered)));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Err(InputError::Unsupported {
            path: name.to_string(),
            what: "a zip archive",
        });
    }
    Ok(Box::new(buffered))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn read_all(reader: Box<dyn Read + Send>) -> String {
        let mut text = String::new();
        let mut reader = reader;
        reader.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn gzip_is_detected_by_content_and_members_are_concatenated() {
        let mut bytes = Vec::new();
        for part in ["{\"a\":1}\n", "{\"b\":2}\n"] {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(part.as_bytes()).unwrap();
            bytes.extend(encoder.finish().unwrap());
        }
        let reader = open_reader(Box::new(io::Cursor::new(bytes)), "x").unwrap();
        assert_eq!(read_all(reader), "{\"a\":1}\n{\"b\":2}\n");
        let plain = open_reader(Box::new(io::Cursor::new(b"{}".to_vec())), "x").unwrap();
        assert_eq!(read_all(plain), "{}");
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

    #[test]
    fn missing_path_is_an_error_naming_it() {
        let error = discover(&[PathBuf::from("/no/such/trail.json")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "/no/such/trail.json: no such file or directory"
        );
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
        let found = discover(&[root.clone(), PathBuf::from("-")]).unwrap();
        let names: Vec<String> = found
            .inputs
            .iter()
            .map(|input| input.name().replace(&root.display().to_string(), ""))
            .collect();
        assert_eq!(
            names,
            vec!["/a.json", "/b/2.json.gz", "/c.jsonl", "<stdin>"]
        );
        assert_eq!(found.passed_over.len(), 2);
        std::fs::remove_dir_all(root).unwrap();
    }
}
