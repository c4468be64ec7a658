//! CloudTrail `eventSource` → the service name a person uses.

use std::borrow::Cow;

/// `iam.amazonaws.com` → `IAM`; unknown sources become their first label, capitalised
/// (`bedrock.amazonaws.com` → `Bedrock`).
pub fn service_name(event_source: &str) -> Cow<'static, str> {
    let host = event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source);
    let known = match host {
        "iam" => "IAM",
        "signin" => "Sign-In",
        "sts" => "STS",
        "sso" | "sso-directory" | "identitystore" | "sso-oauth" => "IAM Identity Center",
        "access-analyzer" => "IAM Access Analyzer",
        "rolesanywhere" => "IAM Roles Anywhere",
        "organizations" => "Organizations",
        "account" => "Account Management",
        "cloudtrail" => "CloudTrail",
        "config" => "AWS Config",
        "guardduty" => "GuardDuty",
        "securityhub" => "Security Hub",
        "inspector2" | "inspector" => "Inspector",
        "macie2" | "macie" => "Macie",
        "detective" => "Detective",
        "kms" => "KMS",
        "secretsmanager" => "Secrets Manager",
        "ssm" => "Systems Manager",
        "ec2" => "EC2",
        "ec2-instance-connect" => "EC2 Instance Connect",
        "s3" => "S3",
        "lambda" => "Lambda",
        "logs" => "CloudWatch Logs",
        "monitoring" => "CloudWatch",
        "events" => "EventBridge",
        "sns" => "SNS",
        "sqs" => "SQS",
        "dynamodb" => "DynamoDB",
        "rds" => "RDS",
        "ecs" => "ECS",
        "eks" => "EKS",
        "ecr" => "ECR",
        "elasticloadbalancing" => "Elastic Load Balancing",
        "cloudformation" => "CloudFormation",
        "route53" | "route53domains" => "Route 53",
        "route53resolver" => "Route 53 Resolver",
        "acm" => "Certificate Manager",
        "apigateway" => "API Gateway",
        "cloudfront" => "CloudFront",
        "bedrock" => "Bedrock",
        "glue" => "Glue",
        "athena" => "Athena",
        "backup" => "AWS Backup",
        "wafv2" | "waf" => "WAF",
        "shield" => "Shield",
        "elasticfilesystem" => "EFS",
        "elasticache" => "ElastiCache",
        "health" => "AWS Health",
        "support" => "Support",
        "ce" => "Cost Explorer",
        "notifications" => "User Notifications",
        _ => "",
    };
    if !known.is_empty() {
        return Cow::Borrowed(known);
    }
    if host.is_empty() {
        return Cow::Borrowed("Unknown");
    }
    let mut characters = host.chars();
    let first = characters
        .next()
        .map(|character| character.to_ascii_uppercase())
        .unwrap_or_default();
    Cow::Owned(std::iter::once(first).chain(characters).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sources_get_their_service_names() {
        assert_eq!(service_name("iam.amazonaws.com"), "IAM");
        assert_eq!(service_name("signin.amazonaws.com"), "Sign-In");
        assert_eq!(service_name("sts.amazonaws.com"), "STS");
        assert_eq!(service_name("cloudtrail.amazonaws.com"), "CloudTrail");
    }

    #[test]
    fn unknown_sources_fall_back_to_a_readable_name() {
        assert_eq!(service_name("quicksight.amazonaws.com"), "Quicksight");
        assert_eq!(service_name(""), "Unknown");
        assert_eq!(service_name("aws.custom"), "Aws.custom");
    }
}
