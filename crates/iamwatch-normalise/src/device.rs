//! User agent → a summary a person reads at a glance: "Chrome 124 on Windows",
//! "aws-cli 2.15 on macOS", "Terraform 1.8 (aws-sdk-go-v2)", "AWS Console".
//!
//! Browsers are recognised by woothee (a maintained, dependency-free parser); AWS tools by the
//! recogniser here, because browser parsers know nothing of `aws-cli/2.15.30 Python/3.11.8
//! Darwin/23.4.0 …` or of the SDK user-agent grammar (`os/linux#5.10 lang/python#3.11`).

use crate::kept::{kept_or_compute, Kept};
use iamwatch_core::Device;

/// Builds the `device` part of an incident's meta.
pub fn device(user_agent: &str) -> Device {
    Device {
        summary: cached_summary(user_agent),
        ua: user_agent.to_string(),
    }
}

/// User agents repeat heavily within a trail (a fleet runs the same SDK), and parsing a browser
/// agent is the costliest part of building an incident: keep recent summaries per thread.
fn cached_summary(user_agent: &str) -> String {
    thread_local! {
        static SUMMARIES: Kept<String> = Kept::default();
    }
    kept_or_compute(&SUMMARIES, 4096, user_agent, summarise)
}

/// The one-line summary of a user agent.
pub fn summarise(user_agent: &str) -> String {
    // CloudTrail writes some agents in brackets: `[aws-cli/2.15.30 Python/3.11.8 …]`.
    let trimmed = user_agent.trim();
    let trimmed = match trimmed
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
    {
        Some(inner) => inner.trim(),
        None => trimmed,
    };
    if trimmed.is_empty() {
        return "Unknown".to_string();
    }
    if let Some(summary) = aws_console_or_service(trimmed) {
        return summary;
    }
    if let Some(summary) = aws_tool(trimmed) {
        return summary;
    }
    if let Some(summary) = browser(trimmed) {
        return summary;
    }
    // Something else that names itself `tool/1.2.3`: show the name and version.
    match trimmed
        .split_whitespace()
        .next()
        .and_then(|token| token.split_once('/'))
    {
        Some((name, version)) if !name.is_empty() => with_version(name, version),
        _ => trimmed.chars().take(48).collect(),
    }
}

fn aws_console_or_service(user_agent: &str) -> Option<String> {
    let lower = user_agent.to_ascii_lowercase();
    if lower == "aws internal" {
        return Some("AWS Internal".to_string());
    }
    let unbracketed = lower.trim_start_matches('[');
    if lower == "console.amazonaws.com"
        || lower == "signin.amazonaws.com"
        || (lower.starts_with("console.") && lower.ends_with(".amazonaws.com"))
        || unbracketed.starts_with("s3console/")
        || lower.starts_with("aws-internal/3 aws-sdk-java") && lower.contains("console")
    {
        return Some("AWS Console".to_string());
    }
    if !lower.contains(' ') && lower.ends_with(".amazonaws.com") {
        return Some(format!("AWS service ({user_agent})"));
    }
    if lower.starts_with("stratus-red-team") {
        return Some("stratus-red-team (attack simulation)".to_string());
    }
    None
}

/// `name/version` tokens of an SDK-style user agent, lower-cased names.
fn tokens(user_agent: &str) -> Vec<(String, &str)> {
    user_agent
        .split(|character: char| {
            character.is_whitespace()
                || character == '('
                || character == ')'
                || character == ';'
                || character == ','
        })
        .filter_map(|token| token.split_once('/'))
        .map(|(name, version)| (name.to_ascii_lowercase(), version))
        .collect()
}

fn aws_tool(user_agent: &str) -> Option<String> {
    let tokens = tokens(user_agent);
    let find = |wanted: &str| {
        tokens
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, version)| *version)
    };
    let sdk = tokens
        .iter()
        .find(|(name, _)| name.starts_with("aws-sdk-") && name != "aws-sdk-ua")
        .map(|(name, _)| name.clone());
    let platform = platform(user_agent, &tokens);
    let on = |summary: String| match &platform {
        Some(platform) => format!("{summary} on {platform}"),
        None => summary,
    };

    for (token, shown) in [
        ("terraform", "Terraform"),
        ("pulumi", "Pulumi"),
        ("aws-cdk", "AWS CDK"),
        ("cloudformation", "CloudFormation"),
    ] {
        if let Some(version) = find(token) {
            let summary = with_version(shown, version);
            return Some(match &sdk {
                Some(sdk) => format!("{summary} ({sdk})"),
                None => summary,
            });
        }
    }
    if let Some(version) = find("aws-cli") {
        return Some(on(with_version("aws-cli", version)));
    }
    if let Some(version) = find("boto3") {
        return Some(on(with_version("Boto3", version)));
    }
    if let Some(sdk) = &sdk {
        let version = find(sdk).unwrap_or("");
        return Some(on(with_version(sdk, version)));
    }
    if let Some(version) = find("awspowershell") {
        return Some(on(with_version("AWS Tools for PowerShell", version)));
    }
    if let Some(version) = find("botocore") {
        return Some(on(with_version("Botocore", version)));
    }
    None
}

/// The operating system an SDK agent reports, with the runtime environment when it is Lambda.
fn platform(user_agent: &str, tokens: &[(String, &str)]) -> Option<String> {
    let mut os = None;
    for (name, version) in tokens {
        let named = match name.as_str() {
            "os" => os_name(version.split('#').next().unwrap_or("")),
            "linux" => Some("Linux"),
            "darwin" => Some("macOS"),
            "windows" | "windows_nt" => Some("Windows"),
            _ => None,
        };
        if named.is_some() {
            os = named;
            break;
        }
    }
    if os.is_none() {
        // aws-sdk-go writes `(go1.22.2; linux; amd64)`.
        let lower = user_agent.to_ascii_lowercase();
        os = ["; linux;", "; darwin;", "; windows;"]
            .iter()
            .find(|marker| lower.contains(*marker))
            .and_then(|marker| {
                os_name(marker.trim_matches(|character| character == ';' || character == ' '))
            });
    }
    // The Linux of penetration testers names itself in the agent: aws-cli's distribution
    // (`exe/x86_64.kali.2024`, `md/distrib#kali.2024`) or the kernel release
    // (`Linux/5.10.0-kali7-amd64`, `6.5.0-13parrot1-amd64`). GuardDuty reports calls from
    // them as PenTest findings; a reader should see it at a glance.
    if os == Some("Linux") {
        os = pentest_distribution(user_agent).or(os);
    }
    let lambda = user_agent.contains("exec-env/AWS_Lambda");
    match (os, lambda) {
        (Some(os), true) => Some(format!("{os} (AWS Lambda)")),
        (Some(os), false) => Some(os.to_string()),
        (None, true) => Some("AWS Lambda".to_string()),
        (None, false) => None,
    }
}

/// Kali, Parrot or Pentoo, when the agent names one of them as a word of its own, digits
/// around it allowed (`-kali7-`, `13parrot1`, `.kali.2024`, `distrib#kali`; not `kalimba`),
/// lower-case as agents write them. Detection asks it of every record, so each record's agent
/// is searched where it lies, just read. Its answer was kept per agent once, which callgrind
/// counted as cheaper (+0.8% of the scan's instructions against +1.3%), but timed on the
/// million-record bench the kept answers cost more: looking an agent of 200 bytes up hashes
/// it and compares it with a key read cold from a map of thousands, emptied and refilled as a
/// day's agents pass, and the scan was 4 to 7% faster searching (nine alternating pairs, each
/// won; 4.49 against 4.68 s of CPU). Three substring searches were slower still (+1.9%).
pub fn pentest_distribution(user_agent: &str) -> Option<&'static str> {
    let bytes = user_agent.as_bytes();
    let word_at = |at: usize, length: usize| {
        let before = at.checked_sub(1).map(|index| bytes[index]);
        let after = bytes.get(at + length).copied();
        !before.is_some_and(|byte| byte.is_ascii_alphabetic())
            && !after.is_some_and(|byte| byte.is_ascii_alphabetic())
    };
    memchr::memchr2_iter(b'k', b'p', bytes).find_map(|at| {
        let rest = &bytes[at..];
        if rest.get(..4) == Some(b"kali") && word_at(at, 4) {
            Some("Kali Linux")
        } else if rest.get(..6) == Some(b"parrot") && word_at(at, 6) {
            Some("Parrot OS")
        } else if rest.get(..6) == Some(b"pentoo") && word_at(at, 6) {
            Some("Pentoo Linux")
        } else {
            None
        }
    })
}

fn os_name(raw: &str) -> Option<&'static str> {
    let lower = raw.to_ascii_lowercase();
    // AWS Tools for PowerShell: `OS/Microsoft_Windows_NT_10.0.19045.0`.
    if lower.starts_with("microsoft_windows") {
        return Some("Windows");
    }
    match lower.as_str() {
        "linux" => Some("Linux"),
        "macos" | "darwin" | "osx" => Some("macOS"),
        "windows" | "win32" => Some("Windows"),
        "android" => Some("Android"),
        "ios" => Some("iOS"),
        _ => None,
    }
}

fn browser(user_agent: &str) -> Option<String> {
    let parsed = woothee::parser::Parser::new().parse(user_agent)?;
    let is_browser = matches!(
        parsed.category,
        "pc" | "smartphone" | "mobilephone" | "appliance"
    );
    if !is_browser || parsed.name == "UNKNOWN" || parsed.name.is_empty() {
        return None;
    }
    let major = parsed.version.split('.').next().unwrap_or("");
    let name = if major.is_empty() || major == "UNKNOWN" {
        parsed.name.to_string()
    } else {
        format!("{} {major}", parsed.name)
    };
    let os = match parsed.os {
        "Mac OSX" | "Mac OS X" => "macOS".to_string(),
        os if os.starts_with("Windows") => "Windows".to_string(),
        "UNKNOWN" | "" => return Some(name),
        os => os.to_string(),
    };
    Some(format!("{name} on {os}"))
}

/// `2.15.30` → `2.15`.
/// `name` and its version's first two parts; the name alone when the version has none
/// (`Jersey/${project.version}` is "Jersey", not "Jersey ").
fn with_version(name: &str, version: &str) -> String {
    match short_version(version) {
        short if short.is_empty() => name.to_string(),
        short => format!("{name} {short}"),
    }
}

fn short_version(version: &str) -> String {
    let clean: String = version
        .chars()
        .take_while(|character| character.is_ascii_alphanumeric() || *character == '.')
        .collect();
    clean.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod cache_tests {
    #[test]
    fn cached_and_fresh_summaries_agree() {
        let agents = ["aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "", "AWS Internal"];
        for _ in 0..2 {
            for agent in agents {
                assert_eq!(
                    super::device(agent).summary,
                    super::summarise(agent),
                    "{agent}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_tools_are_summarised_with_version_and_platform() {
        let cases = [
            ("aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/cloudtrail.stopLogging", "aws-cli 2.15 on macOS"),
            ("aws-cli/2.17.0 Python/3.11.7 Linux/6.2.0-1091-aws exe/x86_64.ubuntu.22 prompt/off", "aws-cli 2.17 on Linux"),
            ("APN/1.0 HashiCorp/1.0 Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.49.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2", "Terraform 1.8 (aws-sdk-go-v2)"),
            ("Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.215 md/arch#x86_64 lang/python#3.11.9 exec-env/AWS_Lambda_python3.11 cfg/retry-mode#legacy Botocore/1.34.51", "Boto3 1.34 on Linux (AWS Lambda)"),
            ("aws-sdk-go/1.51.21 (go1.22.2; linux; amd64)", "aws-sdk-go 1.51 on Linux"),
            ("aws-sdk-java/2.25.38 Linux/5.10.215-203.850.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11", "aws-sdk-java 2.25 on Linux"),
            ("aws-sdk-js/3.600.0 ua/2.0 os/darwin#23.5.0 lang/js md/nodejs#20.14.0", "aws-sdk-js 3.600 on macOS"),
            // No version to show: the name alone (Panther's corpus has `Jersey/${project.version}`).
            ("Jersey/${project.version}", "Jersey"),
            ("aws-cli/ Python/3.11.8 Linux/6.2.0", "aws-cli on Linux"),
        ];
        for (user_agent, expected) in cases {
            assert_eq!(summarise(user_agent), expected, "{user_agent}");
        }
    }

    #[test]
    fn bracketed_powershell_and_pentest_agents_are_summarised() {
        let cases = [
            // CloudTrail writes some agents in brackets.
            ("[aws-cli/2.15.30 Python/3.11.8 Linux/5.15.0 exe/x86_64.ubuntu.22 prompt/off command/iam.create-access-key]", "aws-cli 2.15 on Linux"),
            ("AWSPowerShell/4.1.600 .NET_Runtime/4.0 .NET_Framework/4.0 OS/Microsoft_Windows_NT_10.0.19045.0 WindowsPowerShell/5.0 ClientSync", "AWS Tools for PowerShell 4.1 on Windows"),
            ("aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off", "aws-cli 2.15 on Kali Linux"),
            ("aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0-kali3-amd64 md/arch#x86_64", "aws-cli 2.17 on Kali Linux"),
            ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0-13parrot1-amd64", "Boto3 1.34 on Parrot OS"),
            ("aws-cli/2.22.0 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.11-amd64 md/arch#x86_64 lang/python#3.12.6 md/distrib#kali.2024 md/prompt#off", "aws-cli 2.22 on Kali Linux"),
            // A word that merely holds one of the names is not one.
            ("aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 command/s3.cp kalimba", "aws-cli 2.15 on Linux"),
        ];
        for (user_agent, expected) in cases {
            assert_eq!(summarise(user_agent), expected, "{user_agent}");
        }
    }

    #[test]
    fn console_and_services_are_named() {
        assert_eq!(summarise("console.amazonaws.com"), "AWS Console");
        assert_eq!(summarise("console.ec2.amazonaws.com"), "AWS Console");
        assert_eq!(
            summarise("[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]"),
            "AWS Console"
        );
        assert_eq!(summarise("AWS Internal"), "AWS Internal");
        assert_eq!(
            summarise("lambda.amazonaws.com"),
            "AWS service (lambda.amazonaws.com)"
        );
        assert_eq!(summarise(""), "Unknown");
    }

    #[test]
    fn browsers_are_recognised_by_the_parser_crate() {
        assert_eq!(
            summarise("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
            "Chrome 124 on Windows"
        );
        assert_eq!(
            summarise("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"),
            "Safari 17 on macOS"
        );
        assert_eq!(
            summarise("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
            "Firefox 125 on Linux"
        );
    }

    #[test]
    fn other_agents_show_name_and_version() {
        assert_eq!(summarise("curl/8.5.0"), "curl 8.5");
        assert_eq!(
            summarise("stratus-red-team_f3f19dcd-8552"),
            "stratus-red-team (attack simulation)"
        );
    }
}
