//! One JSON document as it may arrive: a CloudTrail record, or an envelope around one. A single
//! struct holds every envelope's keys so that a document is parsed once, typed and borrowed;
//! [`crate::envelope`] then decides what it is.
//!
//! Keys also accept the lower-cased spelling some log exports write (`eventname`).
//!
//! Parsing uses sonic-rs (SIMD) on the hot path; it is serde-compatible, so the same derive
//! serves serde_json where a slower, more forgiving path is wanted.

use crate::lenient::{Flag, Text};
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
mod fast;
#[cfg(feature = "fuzzing")]
pub(crate) use fast::differential;

/// Every key serde reads into each struct of a document, aliases included, struct by struct.
#[cfg(test)]
pub(crate) fn keys_by_struct() -> Vec<(&'static str, Vec<&'static str>)> {
    use fast::serde_keys::recorded;
    vec![
        ("Document", recorded::<Document>()),
        ("UserIdentity", recorded::<UserIdentity>()),
        ("SessionContext", recorded::<SessionContext>()),
        ("SessionIssuer", recorded::<SessionIssuer>()),
        ("SessionAttributes", recorded::<SessionAttributes>()),
        ("SnsPayload", recorded::<SnsPayload>()),
        ("InsightDetails", recorded::<InsightDetails>()),
        ("OnBehalfOf", recorded::<OnBehalfOf>()),
    ]
}

/// A JSON value left unparsed: its raw text, borrowed from the input. Request parameters and
/// response elements are parsed only for the few events that become incidents.
///
/// The serde path reads it through sonic-rs's `LazyValue` (a checked skip); the fast path
/// through its own skip, which checks at least as strictly, and keeps only the span: building
/// a `LazyValue` meant running sonic-rs's skip again, 4.5% of a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raw<'a>(Cow<'a, str>);

impl<'a> Raw<'a> {
    /// The value's JSON text.
    pub fn as_raw_str(&self) -> &str {
        &self.0
    }

    /// A value's text that the caller has checked is one whole JSON value.
    pub(crate) fn checked(text: &'a str) -> Self {
        Self(Cow::Borrowed(text))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let lazy = sonic_rs::LazyValue::<'a>::deserialize(deserializer)?;
        Ok(Self(lazy.as_raw_cow()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Document<'a> {
    // CloudTrail record fields.
    #[serde(borrow, rename = "eventVersion", alias = "eventversion")]
    pub event_version: Text<'a>,
    #[serde(borrow, rename = "eventTime", alias = "eventtime")]
    pub event_time: Text<'a>,
    /// Logstash and similar pipelines replace `eventTime` with `@timestamp`.
    #[serde(borrow, rename = "@timestamp")]
    pub at_timestamp: Text<'a>,
    /// Panther's normalised event time, on its exports.
    #[serde(borrow, rename = "p_event_time")]
    pub p_event_time: Text<'a>,
    #[serde(borrow, rename = "eventSource", alias = "eventsource")]
    pub event_source: Text<'a>,
    #[serde(borrow, rename = "eventName", alias = "eventname")]
    pub event_name: Text<'a>,
    #[serde(borrow, rename = "awsRegion", alias = "awsregion")]
    pub aws_region: Text<'a>,
    #[serde(borrow, rename = "sourceIPAddress", alias = "sourceipaddress")]
    pub source_ip_address: Text<'a>,
    #[serde(borrow, rename = "userAgent", alias = "useragent")]
    pub user_agent: Text<'a>,
    #[serde(
        borrow,
        rename = "userIdentity",
        alias = "useridentity",
        deserialize_with = "object_only"
    )]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, rename = "requestParameters", alias = "requestparameters")]
    pub request_parameters: Option<Raw<'a>>,
    #[serde(borrow, rename = "responseElements", alias = "responseelements")]
    pub response_elements: Option<Raw<'a>>,
    #[serde(borrow, rename = "additionalEventData", alias = "additionaleventdata")]
    pub additional_event_data: Option<Raw<'a>>,
    #[serde(borrow, rename = "errorCode", alias = "errorcode")]
    pub error_code: Text<'a>,
    #[serde(borrow, rename = "errorMessage", alias = "errormessage")]
    pub error_message: Text<'a>,
    #[serde(borrow, rename = "eventID", alias = "eventid", alias = "eventId")]
    pub event_id: Text<'a>,
    #[serde(rename = "readOnly", alias = "readonly")]
    pub read_only: Flag,
    #[serde(borrow, rename = "eventType", alias = "eventtype")]
    pub event_type: Text<'a>,
    #[serde(borrow, rename = "recipientAccountId", alias = "recipientaccountid")]
    pub recipient_account_id: Text<'a>,
    #[serde(rename = "managementEvent", alias = "managementevent")]
    pub management_event: Flag,
    #[serde(borrow, rename = "eventCategory", alias = "eventcategory")]
    pub event_category: Text<'a>,
    /// Set when the call came through a VPC endpoint.
    #[serde(borrow, rename = "vpcEndpointId", alias = "vpcendpointid")]
    pub vpc_endpoint_id: Text<'a>,

    // EventBridge event envelope.
    #[serde(borrow, rename = "detail-type")]
    pub detail_type: Text<'a>,
    #[serde(borrow)]
    pub detail: Option<Raw<'a>>,
    #[serde(borrow)]
    pub source: Text<'a>,
    #[serde(borrow)]
    pub account: Text<'a>,
    #[serde(borrow)]
    pub region: Text<'a>,
    #[serde(borrow)]
    pub time: Text<'a>,

    // SNS as delivered to Lambda: {"EventSource":"aws:sns","Sns":{"Message":"…"}}.
    #[serde(borrow, rename = "Sns", deserialize_with = "object_only")]
    pub sns: Option<SnsPayload<'a>>,
    // SNS as delivered over HTTP, or the Sns object's own keys.
    #[serde(borrow, rename = "Type")]
    pub sns_type: Text<'a>,
    #[serde(borrow, rename = "Message")]
    pub message: Text<'a>,
    #[serde(borrow, rename = "SubscribeURL")]
    pub subscribe_url: Text<'a>,
    #[serde(borrow, rename = "TopicArn")]
    pub topic_arn: Text<'a>,

    // SQS as delivered to Lambda: {"eventSource":"aws:sqs","body":"…"}; as ReceiveMessage
    // answers: {"Messages":[{"MessageId":"…","Body":"…"}]}.
    #[serde(borrow, alias = "Body")]
    pub body: Text<'a>,
    #[serde(borrow, rename = "Messages")]
    pub messages: Option<Raw<'a>>,

    // Nested records: a Lambda event, or an S3 notification.
    #[serde(borrow, rename = "Records")]
    pub records: Option<Raw<'a>>,
    #[serde(borrow)]
    pub s3: Option<Raw<'a>>,
    #[serde(borrow, rename = "s3ObjectKey")]
    pub s3_object_key: Option<Raw<'a>>,
    #[serde(borrow, rename = "digestPublicKeyFingerprint")]
    pub digest_fingerprint: Text<'a>,

    // `aws cloudtrail lookup-events` (the LookupEvents API, 90 days of management events
    // without a trail): `{"Events":[{"EventId":"…","CloudTrailEvent":"<record>"}]}`.
    #[serde(borrow, rename = "CloudTrailEvent")]
    pub cloudtrail_event: Text<'a>,
    #[serde(borrow, rename = "Events")]
    pub events: Option<Raw<'a>>,

    // A Kinesis Data Streams record as delivered to Lambda:
    // `{"eventSource":"aws:kinesis","kinesis":{"data":"<base64>"}}`.
    #[serde(borrow)]
    pub kinesis: Option<Raw<'a>>,

    // Amazon Data Firehose handing its records on: to a data-transformation Lambda
    // `{"invocationId":…,"deliveryStreamArn":…,"records":[{"recordId":…,"data":"<base64>"}]}`,
    // to an HTTP endpoint `{"requestId":…,"timestamp":…,"records":[{"data":"<base64>"}]}`.
    #[serde(borrow, rename = "deliveryStreamArn")]
    pub delivery_stream_arn: Text<'a>,
    #[serde(borrow, rename = "requestId")]
    pub firehose_request_id: Text<'a>,
    #[serde(borrow, rename = "records")]
    pub firehose_records: Option<Raw<'a>>,

    // CloudWatch Logs subscription: to Lambda `{"awslogs":{"data":"…"}}`; to Firehose the
    // batch itself.
    #[serde(borrow)]
    pub awslogs: Option<Raw<'a>>,
    #[serde(borrow, rename = "messageType")]
    pub message_type: Text<'a>,
    #[serde(borrow, rename = "logEvents")]
    pub log_events: Option<Raw<'a>>,
    // `aws logs filter-log-events` and `get-log-events` (a trail's log group read back with the
    // CLI): `{"events":[{"timestamp":…,"message":"<record>"}],"nextForwardToken":…}`.
    #[serde(borrow, rename = "events")]
    pub log_events_answer: Option<Raw<'a>>,
    // One of those log events alone (`jq -c '.events[]'`), or a CloudWatch Logs Insights
    // query's result exported as JSON (`{"@timestamp":…,"@message":"<record>"}`).
    #[serde(borrow, rename = "message", alias = "@message")]
    pub log_message: Text<'a>,

    // A CloudTrail Insights event (a trail's `CloudTrail-Insight` files, EventBridge's "AWS
    // Insight via CloudTrail"): no eventName of its own; the API whose rate was unusual is here.
    #[serde(borrow, rename = "insightDetails", deserialize_with = "object_only")]
    pub insight_details: Option<InsightDetails<'a>>,

    /// Which keys the plain read (see [`fast`]) found; `None` when serde read the document.
    #[serde(skip)]
    pub keys_read: Option<KeysRead>,
}

/// The keys of a record read by the plain read, which reads keys only as written (no escapes,
/// no lower-cased aliases) and refuses a key given twice: what it did not find at the top level
/// is not there under any spelling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeysRead {
    /// Bit `i`: the member of index `i` (`fast::document_member_index`) was present.
    members: u64,
    /// A top-level key it does not read had a dot in it (`{"userIdentity.type": …}` is at path
    /// `userIdentity.type` for a pattern).
    dotted: bool,
}

impl UserIdentity<'_> {
    /// As [`Document::lacks_key`], for a member of `userIdentity`.
    pub fn lacks_key(&self, key: &str) -> Option<bool> {
        let bit = fast::identity_member_index(key)?;
        self.keys_read.map(|read| read & (1 << bit) == 0)
    }
}

/// What a CloudTrail Insights event is about: an API (`eventSource`, `eventName`) whose call
/// rate or error rate (`insightType`) left its baseline, and whether that began or ended
/// (`state`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InsightDetails<'a> {
    #[serde(borrow)]
    pub state: Text<'a>,
    #[serde(borrow, rename = "eventSource")]
    pub event_source: Text<'a>,
    #[serde(borrow, rename = "eventName")]
    pub event_name: Text<'a>,
    #[serde(borrow, rename = "insightType")]
    pub insight_type: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SnsPayload<'a> {
    #[serde(borrow, rename = "Message")]
    pub message: Text<'a>,
    #[serde(borrow, rename = "Type")]
    pub sns_type: Text<'a>,
}

/// CloudTrail `userIdentity`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserIdentity<'a> {
    #[serde(borrow, rename = "type")]
    pub identity_type: Text<'a>,
    #[serde(borrow, rename = "principalId", alias = "principalid")]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow, rename = "accountId", alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, rename = "accessKeyId", alias = "accesskeyid")]
    pub access_key_id: Text<'a>,
    #[serde(borrow, rename = "userName", alias = "username")]
    pub user_name: Text<'a>,
    #[serde(borrow, rename = "invokedBy", alias = "invokedby")]
    pub invoked_by: Text<'a>,
    #[serde(
        borrow,
        rename = "sessionContext",
        alias = "sessioncontext",
        deserialize_with = "object_only"
    )]
    pub session_context: Option<SessionContext<'a>>,
    /// An IAM Identity Center user acting through trusted identity propagation
    /// (`type: IdentityCenterUser`) has no ARN or name; this says who.
    #[serde(borrow, rename = "onBehalfOf", deserialize_with = "object_only")]
    pub on_behalf_of: Option<OnBehalfOf<'a>>,
    /// Bit `i`: the member of index `i` (`fast::identity_member_index`) was present, when the
    /// plain read read the object; `None` when serde did.
    #[serde(skip)]
    pub keys_read: Option<u64>,
}

/// The Identity Center user an `IdentityCenterUser` identity acts for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OnBehalfOf<'a> {
    /// The user's id in the identity store.
    #[serde(borrow, rename = "userId")]
    pub user_id: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionContext<'a> {
    #[serde(
        borrow,
        rename = "sessionIssuer",
        alias = "sessionissuer",
        deserialize_with = "object_only"
    )]
    pub session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow, deserialize_with = "object_only")]
    pub attributes: Option<SessionAttributes<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    pub issuer_type: Text<'a>,
    #[serde(borrow, rename = "userName", alias = "username")]
    pub user_name: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionAttributes<'a> {
    #[serde(rename = "mfaAuthenticated", alias = "mfaauthenticated")]
    pub mfa_authenticated: Flag,
    #[serde(borrow, rename = "creationDate", alias = "creationdate")]
    pub creation_date: Text<'a>,
}

impl<'a> Document<'a> {
    /// Parses one JSON document. Only an object is a document (see [`ObjectOnly`]).
    ///
    /// # Errors
    /// sonic-rs's error for anything else, or for JSON it cannot read.
    pub fn parse(bytes: &'a [u8]) -> sonic_rs::Result<Self> {
        let mut document = Self::default();
        Self::parse_into(bytes, &mut document)?;
        Ok(document)
    }

    /// [`Document::parse`] into `slot`, a fresh [`Document::default`] (the plain read fills
    /// only the fields it finds; each caller makes the slot just before, so it is not reset
    /// here a second time): a plain record is read in place, without copying the 1.4 KB
    /// document on its way out.
    ///
    /// # Errors
    /// As [`Document::parse`]; `slot` is then left in an unspecified state.
    pub(crate) fn parse_into(bytes: &'a [u8], slot: &mut Self) -> sonic_rs::Result<()> {
        let text = utf8(bytes)?;
        if fast::parse_into(text, slot).is_none() {
            *slot = Self::parse_with_serde(text)?;
        }
        Ok(())
    }

    /// The object `text` starts with, read into `slot` (a fresh [`Document::default`], as for
    /// [`Document::parse_into`]) when it is a plain record (see [`fast`]): its length and the
    /// newlines in it. `None` when it is not plain, or does not end within `text`; `slot` is
    /// then left partly filled, and the object is for [`Document::parse`] once framed. What
    /// follows the object is not looked at, so a framer can read a `Records` array's elements
    /// with it, without scanning each for its end first.
    pub(crate) fn parse_plain_prefix(text: &'a str, slot: &mut Self) -> Option<(usize, u64)> {
        fast::parse_prefix_into(text, slot)
    }

    /// The serde path: every spelling and shape this type accepts, and the errors.
    fn parse_with_serde(text: &'a str) -> sonic_rs::Result<Self> {
        let bytes = text.as_bytes();
        if nests_deeper_than(bytes, MAX_SERDE_DEPTH) {
            return Err(<sonic_rs::Error as serde::de::Error>::custom(format!(
                "arrays and objects nested more than {MAX_SERDE_DEPTH} deep"
            )));
        }
        sonic_rs::from_str::<ObjectOnly<Self>>(text).map(|ObjectOnly(document)| document)
    }
}

/// `bytes` as text, checked once for both paths (by SIMD: std's check took a thousand
/// instructions a record). Text that is not UTF-8 is refused before either reads it: the
/// plain read cuts `&str`s at ASCII bytes, and sonic-rs checks the strings it reads but not the
/// values it keeps raw (`LazyValue`, as [`Raw`] reads them), making a `&str` of whatever bytes
/// were there (a debug assertion in sonic-rs, undefined behaviour past it): a byte that is not
/// UTF-8 inside `requestParameters`, or inside an EventBridge `detail`, did that. The caller's
/// repair path replaces such bytes and says so.
fn utf8(bytes: &[u8]) -> sonic_rs::Result<&str> {
    simdutf8::basic::from_utf8(bytes)
        .map_err(|_| <sonic_rs::Error as serde::de::Error>::custom("the text is not UTF-8"))
}

/// The deepest nesting the serde path takes, as deep as the plain read goes: a CloudTrail
/// record nests a dozen levels at most (policy documents come as strings). sonic-rs skips the
/// values it does not keep by recursion, with no limit of its own: a value nested 30,000 deep
/// overflowed a worker's stack and aborted the process, and in a debug build (the tests') 100
/// levels did.
const MAX_SERDE_DEPTH: usize = 64;

/// Whether `bytes` nests arrays and objects deeper than `limit` (brackets inside strings do
/// not count). Only text the plain read did not take comes here; one pass, no allocation.
fn nests_deeper_than(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Reads `T` from a JSON object only. serde's derived structs also accept an array and fill
/// their fields in the order they are declared, which read `["1.09", …, "DeleteUser"]` as a
/// record and `"userIdentity": ["Root"]` as the root user. Refused here, such a record goes to
/// the repair path, which notes the field and reads the rest.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(ObjectOnly)
    }
}

/// An optional member read with [`ObjectOnly`]; `null` is absent.
fn object_only<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<ObjectOnly<T>>::deserialize(deserializer)?.map(|ObjectOnly(value)| value))
}

impl Document<'_> {
    /// True when the document carries CloudTrail record fields rather than an envelope: an
    /// `eventName` and none of the envelope keys. Exports that drop `eventSource` or `eventID`
    /// are still records; normalisation fills in what it can.
    pub fn looks_like_record(&self) -> bool {
        (self.event_name.is_some() || self.insight_event_name().is_some())
            && self.detail.is_none()
            && self.sns.is_none()
            && !self.body.is_some()
            && self.records.is_none()
            // An S3 event notification has an eventName too (`ObjectCreated:Put`).
            && self.s3.is_none()
            && self.s3_object_key.is_none()
            && self.awslogs.is_none()
            && self.log_events.is_none()
            && self.kinesis.is_none()
            // A Lambda event source's record (`aws:kinesis`, `aws:dynamodb`, …) has an
            // eventName too; a CloudTrail record's source is a service's host name.
            && !self.lambda_event_source()
    }

    /// The API an Insights event is about, when this is one.
    pub fn insight_event_name(&self) -> Option<&str> {
        self.insight_details.as_ref()?.event_name.as_str()
    }

    /// Whether `eventSource` names a Lambda event source (`aws:…`) rather than a service.
    pub fn lambda_event_source(&self) -> bool {
        self.event_source
            .as_str()
            .is_some_and(|source| source.starts_with("aws:"))
    }

    /// Whether the record surely has no top-level member `key`, under any spelling (`Some(true)`),
    /// surely has one (`Some(false)`, perhaps `null`), or cannot tell (serde read it, or this is
    /// not a key the plain read reads).
    pub fn lacks_key(&self, key: &str) -> Option<bool> {
        let bit = fast::document_member_index(key)?;
        self.keys_read.map(|read| read.members & (1 << bit) == 0)
    }

    /// Whether the plain read saw no top-level key with a dot in it: then no key spells a path
    /// of several steps at once. `false` when serde read the document.
    pub fn surely_no_dotted_keys(&self) -> bool {
        self.keys_read.is_some_and(|read| !read.dotted)
    }

    /// The identity type (`IAMUser`, `AssumedRole`, `Root`, …), or `""`.
    pub fn identity_type(&self) -> &str {
        self.user_identity
            .as_ref()
            .map_or("", |identity| identity.identity_type.or_empty())
    }
}
