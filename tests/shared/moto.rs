//! A moto server (the AWS API emulator, `pip install 'moto[server]'`) for one test: started on
//! a free port, stopped when dropped.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_with(|port| {
            let mut command = Command::new("moto_server");
            command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            command
        })
    }

    /// A moto server whose IAM knows AWS's managed policies (AdministratorAccess can be
    /// attached), for the posture tests.
    #[allow(dead_code)] // the CLI's posture test uses it, the server's tests do not
    pub fn start_with_managed_policies() -> Self {
        Self::start_with(|port| {
            let mut command = Command::new("moto_server");
            command
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
            command
        })
    }

    /// A moto server that answers one request at a time, for tests of DynamoDB writers that
    /// overlap. moto's DynamoDB transactions are not atomic when requests overlap (a refused
    /// transaction restores a copy of the table taken before it, undoing what others wrote
    /// meanwhile); DynamoDB's are. Served one at a time, each request is whole before the next
    /// starts, as DynamoDB's transactions are to each other.
    #[allow(dead_code)] // DynamoDB's tests use it, S3's do not
    pub fn start_serial() -> Self {
        // moto's server as `moto_server` runs it, but with werkzeug's `threaded=False`.
        const SERIAL_SERVER: &str = "import sys
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)";
        Self::start_with(|port| {
            let mut command = Command::new("python3");
            command.args(["-c", SERIAL_SERVER, &port.to_string()]);
            command
        })
    }

    /// The AWS SDK's configuration for this server: its endpoint over plain HTTP, us-east-1,
    /// test credentials. A client of any service is `Client::new(&moto.sdk_config())`.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::from_static("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build()
    }

    /// Turns moto's check of each request against IAM on (`true`: from the next request, a
    /// request is answered only with the keys of a user of this server's IAM whose policies
    /// allow it) or off. Off by default: any keys do anything. (Plain HTTP by hand: the crates
    /// that share this file have no HTTP client.)
    #[allow(dead_code)] // the tests of what a role or policy allows use it, the others do not
    pub fn check_iam(&self, on: bool) {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let body = if on { "0" } else { "inf" };
        let mut stream = TcpStream::connect(address).expect("moto answers");
        write!(
            stream,
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {address}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        // HTTP/1.0 from the server that answers one request at a time.
        let status = answer.split(' ').nth(1);
        assert_eq!(status, Some("200"), "{answer}");
    }

    fn start_with(server: impl Fn(u16) -> Command) -> Self {
        // The port is free when asked, and taken by moto a moment later; another process
        // taking it meanwhile makes moto exit, and another port is tried.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let mut child = server(port)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server runs (pip install 'moto[server]')");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(30) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                    };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bucket in a moto server of its own, with a client of the AWS SDK to fill it.
pub struct Bucket {
    #[allow(dead_code)] // read where a test points a client or a server at it
    pub moto: Moto,
    pub runtime: tokio::runtime::Runtime,
    pub client: aws_sdk_s3::Client,
    pub name: &'static str,
}

impl Bucket {
    pub fn new() -> Self {
        let moto = Moto::start();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let config = aws_sdk_s3::config::Builder::from(&moto.sdk_config())
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let name = "trail-bucket";
        runtime
            .block_on(client.create_bucket().bucket(name).send())
            .expect("create bucket");
        Self {
            moto,
            runtime,
            client,
            name,
        }
    }

    pub fn put(&self, key: &str, body: &[u8]) {
        let request = self
            .client
            .put_object()
            .bucket(self.name)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()));
        self.runtime.block_on(request.send()).expect("put object");
    }

    #[allow(dead_code)] // the crate's tests delete, the CLI's do not
    pub fn delete(&self, key: &str) {
        let request = self.client.delete_object().bucket(self.name).key(key);
        self.runtime
            .block_on(request.send())
            .expect("delete object");
    }
}
