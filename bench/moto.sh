# Sourced by the bench scripts that need AWS services: `start_moto WORK` starts a moto server
# (the AWS API emulator) on a free port, logging to WORK/moto.log, sets `moto` to its pid (set
# the EXIT trap that kills it first), waits until it answers, and points the AWS SDKs, the CLI
# and boto3 at it with test credentials and nothing read from ~/.aws.
start_moto() {
    local work=$1 port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
    moto=$!
    for _ in $(seq 100); do
        (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    export AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_EC2_METADATA_DISABLED=true
}
