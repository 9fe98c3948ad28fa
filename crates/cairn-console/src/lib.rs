//! The web console's built front-end (`web/dist`, committed), embedded in the binary: the table of its files with
//! their content types and validators, and a development override that reads them from a directory instead.
//!
//! The console is a static single-page application; everything it shows comes from cairn's public APIs, signed with
//! SigV4 in the browser, so this crate serves bytes and knows nothing about requests' meaning.

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The path the console is served under.
pub const PREFIX: &str = "/console";

/// One built file.
#[derive(Debug, Clone, Copy)]
struct Embedded {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// The build output, file by file (web/build.mjs writes exactly these names).
const FILES: &[Embedded] = &[
    Embedded {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/dist/index.html"),
    },
    Embedded {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/dist/app.js"),
    },
    Embedded { name: "app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../web/dist/app.css") },
    Embedded { name: "icon.svg", content_type: "image/svg+xml", body: include_bytes!("../web/dist/icon.svg") },
];

/// A file to answer with.
#[derive(Debug, Clone)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: Cow<'static, [u8]>,
    /// A strong validator for `ETag` / `If-None-Match`: the SHA-256 of the body, quoted.
    pub etag: String,
    /// The body gzip-compressed, for clients that accept it (the bundle shrinks to about a third).
    pub gzip: Cow<'static, [u8]>,
}

impl Asset {
    /// The validator of the gzip representation (a different entity, so a different strong tag).
    pub fn gzip_etag(&self) -> String {
        format!("{}-gz\"", self.etag.trim_end_matches('"'))
    }
}

/// Where the console's files come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The files built into the binary.
    Embedded,
    /// A directory read on every request (`console_dir` / `CAIRN_CONSOLE_DIR`), for working on the console
    /// without rebuilding cairn.
    Directory(PathBuf),
}

impl Source {
    /// The file a request path under [`PREFIX`] names: `/console` and `/console/` (and any path without a file
    /// extension, the application's own routes) answer with `index.html`. `None` for anything else.
    pub fn get(&self, path: &str) -> Option<Asset> {
        let name = file_name(path)?;
        let index = FILES.iter().position(|f| f.name == name)?;
        let file = &FILES[index];
        match self {
            Source::Embedded => {
                let (etag, gzip) = embedded(index);
                Some(Asset {
                    content_type: file.content_type,
                    body: Cow::Borrowed(file.body),
                    etag: etag.clone(),
                    gzip: Cow::Borrowed(gzip.as_slice()),
                })
            }
            Source::Directory(dir) => {
                let body = std::fs::read(dir.join(file.name)).ok()?;
                Some(Asset {
                    content_type: file.content_type,
                    etag: etag(&body),
                    gzip: Cow::Owned(gzip(&body)),
                    body: Cow::Owned(body),
                })
            }
        }
    }
}

/// The built file a path names, if any.
fn file_name(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix(PREFIX)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() || !rest.contains('.') {
        return Some("index.html");
    }
    FILES.iter().find(|f| f.name == rest).map(|f| f.name)
}

fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// The validator and gzip form of `FILES[index]`, computed once for all files (at the first request).
fn embedded(index: usize) -> &'static (String, Vec<u8>) {
    static DERIVED: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    &DERIVED.get_or_init(|| FILES.iter().map(|f| (etag(f.body), gzip(f.body))).collect())[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_built_files_and_routes_fall_back_to_the_page() {
        assert_eq!(file_name("/console"), Some("index.html"));
        assert_eq!(file_name("/console/"), Some("index.html"));
        assert_eq!(file_name("/console/trails/create"), Some("index.html"));
        assert_eq!(file_name("/console/app.js"), Some("app.js"));
        assert_eq!(file_name("/console/missing.js"), None);
        assert_eq!(file_name("/consoles"), None);
        assert_eq!(file_name("/console/../Cargo.toml"), None);
        assert_eq!(file_name("/other"), None);
    }

    #[test]
    fn the_embedded_build_is_whole_and_validators_are_stable() {
        let source = Source::Embedded;
        let page = source.get("/console/").expect("index.html is embedded");
        assert!(page.content_type.starts_with("text/html"));
        assert!(std::str::from_utf8(&page.body).unwrap().contains("app.js"));
        let js = source.get("/console/app.js").expect("app.js is embedded");
        assert!(!js.body.is_empty());
        assert_eq!(js.etag, source.get("/console/app.js").unwrap().etag);
        assert_ne!(js.etag, page.etag);
        assert_ne!(js.gzip_etag(), js.etag);
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&js.gzip[..]), &mut unzipped).unwrap();
        assert_eq!(unzipped, &js.body[..]);
        assert!(js.gzip.len() < js.body.len() / 2);
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dist");
        assert!(FILES.iter().all(|f| dist.join(f.name).is_file()), "web/dist lacks a file of the table");
    }

    #[test]
    fn a_directory_source_reads_files_on_each_request() {
        let dir = std::env::temp_dir().join(format!("cairn-console-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.js"), b"one").unwrap();
        let source = Source::Directory(dir.clone());
        let first = source.get("/console/app.js").unwrap();
        std::fs::write(dir.join("app.js"), b"two").unwrap();
        let second = source.get("/console/app.js").unwrap();
        assert_eq!(&*second.body, b"two");
        assert_ne!(first.etag, second.etag);
        assert!(source.get("/console/app.css").is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
