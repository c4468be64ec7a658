"""A Lambda runtime API on this machine for bench/lambda.sh: serves the function (the iamwatch
binary started as Lambda starts a custom runtime) INVOCATIONS invocations, each an EventBridge
event of the seed fixture with an event id of its own, and prints when the function first asked
for work (its cold start) and how long each invocation took, from the moment it was handed out to
the moment its answer came back. Asserts nothing.

Usage: python3 bench/lambda_runtime.py BOOTSTRAP INVOCATIONS   (BOOTSTRAP: the binary, under
that name; the AWS and IAMWATCH_* variables come from the environment)"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

bootstrap, count = sys.argv[1], int(sys.argv[2])
records = [json.loads(line) for line in open("tests/fixtures/seed_events.jsonl")]
state = {"next": 0, "first_poll": None, "handed": {}, "took": [], "errors": 0}
lock = threading.Lock()
done = threading.Event()


def event(n):
    # From the third record on: the first two are CreateAccessKey, skip-listed (no incident).
    record = dict(records[2 + n % (len(records) - 2)])
    record["eventID"] = f"bench-{n:08d}"
    return json.dumps({"version": "0", "id": f"eb-{n}", "detail-type": "AWS API Call via CloudTrail",
                       "source": "aws.iam", "account": "111122223333", "time": record["eventTime"],
                       "region": "us-east-1", "resources": [], "detail": record}).encode()


class Runtime(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        with lock:
            now = time.monotonic_ns()
            if state["first_poll"] is None:
                state["first_poll"] = now
            n = state["next"]
            state["next"] += 1
        if n >= count:
            done.wait()
            self.send_response(410)
            self.end_headers()
            return
        body = event(n)
        with lock:
            state["handed"][f"r{n}"] = time.monotonic_ns()
        self.send_response(200)
        self.send_header("lambda-runtime-aws-request-id", f"r{n}")
        self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 60000))
        self.send_header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:111122223333:function:iamwatch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        request_id = self.path.split("/")[4]
        with lock:
            state["took"].append(time.monotonic_ns() - state["handed"].pop(request_id))
            if self.path.endswith("/error"):
                state["errors"] += 1
            finished = len(state["took"]) >= count
        self.send_response(202)
        self.end_headers()
        if finished:
            done.set()


server = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
           AWS_LAMBDA_FUNCTION_NAME="iamwatch", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
           AWS_LAMBDA_FUNCTION_VERSION="$LATEST")
started = time.monotonic_ns()
function = subprocess.Popen([bootstrap], env=env, stderr=subprocess.DEVNULL)
finished = done.wait(600)
function.kill()
if not finished:
    print("the function did not finish within 10 minutes", file=sys.stderr)
    sys.exit(1)
took = [ns / 1e6 for ns in state["took"]]
cold = (state["first_poll"] - started) / 1e6
print(f"cold start (process start to its first request for work): {cold:.0f} ms")
print(f"first invocation (connections to DynamoDB made on first use): {took[0]:.1f} ms")
warm = took[1:]
if warm:
    warm.sort()
    print(f"warm invocations: {len(warm)}, median {statistics.median(warm):.1f} ms, "
          f"p90 {warm[int(len(warm) * 0.9)]:.1f} ms, max {warm[-1]:.1f} ms")
print(f"errors: {state['errors']}")
server.shutdown()
