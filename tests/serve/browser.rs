//! The dashboard in headless Chromium (Debian `chromium`, driven by `playwright-core` from
//! npm; `.ci/run` installs both). The script is tests/browser/dashboard.mjs; screenshots are
//! kept in target/browser/.

use crate::iam_account;
use crate::moto::Moto;
use crate::server::{start_with_env, TOKEN};
use std::path::Path;
use std::process::Command;

#[test]
fn the_dashboard_shows_incidents_live_and_acknowledges_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is needed at {chromium} (apt-get install chromium, or set CHROMIUM)"
    );
    if !root.join("node_modules/playwright-core").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(root)
            .status()
            .expect("npm is needed for the browser test");
        assert!(status.success(), "npm ci failed");
    }
    // An account in moto for the posture panel, scanned when serve starts.
    let moto = Moto::start_with_managed_policies();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(iam_account::make_account(&iam_account::client(&moto)));
    let dir = tempfile::tempdir().unwrap();
    let env = crate::s3_follow::aws_env(dir.path(), &moto.endpoint, "us-east-1");
    // Countries from the tests' GeoIP database: the detail pane shows the address's.
    let config = format!(
        "geoip = {:?}\n[posture]\ninterval_hours = 24\n",
        root.join("tests/fixtures/geoip/countries.mmdb")
            .display()
            .to_string()
    );
    // The token from a file, which the script rewrites at its end to rotate it.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut env = env;
    env.push(("IAMWATCH_TOKEN_FILE", token_file.display().to_string()));
    let server = start_with_env(dir.path(), &config, &[], &env);
    let output = Command::new("node")
        .arg(root.join("tests/browser/dashboard.mjs"))
        .current_dir(root)
        .env("IAMWATCH_URL", format!("http://{}", server.address))
        .env("IAMWATCH_TOKEN", TOKEN)
        .env("IAMWATCH_TOKEN_FILE_PATH", &token_file)
        .env("IAMWATCH_PID", server.pid().to_string())
        .env("SCREENSHOT_DIR", root.join("target/browser"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node is needed for the browser test");
    assert!(
        output.status.success(),
        "{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
}
