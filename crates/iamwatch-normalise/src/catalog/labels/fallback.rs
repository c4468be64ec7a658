//! Labels for names no table holds: the words of the name split apart, and for Korean the
//! verb translated and put last, and the nouns translated, as Korean puts them
//! ("DeleteBucketPolicy" → "Delete bucket policy" / "버킷 정책 삭제").

use super::Label;

/// The verbs API names start with, and their Korean, which a Korean label puts last.
const VERBS: &[(&str, &str)] = &[
    ("Create", "생성"),
    ("Delete", "삭제"),
    ("Update", "수정"),
    ("Put", "설정"),
    ("Attach", "연결"),
    ("Detach", "분리"),
    ("Add", "추가"),
    ("Remove", "제거"),
    ("Enable", "활성화"),
    ("Disable", "비활성화"),
    ("Start", "시작"),
    ("Stop", "중지"),
    ("Modify", "변경"),
    ("Set", "설정"),
    ("Get", "조회"),
    ("List", "목록 조회"),
    ("Describe", "조회"),
    ("Upload", "업로드"),
    ("Tag", "태그 지정"),
    ("Untag", "태그 제거"),
    ("Run", "실행"),
    ("Send", "전송"),
    ("Invoke", "호출"),
    ("Authorize", "허용"),
    ("Revoke", "취소"),
    ("Register", "등록"),
    ("Deregister", "등록 해제"),
    ("Associate", "연결"),
    ("Disassociate", "연결 해제"),
    ("Terminate", "종료"),
    ("Reset", "재설정"),
    ("Restore", "복원"),
    ("Import", "가져오기"),
    ("Export", "내보내기"),
    ("Schedule", "예약"),
    ("Cancel", "취소"),
    ("Decrypt", "복호화"),
    ("Encrypt", "암호화"),
    ("Generate", "생성"),
    ("Batch", "일괄 처리"),
    ("Copy", "복사"),
    ("Download", "다운로드"),
    ("Failover", "장애 조치"),
    ("Reboot", "재부팅"),
    ("Authenticate", "인증"),
    ("Accept", "수락"),
    ("Reject", "거부"),
    ("Activate", "활성화"),
    ("Deactivate", "비활성화"),
    ("Apply", "적용"),
    ("Change", "변경"),
    ("Confirm", "확인"),
    ("Verify", "확인"),
    ("Validate", "검증"),
    ("Invite", "초대"),
    ("Leave", "탈퇴"),
    ("Move", "이동"),
    ("Publish", "게시"),
    ("Purge", "비우기"),
    ("Replace", "교체"),
    ("Rotate", "교체"),
    ("Search", "검색"),
    ("Share", "공유"),
    ("Subscribe", "구독"),
    ("Unsubscribe", "구독 취소"),
    ("Pause", "일시 중지"),
    ("Resume", "재개"),
    ("Execute", "실행"),
    ("Test", "테스트"),
];

/// Korean for the nouns API names are made of, as the AWS console's Korean pages name them, for
/// the fallback: "DeleteRouteTable" → "라우팅 테이블 삭제". Plurals as singulars (Korean does not
/// mark them); a word not here stays as written.
const NOUNS_KO: &[(&str, &str)] = &[
    ("Access", "액세스"),
    ("Account", "계정"),
    ("Accounts", "계정"),
    ("Activity", "활동"),
    ("Agreement", "계약"),
    ("Alias", "별칭"),
    ("Alternate", "대체"),
    ("Anchor", "앵커"),
    ("Attribute", "속성"),
    ("Attributes", "속성"),
    ("Automated", "자동"),
    ("Backup", "백업"),
    ("Backups", "백업"),
    ("Block", "차단"),
    ("Bucket", "버킷"),
    ("Buckets", "버킷"),
    ("Case", "사례"),
    ("Certificate", "인증서"),
    ("Channel", "채널"),
    ("Cluster", "클러스터"),
    ("Clusters", "클러스터"),
    ("Code", "코드"),
    ("Command", "명령"),
    ("Config", "구성"),
    ("Configuration", "구성"),
    ("Connection", "연결"),
    ("Console", "콘솔"),
    ("Contact", "연락처"),
    ("Cost", "비용"),
    ("Data", "데이터"),
    ("Delivery", "전송"),
    ("Detector", "탐지기"),
    ("Domain", "도메인"),
    ("Egress", "송신"),
    ("Enabled", "활성화 여부"),
    ("Encryption", "암호화"),
    ("Endpoint", "엔드포인트"),
    ("Entitlement", "권한"),
    ("Entry", "항목"),
    ("Event", "이벤트"),
    ("Events", "이벤트"),
    ("Export", "내보내기"),
    ("File", "파일"),
    ("Filter", "필터"),
    ("Finding", "결과"),
    ("Findings", "결과"),
    ("Flow", "흐름"),
    ("Forecast", "예측"),
    ("Foundation", "파운데이션"),
    ("Function", "함수"),
    ("Functions", "함수"),
    ("Gateway", "게이트웨이"),
    ("Global", "글로벌"),
    ("Group", "그룹"),
    ("Groups", "그룹"),
    ("Guardrail", "가드레일"),
    ("Identities", "자격 증명"),
    ("Identity", "자격 증명"),
    ("Image", "이미지"),
    ("Images", "이미지"),
    ("Information", "정보"),
    ("Ingress", "수신"),
    ("Insight", "인사이트"),
    ("Instance", "인스턴스"),
    ("Instances", "인스턴스"),
    ("Internet", "인터넷"),
    ("Invocation", "호출"),
    ("Key", "키"),
    ("Keys", "키"),
    ("Lifecycle", "수명 주기"),
    ("Log", "로그"),
    ("Logging", "로깅"),
    ("Logs", "로그"),
    ("Member", "멤버"),
    ("Members", "멤버"),
    ("Mirror", "미러"),
    ("Model", "모델"),
    ("Network", "네트워크"),
    ("Object", "객체"),
    ("Objects", "객체"),
    ("Parameter", "파라미터"),
    ("Parameters", "파라미터"),
    ("Password", "비밀번호"),
    ("Permission", "권한"),
    ("Permissions", "권한"),
    ("Policy", "정책"),
    ("Portion", "일부"),
    ("Profile", "프로필"),
    ("Project", "프로젝트"),
    ("Public", "퍼블릭"),
    ("Query", "쿼리"),
    ("Queue", "대기열"),
    ("Quota", "할당량"),
    ("Region", "리전"),
    ("Replication", "복제"),
    ("Repository", "리포지토리"),
    ("Result", "결과"),
    ("Role", "역할"),
    ("Route", "라우팅"),
    ("Rule", "규칙"),
    ("Rules", "규칙"),
    ("Secret", "보안 암호"),
    ("Security", "보안"),
    ("Send", "전송"),
    ("Sending", "전송"),
    ("Serial", "직렬"),
    ("Session", "세션"),
    ("Sessions", "세션"),
    ("Snapshot", "스냅샷"),
    ("Snapshots", "스냅샷"),
    ("Stack", "스택"),
    ("Stream", "스트림"),
    ("Subnet", "서브넷"),
    ("Table", "테이블"),
    ("Target", "대상"),
    ("Task", "작업"),
    ("Template", "템플릿"),
    ("Token", "토큰"),
    ("Topic", "주제"),
    ("Traffic", "트래픽"),
    ("Trail", "추적"),
    ("Trust", "신뢰"),
    ("Usage", "사용량"),
    ("Use", "사용"),
    ("User", "사용자"),
    ("Users", "사용자"),
    ("Verification", "확인"),
    ("Version", "버전"),
    ("Versioning", "버전 관리"),
    ("Visibility", "공개 여부"),
    ("Volume", "볼륨"),
    ("Volumes", "볼륨"),
    ("Web", "웹"),
];

/// Abbreviations some APIs write as words (`DisableEbsEncryptionByDefault`), written as
/// abbreviations in a fallback label: "Disable EBS encryption by default".
const ABBREVIATIONS: &[&str] = &[
    "ACL", "AMI", "API", "ARN", "DB", "DNS", "EBS", "EC2", "ECR", "ECS", "EKS", "IAM", "ID", "IP",
    "KMS", "MFA", "OIDC", "RDS", "S3", "SAML", "SES", "SNS", "SQS", "SSH", "SSM", "SSO", "STS",
    "URL", "VPC", "VPN", "WAF",
];

/// "UpdateFunctionConfiguration" → "Update function configuration" / "함수 구성 수정".
pub(super) fn fallback(api: &str) -> Label {
    let words: Vec<String> = split_camel_case(api)
        .into_iter()
        .map(|word| {
            let upper = word.to_ascii_uppercase();
            if ABBREVIATIONS.contains(&upper.as_str()) {
                upper
            } else {
                word
            }
        })
        .collect();
    if words.is_empty() {
        return Label {
            en: "Unknown event".into(),
            ko: "알 수 없는 이벤트".into(),
            known: false,
        };
    }
    let mut english = String::new();
    for (position, word) in words.iter().enumerate() {
        if position > 0 {
            english.push(' ');
        }
        let is_acronym = word.len() > 1 && word.chars().all(|character| !character.is_lowercase());
        if position == 0 || is_acronym {
            english.push_str(word);
        } else {
            english.push_str(&word.to_lowercase());
        }
    }
    let korean = match VERBS.iter().find(|(verb, _)| words[0] == *verb) {
        // S3 puts objects by uploading them; elsewhere "Put" sets a configuration.
        Some(_) if words[0] == "Put" && words.last().is_some_and(|last| last == "Object") => {
            format!("{} 업로드", korean_object(&words[1..]))
        }
        Some((_, verb_ko)) if words.len() > 1 => {
            format!("{} {}", korean_object(&words[1..]), verb_ko)
        }
        Some((_, verb_ko)) => (*verb_ko).to_string(),
        _ => words.join(" "),
    };
    Label {
        en: english,
        ko: korean,
        known: false,
    }
}

/// The object of a fallback's verb in Korean: each noun translated, and what English says after
/// the thing (a preposition's object, "by default") put before it, as Korean says it: "Role To
/// DB Cluster" → "DB 클러스터에 역할", "EBS Encryption By Default" → "기본 EBS 암호화".
fn korean_object(words: &[String]) -> String {
    if let [rest @ .., by, default] = words {
        if !rest.is_empty() && by == "By" && default == "Default" {
            return format!("기본 {}", korean_object(rest));
        }
    }
    let preposition = words
        .iter()
        .enumerate()
        .skip(1)
        .take(words.len().saturating_sub(2))
        .find_map(|(at, word)| {
            let particle = match word.as_str() {
                "To" => "에",
                "From" => "에서",
                "For" => "용",
                _ => return None,
            };
            Some((at, particle))
        });
    if let Some((at, particle)) = preposition {
        return format!(
            "{}{particle} {}",
            korean_object(&words[at + 1..]),
            korean_object(&words[..at])
        );
    }
    let translated: Vec<&str> = words
        .iter()
        .map(|word| match word.as_str() {
            "And" => "및",
            word => NOUNS_KO
                .binary_search_by(|(noun, _)| noun.cmp(&word))
                .map_or(word, |found| NOUNS_KO[found].1),
        })
        .collect();
    translated.join(" ")
}

/// Splits `CreateSAMLProvider` into `["Create", "SAML", "Provider"]`.
fn split_camel_case(name: &str) -> Vec<String> {
    let characters: Vec<char> = name
        .chars()
        .filter(|character| character.is_alphanumeric())
        .collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (position, &character) in characters.iter().enumerate() {
        let previous = position.checked_sub(1).map(|index| characters[index]);
        let next = characters.get(position + 1);
        let starts_word = match previous {
            None => false,
            Some(previous) => {
                (character.is_uppercase() && previous.is_lowercase())
                    || (character.is_uppercase()
                        && previous.is_uppercase()
                        && next.is_some_and(|next| next.is_lowercase()))
                    || (character.is_ascii_digit() != previous.is_ascii_digit())
            }
        };
        if starts_word && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(character);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::super::label;
    use super::*;

    #[test]
    fn unknown_names_get_a_readable_fallback() {
        let fallback = label("UpdateFunctionConfiguration");
        assert!(!fallback.known);
        assert_eq!(fallback.en, "Update function configuration");
        assert_eq!(fallback.ko, "함수 구성 수정");
        assert_eq!(label("CreateSAMLThing").en, "Create SAML thing");
        // Abbreviations an API wrote as words (Panther's corpus).
        let ebs = label("DisableEbsEncryptionByDefault");
        assert_eq!(ebs.en, "Disable EBS encryption by default");
        assert_eq!(ebs.ko, "기본 EBS 암호화 비활성화");
        // Nouns translated, in the English order (a compound's order in Korean too); words
        // without a Korean entry stay as written.
        assert_eq!(label("DeleteRouteTable").ko, "라우팅 테이블 삭제");
        assert_eq!(
            label("AuthorizeSecurityGroupEgress").ko,
            "보안 그룹 송신 허용"
        );
        // What English says after the thing comes before it in Korean.
        assert_eq!(label("AddRoleToDBCluster").ko, "DB 클러스터에 역할 추가");
        assert_eq!(
            label("RestoreDBInstanceFromDBSnapshot").ko,
            "DB 스냅샷에서 DB 인스턴스 복원"
        );
        assert_eq!(
            label("PutUseCaseForModelAccess").ko,
            "모델 액세스용 사용 사례 설정"
        );
        assert_eq!(label("GetCostAndUsage").ko, "비용 및 사용량 조회");
        assert_eq!(label("ByDefault").ko, "By Default");
        assert_eq!(label("CreateTo").ko, "To 생성");
        assert_eq!(label("ReplaceToken").ko, "토큰 교체");
        assert_eq!(label("FrobnicateWidget").ko, "Frobnicate Widget");
        assert_eq!(label("Authenticate").ko, "인증");
        assert_eq!(label("PutObject").ko, "객체 업로드");
        assert_eq!(label("PutObjectLegalHold").ko, "객체 Legal Hold 설정");
        assert_eq!(label("DescribeDbProxies").en, "Describe DB proxies");
        assert_eq!(label("Frobnicate").ko, "Frobnicate");
        assert_eq!(label("").en, "Unknown event");
    }

    #[test]
    fn the_korean_nouns_are_sorted_for_the_search() {
        assert!(NOUNS_KO.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}
