"""Classifies an AWS action into access capabilities, and says why.

One mechanism, in this order:
1. a reviewed exception (service/data/exceptions.toml) replaces everything, with its own reason;
2. otherwise the general rules below read the access level, the verb and nouns of the action name, the
   resource types it acts on and, for data reads only, the description; each matching rule adds
   capabilities with its rule id and the evidence it saw;
3. if no rule recognised the action, a fallback by access level decides, conservatively (a write nobody
   recognised is `administer-resource`, so deny policies err on the safe side). Fallbacks are reported
   as the weakest calls (`iamcap report`).

The rules never look at a service by name: a new AWS service or action lands by the same principles.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from .capabilities import Capability, ordered
from .catalog import Action

CLASSIFIER_VERSION = "1.0.0"

A = Capability.ADMINISTER_RESOURCE
RC = Capability.READ_CONFIG
U = Capability.USE_RESOURCE
RD = Capability.READ_DATA
WD = Capability.WRITE_DATA
DD = Capability.DELETE_DATA

# Every rule id, with the sentence a reader sees in a "why". Kept in one table so the report and the
# docs list the same rules the code applies.
RULES: dict[str, str] = {
    "permissions-management": "AWS's access level is Permissions management: it changes who may use the resource",
    "tagging": "it adds or removes tags; tags drive attribute-based access control, so changing them can change who gets in",
    "tag-read": "it reads tags, which are configuration",
    "crypto-decrypt": "it returns plaintext decrypted with a key",
    "crypto-encrypt": "it produces ciphertext or data keys with a key: it writes data under that key",
    "crypto-reencrypt": "it decrypts and re-encrypts data: it reads plaintext and writes ciphertext",
    "crypto-sign": "it signs or verifies with a key without reading or changing any data the key protects",
    "use-verb": "it acts through the resource (assume, invoke, connect, execute, call) without changing it",
    "use-start": "it starts a session, execution, query, build or command run on the resource",
    "use-credentials": "it returns temporary credentials or tokens to act as or through the resource",
    "use-inference": "it sends the caller's input to a service to be processed (inference, analysis, translation)",
    "list-data": "it lists the contents held by the resource (objects, items, messages, versions, parts), which is data",
    "list": "it lists resources or their settings, not their contents",
    "read-data-verb": "its verb reads data out of the resource (query, scan, select, receive, download, export)",
    "read-data-noun": "it reads the data the resource holds (its name names contents, not a setting)",
    "read-data-description": "AWS describes it as returning contents, results, records or secret values",
    "read-config": "it reads configuration, metadata, status or settings",
    "delete-data-item": "it deletes data held inside a resource",
    "delete-data-purge": "it empties a resource of its data",
    "delete-data-container": "it removes a resource that holds data: the resource and its data go with it",
    "delete-config": "it removes a resource or setting that holds no data of its own",
    "write-data-noun": "it adds or changes data held by the resource",
    "write-data-send": "it sends or publishes messages or data through the resource",
    "export-data": "it copies data out of the resource (an export), which is reading it",
    "read-data-subscribe": "subscribing delivers the resource's messages or records to the subscriber",
    "use-send-email": "it sends email through an identity without reading or changing the identity",
    "import-data": "it loads data into the resource (an import); it also creates or changes resources, so control plane too",
    "write-config": "it creates, changes, starts, stops or reconfigures a resource (control plane)",
    "fallback-write": "a write no rule recognised: treated as control plane, conservatively",
    "fallback-read": "a read no rule recognised: treated as reading configuration",
}
FALLBACK_RULES = frozenset({"fallback-write", "fallback-read"})


@dataclass(frozen=True, slots=True)
class Reason:
    capability: Capability
    source: str  # "rule", "exception" or "fallback"
    rule: str  # a RULES id, or "exception"
    explanation: str


@dataclass(frozen=True, slots=True)
class Classification:
    capabilities: tuple[Capability, ...]
    reasons: tuple[Reason, ...]  # one per capability, same order

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.rule for r in self.reasons))


# ---------------------------------------------------------------------------------------------------
# Reading an action name
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|$)|[A-Z]?[a-z]+|[0-9]+|[A-Z]+")
# Prefixes that qualify the verb rather than being it: BatchGetItem, AdminCreateUser, PartiQLSelect.
_VERB_QUALIFIERS = {"batch", "admin", "bulk", "parti", "db"}
_PREPOSITIONS = {"by", "for", "from", "to", "in", "with", "of", "on", "at", "into", "as", "via"}


def split_words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class NameParts:
    verb: str
    nouns: tuple[str, ...]  # singular, lower case, the noun phrase before any preposition
    phrase: str  # nouns joined by spaces, padded with spaces for whole-word matching
    query_language: bool = False  # PartiQLSelect and the like: statements over a table's items
    resource_types: frozenset[str] = frozenset()  # lower case
    indirect: bool = False  # the verb's object follows a preposition: ConnectToWidget, not ConnectWidget

    @property
    def head(self) -> str:
        return self.nouns[-1] if self.nouns else ""


def parse_name(name: str, resource_types=()) -> NameParts:
    words = split_words(name)
    query_language = False
    while len(words) > 1 and words[0] in _VERB_QUALIFIERS:
        if words[0] == "parti" and words[1] == "ql":  # PartiQL
            words = words[1:]
            query_language = True
        words = words[1:]
    verb = words[0] if words else ""
    nouns: list[str] = []
    indirect = False
    for word in words[1:]:
        if word in _PREPOSITIONS:
            if nouns:
                break
            indirect = True
            continue
        nouns.append(_singular(word))
    return NameParts(
        verb=verb,
        nouns=tuple(nouns),
        phrase=f" {' '.join(nouns)} ",
        query_language=query_language,
        resource_types=frozenset(t.lower() for t in resource_types),
        indirect=indirect,
    )


def _has(phrase: str, terms) -> str | None:
    """The term (a word or words, singular) found whole in the noun phrase: the longest of those that end
    the phrase (its head), else the longest anywhere."""
    best, best_at_end = None, None
    for term in terms:
        if f" {term} " in phrase:
            if phrase.endswith(f" {term} ") and (best_at_end is None or len(term) > len(best_at_end)):
                best_at_end = term
            if best is None or len(term) > len(best):
                best = term
    return best_at_end or best


# ---------------------------------------------------------------------------------------------------
# Vocabulary. Nouns are singular and lower case.

# What a resource holds or produces, as opposed to the resource itself or its settings.
DATA_NOUNS = (
    "object", "object version", "item", "record", "message", "row", "blob", "file", "folder", "commit",
    "content", "body", "payload", "secret value", "parameter", "parameter history", "log event", "event",
    "query result", "statement result", "result", "metric data", "metric statistic", "metric widget image",
    "password data", "credential report", "console output", "console screenshot", "snapshot block",
    "changed block", "layer part", "layer upload", "download url", "part", "multipart upload", "image",
    "shard iterator", "chunk", "media", "raw message", "document content", "data", "torrent", "archive",
    "job output", "recording", "transcript", "value", "finding", "memory", "command invocation",
    "execution history", "random", "random password", "shared secret", "difference", "inventory", "branch",
    "vector", "embedding", "comment",
    "knowledge base document",
)
# Secrets a read returns (not data nouns for writes: ChangePassword administers a user).
SECRET_NOUNS = ("password", "master user password", "private key", "secret key", "access key secret")
# Data nouns that also name a resource of their own: writing one creates it, deleting one removes it.
DATA_AND_CONTAINER = {"parameter", "archive", "secret"}
# Weak data nouns count only as the head of the phrase: GetParameters yes, DescribeDBParameterGroups no.
WEAK_DATA_NOUNS = {"parameter", "event", "result", "data", "value", "image", "part", "file", "archive", "media",
                   "content", "random", "difference", "memory", "inventory", "branch"}
# Nouns that are data only on these resource types: an image in an ECR repository is its content, an
# AMI is a resource; an SSM parameter holds a value, a database parameter is a setting.
RESOURCE_BOUND_DATA_NOUNS = {"image": {"repository"}, "parameter": {"parameter"}}
# A weak data noun right after one of these is a setting's contents: GetLaunchTemplateData.
SETTING_QUALIFIERS = {"template", "configuration", "config", "policy", "schema", "setting", "default", "rule"}
# Lists of these are lists of settings, whatever AWS's description says they hold (DNS record sets).
LIST_SETTING_HEADS = {"set", "setting", "configuration", "config", "policy", "rule", "attribute", "type", "field"}
# Listing these is listing the contents of a resource; other lists are of resources or settings.
LIST_DATA_NOUNS = (
    "object", "object version", "item", "message", "record", "row", "file", "multipart upload", "part",
    "log event", "finding", "snapshot block", "changed block", "blob", "data", "auth event",
    "knowledge base document",
)
# Heads that name a setting rather than a resource: a data-read verb on one reads configuration
# (config:SelectResourceConfig), while ScanTable or QueryIndex read data.
SETTING_HEADS = {
    "acl", "policy", "configuration", "config", "setting", "tagging", "tag", "attribute", "retention", "hold",
    "lock", "metadata", "status", "summary", "count", "encryption", "versioning", "notification",
    "lifecycle", "logging", "website", "cor", "schema", "definition", "template", "property", "permission",
    "quota", "limit", "rule", "state", "preference", "option", "detail", "info", "mode", "format",
    "mapping", "drift", "plan", "selector", "field", "enabled",
}
# Heads after which a data noun names something other than data: a setting (GetObjectAcl,
# PutObjectRetention) or a resource and its descriptors (GetObjectLocation, DescribeDBParameterGroups).
CONFIG_HEADS = SETTING_HEADS | {
    "access", "account", "alias", "association", "availability", "bucket", "capacity", "category", "cluster",
    "collection", "connection", "description", "destination", "endpoint", "filter", "group", "index",
    "instance", "integration", "job", "key", "label", "level", "location", "model", "name", "pipeline",
    "profile", "queue", "region", "replication", "report", "repository", "role", "set", "size", "source",
    "stage", "storage", "store", "stream", "subscription", "table", "target", "task", "topic", "type",
    "version",
}
# Resources that hold data: deleting one destroys data.
DATA_CONTAINERS = (
    "table", "global table", "table replica", "replica", "bucket", "cluster", "instance", "snapshot",
    "backup", "recovery point", "queue", "stream", "log group", "log stream", "file system", "volume",
    "secret", "parameter", "repository", "database", "db", "domain", "index", "dataset", "data set",
    "vault", "archive", "collection", "keyspace", "graph", "ledger", "cache", "replication group",
    "namespace", "data store", "datastore", "warehouse", "branch", "journal", "corpus", "workspace",
    "notebook", "key material", "object", "job output", "lake", "mailbox", "store", "dataset group", "event data store", "directory", "share", "storage", "feature group",
    "recording", "file share", "custom model",
)
# Containers of these kinds hold jobs, metrics or traffic, not data.
NON_DATA_CONTAINERS = {"job queue", "metric stream", "traffic mirror session", "compute environment", "key store",
                       "custom key store", "grants instance", "access grants instance", "route table",
                       "policy table", "multicast domain", "access instance", "reserved instance",
                       "partition index", "addon instance"}
DATA_RESOURCE_TYPES = {"object", "accesspointobject"}

CONFIG_VERBS = {
    "describe", "list", "check", "validate", "test", "is", "count", "estimate", "calculate", "preview",
    "simulate", "evaluate", "compare", "view", "discover", "lookup", "resolve", "get", "search", "poll",
    "verify", "render", "expand", "optimize", "generate", "decode", "detect",
}
# Verbs that read data whatever they name.
DATA_READ_VERBS = {"query", "scan", "select", "download", "read", "receive", "export", "peek", "fetch",
                   "consume", "retrieve", "unload", "reveal", "unmask", "pull"}
# Verbs that read what their noun names: GetObject reads data, GetBucketPolicy a setting.
NOUN_READ_VERBS = {"get", "lookup", "view", "filter", "search", "stream", "tail", "batch", "list", "describe"}
USE_VERBS = {"assume", "invoke", "connect", "execute", "call", "use", "access", "exec", "impersonate", "authenticate"}
USE_START_VERBS = {"start", "run", "send", "open", "initiate", "begin", "submit", "retry", "redrive", "resume",
                   "respond", "commit", "rollback"}
# Heads that must stand alone: RunTask and SubmitJob run what is defined; StartBackupJob makes a backup.
USE_START_ALONE = {"job", "task"}
# Settings a use verb may name, and then it changes them: ExecuteChangeSet applies a change set.
USE_SETTING_HEADS = {"set", "plan", "policy", "configuration", "config"}
# What starting, running or submitting acts through: it runs what is there, it does not reconfigure it.
USE_START_HEADS = {"session", "execution", "query", "statement", "command", "build", "run", "task", "job",
                   "crawler", "batch", "tunnel", "auth", "challenge", "workflow", "transaction"}
INFERENCE_VERBS = {"detect", "analyze", "translate", "synthesize", "infer", "classify", "converse", "chat",
                   "predict", "recognize", "transcribe", "summarize", "embed", "rerank", "extract"}
CREDENTIAL_NOUNS = ("credential", "token", "auth token", "session token", "federation token",
                    "authorization token", "db auth token", "access token", "sign in token", "login token",
                    "url", "web identity token")
CREDENTIAL_VERBS = {"get", "generate", "create", "request", "issue", "mint"}
# Imports of these are security material, administered, not data loaded.
SECURITY_MATERIAL = {"credential", "certificate", "key", "key pair", "key material", "public key", "token"}
DELETE_VERBS = {"delete", "remove", "purge", "flush", "terminate", "drop", "truncate", "erase", "discard", "abort",
                "destroy", "wipe", "empty", "clear", "expire"}
WRITE_DATA_VERBS = {"put", "write", "upload", "append", "insert", "post", "ingest", "update", "copy",
                    "replicate", "change", "modify", "set", "merge", "complete", "initiate", "submit", "edit",
                    "patch", "add", "store", "save", "record", "emit", "restore", "archive", "unarchive",
                    "create"}
# Create only writes data when it names data outright: CreateCommit does, CreateImage (an AMI) does not.
CREATE_DATA_NOUNS = {"commit", "file", "object", "item", "message", "record", "row", "finding", "event", "branch"}
SEND_VERBS = {"send", "publish", "broadcast", "emit", "push", "stream", "log"}
# What sending writes into a service: SendMessage, SendAgentMetrics; not SendInvitation, PublishVersion.
SEND_DATA_NOUNS = ("message", "event", "metric", "log", "telemetry", "stat", "reply", "data point",
                   "text", "utterance", "record", "notification")
TAG_VERBS = {"tag", "untag", "un"}
TAG_CHANGE_VERBS = {"add", "remove", "create", "delete", "put", "update", "set", "change", "replace",
                    "tag", "untag", "replicate", "un"}
TAG_NOUNS = ("tag", "tagging", "tag key", "resource tag")
CRYPTO = {
    "decrypt": ("crypto-decrypt", (RD,)),
    "decapsulate": ("crypto-decrypt", (RD,)),  # returns the shared secret a ciphertext encapsulates
    "encrypt": ("crypto-encrypt", (WD,)),
    "encapsulate": ("crypto-encrypt", (WD,)),  # produces a shared secret and its ciphertext under the key
    "re": ("crypto-reencrypt", (RD, WD)),
    "sign": ("crypto-sign", (U,)),
    "verify": ("crypto-sign", (U,)),
}
CRYPTO_NOUNS = {"data", "mac", "message", "encrypt"}  # kms:Sign, VerifyMac, DecryptData; not SignUp
_DESCRIPTION_DATA = re.compile(
    r"\b(retrieve|return|get|read|download|fetch|view|stream)s?\b[^.]{0,40}?\b("
    r"query results|results of (a|the) query|plaintext|secret value|log events|data records|"
    r"object data|raw data|the data (in|from|stored)|file contents|payload|contents of (an?|the) (object|file|item|message))\b"
)
_LIST_DATA = re.compile(r"\b(objects|object versions|versions of objects|items|messages|records|files) in (an?|the)\b")


# ---------------------------------------------------------------------------------------------------
class _Hits:
    """Capabilities found so far, each with the first rule that gave it."""

    def __init__(self) -> None:
        self.found: dict[Capability, tuple[str, str]] = {}

    def add(self, rule: str, caps, evidence: str) -> None:
        for cap in caps:
            self.found.setdefault(cap, (rule, evidence))

    def __bool__(self) -> bool:
        return bool(self.found)


def _is_tag_change(parts: NameParts) -> bool:
    return parts.verb in TAG_VERBS or (parts.verb in TAG_CHANGE_VERBS and _has(parts.phrase, TAG_NOUNS) is not None
                                       and parts.head in {"tag", "tagging", "key"})


def _names_setting(parts: NameParts, term: str | None = None) -> bool:
    """The phrase ends with a setting (`object acl`), unless that head is part of the data term itself."""
    head = parts.head
    return head in CONFIG_HEADS and not (term and term.split()[-1] == head)


def _data_noun(parts: NameParts, terms=DATA_NOUNS) -> str | None:
    """The data the action names, or None when it names a resource or a setting."""
    if parts.query_language and not parts.nouns:  # PartiQLInsert; PartiQLCreateTable is DDL
        return "item"
    if not parts.nouns:
        return None
    term = _has(parts.phrase, terms)
    if term is None or _names_setting(parts, term):
        return None
    bound = RESOURCE_BOUND_DATA_NOUNS.get(term)
    if bound is not None and not bound & parts.resource_types:
        return None
    if term in WEAK_DATA_NOUNS:
        if term != parts.head or (len(parts.nouns) > 1 and parts.nouns[-2] in SETTING_QUALIFIERS):
            return None
    return term


def _secret(parts: NameParts) -> str | None:
    """A secret the phrase ends with: GetRelationalDatabaseMasterUserPassword; not GetPasswordPolicy."""
    term = _has(parts.phrase, SECRET_NOUNS)
    return term if term and parts.phrase.endswith(f" {term} ") else None


def _data_of(action: Action, parts: NameParts) -> str | None:
    """Data named by the action, or acted on through a data resource type (an S3 object)."""
    term = _data_noun(parts)
    if term is None and not _names_setting(parts):
        term = _data_resource(action)
    return term


def _container(parts: NameParts) -> str | None:
    """The data-holding resource the phrase ends with: DeleteDBCluster -> "cluster"."""
    for size in (3, 2):
        if len(parts.nouns) >= size and " ".join(parts.nouns[-size:]) in NON_DATA_CONTAINERS:
            return None
    for size in (3, 2, 1):
        if len(parts.nouns) >= size:
            tail = " ".join(parts.nouns[-size:])
            if tail in DATA_CONTAINERS:
                return tail
    return None


def _use_start(parts: NameParts) -> str | None:
    """Starting or running what a resource defines: StartExecution, RunTask, SubmitJob, StartSession."""
    if parts.verb == "create" and parts.nouns == ("session",):  # s3express:CreateSession vends credentials
        return "session"
    if parts.verb not in USE_START_VERBS or parts.head not in USE_START_HEADS:
        return None
    if parts.head in USE_START_ALONE and len(parts.nouns) > 1:
        return None
    if _has(parts.phrase, ("export", "import", "ingestion")):  # data moves: their own rules
        return None
    return parts.head


def _credential(parts: NameParts) -> str | None:
    """Short-lived credentials, tokens or pre-signed URLs to act as or through a resource. Creating a
    standing credential (an access key, a service-specific credential) administers an identity instead."""
    term = _has(parts.phrase, CREDENTIAL_NOUNS)
    if term is None or parts.verb not in CREDENTIAL_VERBS or parts.head not in {"credential", "token", "url"}:
        return None
    if parts.head == "url" and not (_has(parts.phrase, ("presigned", "signed", "streaming", "sign in", "login"))):
        return None
    if parts.verb == "create" and parts.head == "credential":
        return None
    return term


def _rules_for_reads(action: Action, parts: NameParts, hits: _Hits, listing: bool) -> None:
    verb = parts.verb
    if parts.head in {"tag", "tagging"}:
        hits.add("tag-read", (RC,), f"noun {parts.head!r}")
        return
    if verb in INFERENCE_VERBS and not listing and parts.head not in SETTING_HEADS:
        hits.add("use-inference", (U,), f"verb {verb!r}")
        return
    if verb in USE_VERBS:
        hits.add("use-verb", (U,), f"verb {verb!r}")
        return
    if (term := _credential(parts)) and parts.head != "report":
        hits.add("use-credentials", (U,), f"{verb!r} of {term!r}")
        return
    if verb in {"subscribe"}:
        hits.add("read-data-subscribe", (RD,), "verb 'subscribe'")
        return
    if term := _use_start(parts):
        hits.add("use-start", (U,), f"{verb!r} {term!r}")
        return
    if listing or verb == "list":
        term = _data_noun(parts, LIST_DATA_NOUNS)
        if term is None and parts.head not in LIST_SETTING_HEADS:
            term = _list_data_description(action)
        if term:
            hits.add("list-data", (RD,), f"lists {term!r}")
        else:
            hits.add("list", (RC,), f"verb {verb!r}")
        return
    if verb in DATA_READ_VERBS and parts.head not in SETTING_HEADS:
        hits.add("read-data-verb", (RD,), f"verb {verb!r}")
        return
    if verb in NOUN_READ_VERBS - {"describe", "list"} and (term := _data_noun(parts) or _secret(parts)):
        hits.add("read-data-noun", (RD,), f"names {term!r}")
        return
    if verb in {"get", "batch"} and (m := _DESCRIPTION_DATA.search(action.description.lower())):
        hits.add("read-data-description", (RD,), f"description says {m.group(0)!r}")
        return
    if verb in CONFIG_VERBS or verb in DATA_READ_VERBS:
        hits.add("read-config", (RC,), f"verb {verb!r}")


def _list_data_description(action: Action) -> str | None:
    m = _LIST_DATA.search(action.description.lower())
    return m.group(1) if m else None


def _rules_for_writes(action: Action, parts: NameParts, hits: _Hits) -> None:
    verb, phrase = parts.verb, parts.phrase
    if _is_tag_change(parts):
        hits.add("tagging", (A,), f"verb {verb!r} on tags")
        return
    if verb in CRYPTO and set(parts.nouns) <= CRYPTO_NOUNS and (verb != "re" or parts.head == "encrypt"):
        rule, caps = CRYPTO[verb]
        hits.add(rule, caps, f"verb {verb!r}")
        return
    if verb == "generate" and _has(phrase, ("data key", "data key pair", "data key without plaintext",
                                             "data key pair without plaintext")):
        hits.add("crypto-encrypt", (WD,), "generates a data key")
        return
    if verb == "generate" and parts.nouns == ("mac",):
        hits.add("crypto-sign", (U,), "generates a MAC")
        return
    if _has(phrase, ("random", "random password", "shared secret")) and verb in {"generate", "get", "derive"}:
        hits.add("read-data-noun", (RD,), "returns generated secret material")
        return
    # ConnectCustomKeyStore links a resource up (control plane); Connect and ConnectToX use one.
    if verb in USE_VERBS and parts.head not in USE_SETTING_HEADS and not (
        verb == "connect" and parts.nouns and not parts.indirect
    ):
        hits.add("use-verb", (U,), f"verb {verb!r}")
        return
    if verb in INFERENCE_VERBS and parts.head not in SETTING_HEADS:
        hits.add("use-inference", (U,), f"verb {verb!r}")
        return
    if term := _credential(parts):
        hits.add("use-credentials", (U,), f"{verb!r} of {term!r}")
        return
    if verb == "send" and _has(phrase, ("email", "raw email", "bulk email", "templated email", "bulk templated email")):
        hits.add("use-send-email", (U,), "sends email through an identity")
        return
    if term := _use_start(parts):
        hits.add("use-start", (U,), f"{verb!r} {term!r}")
        return
    if verb in DATA_READ_VERBS - {"export"} and parts.head not in SETTING_HEADS:
        hits.add("read-data-verb", (RD,), f"verb {verb!r}")
        return
    if verb in {"get", "describe", "list", "search"}:  # AWS calls it a write, but its name says it reads
        _rules_for_reads(action, parts, hits, listing=False)
        return
    if verb == "subscribe":
        hits.add("read-data-subscribe", (A, RD), "verb 'subscribe'")
        return
    if verb in DELETE_VERBS:
        data = _data_of(action, parts)
        container = _container(parts)
        if verb in {"purge", "flush"}:
            hits.add("delete-data-purge", (DD,), f"verb {verb!r}")
        elif data and not (data in DATA_AND_CONTAINER and container):
            hits.add("delete-data-item", (DD,), f"deletes {data!r}")
        elif container and verb != "clear" and not parts.indirect:  # RemoveFromGlobalCluster keeps it
            hits.add("delete-data-container", (A, DD), f"removes a {container!r}")
        else:
            hits.add("delete-config", (A,), f"verb {verb!r}")
        return
    if verb == "schedule" and _has(phrase, ("key deletion", "deletion")):
        hits.add("delete-data-container", (A, DD), "schedules a key's deletion")
        return
    if verb in SEND_VERBS and (verb == "log" or not parts.nouns or _data_noun(parts) or _has(phrase, SEND_DATA_NOUNS)):
        hits.add("write-data-send", (WD,), f"verb {verb!r}")
        return
    if verb == "export" or (verb in {"create", "start"} and _has(phrase, ("export", "export task", "export job"))):
        hits.add("export-data", (RD,), "copies data out of the resource")
        return
    if verb == "import" or (verb in {"create", "start"} and _has(phrase, ("import", "import task", "import job"))):
        if _has(phrase, SECURITY_MATERIAL) and not _data_noun(parts):
            hits.add("write-config", (A,), "imports security material (keys, certificates, credentials)")
        elif _data_noun(parts) and parts.verb == "import":
            hits.add("write-data-noun", (WD,), f"imports {_data_noun(parts)!r}")
        else:
            hits.add("import-data", (A, WD), "loads data into a resource")
        return
    if verb == "ingest" or (verb in {"start", "create"} and parts.head in {"ingestion", "job"} and "ingestion" in parts.nouns):
        hits.add("write-data-noun", (WD,), "ingests data into the resource")
        return
    if verb in WRITE_DATA_VERBS and (data := _data_of(action, parts)):
        if verb == "create" and data not in CREATE_DATA_NOUNS and not parts.query_language:
            pass
        elif data in DATA_AND_CONTAINER and verb in {"update", "modify", "set", "change"}:
            hits.add("write-config", (A,), f"{verb!r} a {data!r}'s settings")
            return
        elif data in DATA_AND_CONTAINER and verb in {"put", "create"}:
            hits.add("write-data-noun", (A, WD), f"{verb!r} {data!r}: creates the resource and its value")
            return
        else:
            hits.add("write-data-noun", (WD,), f"{verb!r} {data!r}")
            return
    if verb in {"create", "update", "rotate"} and parts.head == "secret":
        hits.add("write-data-noun", (A, WD), f"{verb!r} a secret stores its value")
        return
    if verb in _CONTROL_VERBS:
        hits.add("write-config", (A,), f"verb {verb!r}")


def _data_resource(action: Action) -> str | None:
    """Actions whose every resource type is a data item (an S3 object) are data plane."""
    types = {t.lower() for t in action.resource_types}
    if types and types <= DATA_RESOURCE_TYPES:
        return sorted(types)[0]
    return None


_CONTROL_VERBS = {
    "create", "update", "modify", "put", "set", "enable", "disable", "associate", "disassociate", "attach",
    "detach", "register", "deregister", "add", "remove", "start", "stop", "reboot", "cancel", "accept",
    "reject", "reset", "authorize", "revoke", "activate", "deactivate", "apply", "assign", "unassign",
    "allocate", "release", "provision", "configure", "change", "replace", "rotate", "upgrade", "pause",
    "resume", "retry", "rollback", "approve", "confirm", "grant", "retire", "request", "purchase", "move",
    "rename", "schedule", "initiate", "submit", "complete", "notify", "verify", "test", "run", "deploy",
    "promote", "failover", "reload", "refresh", "sync", "synchronize", "share", "unshare", "link",
    "unlink", "subscribe", "unsubscribe", "allow", "deny", "manage", "upload", "copy", "restore",
    "launch", "reserve", "renew", "transfer", "migrate", "archive", "unarchive", "suspend", "resend",
    "respond", "claim", "opt", "batch", "generate", "edit", "patch", "tag", "join", "leave", "install",
    "uninstall", "mark", "acknowledge", "decline", "bypass", "override", "lock", "unlock",
    "freeze", "import", "merge", "split", "rebuild", "recover", "restart", "resize", "scale", "switch",
    "swap", "pass", "execute", "publish", "replicate", "connect", "alter", "increase", "decrease",
    "inject", "label", "unlabel", "clone", "deprecate", "undeprecate", "close", "halt", "invite",
    "disconnect", "detect", "preview", "reorder", "rebalance", "reactivate", "revert", "validate",
    "write", "store", "save",
}


def _fallback(action: Action, hits: _Hits) -> None:
    if action.access_level in {"Read", "List"}:
        hits.add("fallback-read", (RC,), f"access level {action.access_level}")
    else:
        hits.add("fallback-write", (A,), f"access level {action.access_level}")


# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Exception_:
    action: str
    capabilities: tuple[Capability, ...]
    reason: str


def load_exceptions(text: str | None = None) -> dict[str, Exception_]:
    """The reviewed exceptions, keyed by lower-cased action."""
    if text is None:
        text = resources.files("service").joinpath("data/exceptions.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    out: dict[str, Exception_] = {}
    for entry in table.get("exception", []):
        caps = ordered(Capability(c) for c in entry["capabilities"])
        if not caps or not entry.get("reason"):
            raise ValueError(f"exception {entry.get('action')!r} needs capabilities and a reason")
        key = entry["action"].lower()
        if key in out:
            raise ValueError(f"exception {entry['action']!r} listed twice")
        out[key] = Exception_(action=entry["action"], capabilities=caps, reason=entry["reason"])
    return out


class Classifier:
    def __init__(self, exceptions: dict[str, Exception_] | None = None) -> None:
        self.exceptions = load_exceptions() if exceptions is None else exceptions

    def classify(self, action: Action) -> Classification:
        exception = self.exceptions.get(action.key.lower())
        if exception is not None:
            reasons = tuple(Reason(c, "exception", "exception", exception.reason) for c in exception.capabilities)
            return Classification(exception.capabilities, reasons)
        hits = classify_by_rules(action)
        caps = ordered(hits.found)
        reasons = []
        for cap in caps:
            rule, evidence = hits.found[cap]
            source = "fallback" if rule in FALLBACK_RULES else "rule"
            reasons.append(Reason(cap, source, rule, f"{RULES[rule]}; evidence: {evidence}"))
        return Classification(caps, tuple(reasons))


def classify_by_rules(action: Action) -> _Hits:
    parts = parse_name(action.name, action.resource_types)
    hits = _Hits()
    level = action.access_level
    if level == "Permissions management":
        hits.add("permissions-management", (A,), "access level Permissions management")
        _rules_for_writes(action, parts, hits)
    elif level == "Tagging":
        if parts.verb in {"list", "get", "describe"}:
            hits.add("tag-read", (RC,), f"verb {parts.verb!r}")
        else:
            hits.add("tagging", (A,), "access level Tagging")
    elif level == "Write":
        _rules_for_writes(action, parts, hits)
    else:
        _rules_for_reads(action, parts, hits, listing=level == "List")
    if not hits:
        _fallback(action, hits)
    return hits
