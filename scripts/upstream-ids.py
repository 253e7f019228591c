#!/usr/bin/env python3
"""The ids the five upstream Python connectors give the repository's fixtures: reference/upstream-ids.json.

Run it from the repository root (Python 3.11+, standard library only):

    python3 scripts/upstream-ids.py > reference/upstream-ids.json

Written for this repository, independently of its TypeScript: it re-implements pycti 7.260817.0's
`generate_id` rules (the release every upstream connector pins at OpenCTI-Platform/connectors head
a2681ba8, 2026-08-21) and stix2 3.0's observable ids on top of Python's own `str.lower()`, `str.strip()`,
`datetime.isoformat()` and `uuid.uuid5()`, then replays, on the fixtures under connectors/*/test/fixtures,
every id-producing call the upstream connectors make (each vector names the upstream file, the commit that
last changed it, and the call). The connectors' tests check that the TypeScript connectors produce exactly
these ids from the same fixtures, apart from the differences listed in each case's `differences`.

Country names come from the iso-codes data set (/usr/share/iso-codes/json/iso_3166-1.json, Debian package
iso-codes), which is what pycountry ships.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import json
import pathlib
import re
import sys
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "connectors"
NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
UPSTREAM = "OpenCTI-Platform/connectors@a2681ba8 (2026-08-21), pycti 7.260817.0"
ISO_3166 = pathlib.Path("/usr/share/iso-codes/json/iso_3166-1.json")


# --- RFC 8785 (JCS) canonical JSON, as stix2's canonicalize(data, utf8=False) produces it ---------------


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("JCS has no NaN or Infinity")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits_tuple = decimal.Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits)
    k = len(digits)
    n = k + digits_tuple.exponent  # position of the decimal point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def jcs(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number(float(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(_string(k) + ":" + jcs(value[k]) for k in keys) + "}"
    raise TypeError(f"not JSON: {value!r}")


def hashed(prefix: str, data: dict) -> tuple[str, str]:
    text = jcs(data)
    return f"{prefix}--{uuid.uuid5(NAMESPACE, text)}", text


# --- pycti 7 generate_id, one function per entity class the connectors call -----------------------------


def iso(value):
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def identity_id(name, identity_class):
    return hashed("identity", {"name": name.lower().strip(), "identity_class": identity_class.lower()})


def location_id(name, location_type):
    return hashed("location", {"name": name.lower().strip(), "x_opencti_location_type": location_type})


def indicator_id(pattern):
    return hashed("indicator", {"pattern": pattern.strip()})


def vulnerability_id(name):
    return hashed("vulnerability", {"name": name.lower().strip()})


def attack_pattern_id(name, x_mitre_id=None):
    mitre = x_mitre_id.lower().strip() if x_mitre_id is not None else ""
    return hashed("attack-pattern", {"x_mitre_id": mitre} if mitre else {"name": name.lower().strip()})


def incident_id(name, created):
    return hashed("incident", {"name": name.lower().strip(), "created": iso(created)})


def report_id(name, published):
    return hashed("report", {"name": name.lower().strip(), "published": iso(published)})


def relationship_id(relationship_type, source_ref, target_ref, start_time=None, stop_time=None):
    data = {"relationship_type": relationship_type, "source_ref": source_ref, "target_ref": target_ref}
    if start_time is not None:
        data["start_time"] = iso(start_time)
        if stop_time is not None:
            data["stop_time"] = iso(stop_time)
    return hashed("relationship", data)


def sighting_id(sighting_of_ref, where_sighted_refs, first_seen=None, last_seen=None):
    # Hashed as given: a bare id stays a string, a list stays a list.
    data = {"type": "sighting", "sighting_of_ref": sighting_of_ref, "where_sighted_refs": where_sighted_refs}
    if first_seen is not None:
        data["first_seen"] = iso(first_seen)
        if last_seen is not None:
            data["last_seen"] = iso(last_seen)
    return hashed("sighting", data)


TLP_STATIC = {
    "TLP:CLEAR": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "TLP:WHITE": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "TLP:GREEN": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "TLP:AMBER": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "TLP:AMBER+STRICT": "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    "TLP:RED": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}


# --- stix2 observable ids: uuid5 over the ID-contributing properties that are set --------------------------

SCO_PROPERTIES = {
    "ipv4-addr": ["value"],
    "ipv6-addr": ["value"],
    "domain-name": ["value"],
    "url": ["value"],
    "email-addr": ["value"],
    "mac-addr": ["value"],
    "user-agent": ["value"],
    "hostname": ["value"],
    "autonomous-system": ["number"],
    "directory": ["path"],
    "file": ["hashes", "name", "parent_directory_ref", "extensions"],
    "user-account": ["account_type", "user_id", "account_login"],
}


def observable_id(sco_type, properties):
    data = {k: properties[k] for k in SCO_PROPERTIES[sco_type] if properties.get(k) not in (None, [], {})}
    if sco_type == "autonomous-system":
        data["number"] = int(data["number"])
    return hashed(sco_type, data)


# --- the vectors -----------------------------------------------------------------------------------------


class Case:
    def __init__(self, connector, name, description, options=None, entity=None):
        self.out = {"connector": connector, "case": name, "description": description, "vectors": []}
        if options is not None:
            self.out["options"] = options
        if entity is not None:
            self.out["entity"] = entity
        self._seen = set()

    def add(self, kind, upstream, call, input_, result):
        identifier, canonical = result
        if identifier in self._seen:
            return identifier
        self._seen.add(identifier)
        vector = {"kind": kind, "upstream": upstream, "call": call, "input": input_, "id": identifier}
        if canonical is not None:
            vector["canonical"] = canonical
        self.out["vectors"].append(vector)
        return identifier

    def differ(self, identifier, reason):
        listed = self.out.setdefault("differences", [])
        if all(d["id"] != identifier for d in listed):
            listed.append({"id": identifier, "reason": reason})

    def ours_only(self, identifier, reason):
        listed = self.out.setdefault("ours_only", [])
        if all(d["id"] != identifier for d in listed):
            listed.append({"id": identifier, "reason": reason})


def fixture(connector, name):
    return json.loads((FIXTURES / connector / "test" / "fixtures" / name).read_text(encoding="utf-8"))


def countries():
    data = json.loads(ISO_3166.read_text(encoding="utf-8"))["3166-1"]
    return {entry["alpha_2"]: entry for entry in data}


# CrowdSec ----------------------------------------------------------------------------------------------

CROWDSEC_BUILDER = "internal-enrichment/crowdsec/src/crowdsec/builder.py@643ab5e7d2"
CROWDSEC_ENRICHMENT = "internal-enrichment/crowdsec/src/crowdsec/enrichment.py@e90359e518"
CROWDSEC_FAKE_INDICATOR = "indicator--51b92778-cef0-4a90-b7ec-ebd620d01ac8"


def crowdsec_case(name, description, indicator_from, attack_patterns, countries_sightings, sighting):
    cti = fixture("crowdsec", "smoke-ip-146.70.186.190.json")
    ip = "146.70.186.190"
    observable, _ = observable_id("ipv4-addr", {"value": ip})
    options = {
        "indicatorCreateFrom": indicator_from,
        "attackPatternsFromMitre": attack_patterns,
        "vulnerabilitiesFromCves": True,
        "targetedCountriesSightings": countries_sightings,
        "createSighting": sighting,
        "createNote": False,
    }
    case = Case("crowdsec", name, description, options, {"entity_type": "IPv4-Addr", "value": ip, "id": observable})
    case.add("ipv4-addr", f"{CROWDSEC_ENRICHMENT} enrich_observable", "the enriched observable, re-sent (stix_observable)",
             {"type": "ipv4-addr", "value": ip}, (observable, None))
    # The organization the connector creates through the API: the platform gives it pycti's identity id.
    crowdsec = case.add(
        "identity",
        f"{CROWDSEC_BUILDER} get_or_create_crowdsec_ent",
        'identity.create(type="Organization", name="CrowdSec") -> standard_id',
        {"name": "CrowdSec", "identity_class": "organization"},
        identity_id("CrowdSec", "organization"),
    )
    indicator = None
    if cti["reputation"] in indicator_from:
        pattern = f"[ipv4-addr:value = '{ip}']"
        indicator = case.add(
            "indicator",
            f"{CROWDSEC_BUILDER} add_indicator_based_on",
            "Indicator.generate_id(pattern)",
            {"pattern": pattern},
            indicator_id(pattern),
        )
        case.add(
            "relationship",
            f"{CROWDSEC_BUILDER} add_indicator_based_on",
            'StixCoreRelationship.generate_id("based-on", indicator.id, observable_id)',
            {"relationship_type": "based-on", "source_ref": indicator, "target_ref": observable},
            relationship_id("based-on", indicator, observable),
        )
    patterns = []
    for technique in cti.get("mitre_techniques") or []:
        if not attack_patterns:
            break
        ap_name = f"MITRE ATT&CK ({technique['name']} - {technique['label']})"
        ap = case.add(
            "attack-pattern",
            f"{CROWDSEC_BUILDER} add_attack_pattern_for_mitre",
            "AttackPattern.generate_id(name=name, x_mitre_id=mitre_technique['name'])",
            {"name": ap_name, "x_mitre_id": technique["name"]},
            attack_pattern_id(ap_name, technique["name"]),
        )
        patterns.append(ap)
        if indicator:
            case.add(
                "relationship",
                f"{CROWDSEC_BUILDER} add_attack_pattern_for_mitre",
                'StixCoreRelationship.generate_id("indicates", indicator_id, attack_pattern.id)',
                {"relationship_type": "indicates", "source_ref": indicator, "target_ref": ap},
                relationship_id("indicates", indicator, ap),
            )
        else:
            case.add(
                "relationship",
                f"{CROWDSEC_BUILDER} add_attack_pattern_for_mitre",
                'StixCoreRelationship.generate_id("related-to", observable_id, attack_pattern.id)',
                {"relationship_type": "related-to", "source_ref": observable, "target_ref": ap},
                relationship_id("related-to", observable, ap),
            )
    for cve in cti.get("cves") or []:
        vuln = case.add(
            "vulnerability",
            f"{CROWDSEC_BUILDER} add_vulnerability_from_cve",
            "Vulnerability.generate_id(cve.upper())",
            {"name": cve.upper()},
            vulnerability_id(cve.upper()),
        )
        case.add(
            "relationship",
            f"{CROWDSEC_BUILDER} add_vulnerability_from_cve",
            'StixCoreRelationship.generate_id("related-to", vulnerability.id, observable_id)',
            {"relationship_type": "related-to", "source_ref": vuln, "target_ref": observable},
            relationship_id("related-to", vuln, observable),
        )
    iso_countries = countries()
    if patterns or countries_sightings:
        for code in cti.get("target_countries") or {}:
            country_name = iso_countries[code]["name"]
            country = case.add(
                "location",
                f"{CROWDSEC_BUILDER} handle_target_countries",
                'Location.generate_id(name=country_info.name, x_opencti_location_type="Country")',
                {"name": country_name, "x_opencti_location_type": "Country"},
                location_id(country_name, "Country"),
            )
            if countries_sightings:
                case.add(
                    "sighting",
                    f"{CROWDSEC_BUILDER} handle_target_countries",
                    'StixSightingRelationship.generate_id(observable_id, country.get("id"))',
                    {"sighting_of_ref": observable, "where_sighted_refs": country},
                    sighting_id(observable, country),
                )
            if indicator:
                case.add(
                    "sighting",
                    f"{CROWDSEC_BUILDER} handle_target_countries",
                    'StixSightingRelationship.generate_id(indicator_id, country.get("id"))',
                    {"sighting_of_ref": indicator, "where_sighted_refs": country},
                    sighting_id(indicator, country),
                )
            for ap in patterns:
                case.add(
                    "relationship",
                    f"{CROWDSEC_BUILDER} handle_target_countries",
                    'StixCoreRelationship.generate_id("targets", attack_pattern_id, country.get("id"))',
                    {"relationship_type": "targets", "source_ref": ap, "target_ref": country},
                    relationship_id("targets", ap, country),
                )
    if sighting:
        history = cti.get("history") or {}
        # dateutil's parse(...).strftime("%Y-%m-%dT%H:%M:%SZ"): the wall clock as written, then a literal Z.
        first = datetime.datetime.fromisoformat(history["first_seen"]).strftime("%Y-%m-%dT%H:%M:%SZ")
        last = datetime.datetime.fromisoformat(history["last_seen"]).strftime("%Y-%m-%dT%H:%M:%SZ")
        case.add(
            "sighting",
            f"{CROWDSEC_BUILDER} add_sighting",
            "StixSightingRelationship.generate_id(observable_id, created_by_ref, first_seen, last_seen)",
            {"sighting_of_ref": observable, "where_sighted_refs": crowdsec, "first_seen": first, "last_seen": last},
            sighting_id(observable, crowdsec, first, last),
        )
        if indicator:
            case.add(
                "sighting",
                f"{CROWDSEC_BUILDER} add_sighting",
                "StixSightingRelationship.generate_id(indicator.id, created_by_ref, first_seen, last_seen)",
                {"sighting_of_ref": indicator, "where_sighted_refs": crowdsec, "first_seen": first, "last_seen": last},
                sighting_id(indicator, crowdsec, first, last),
            )
    return case


# SpyCloud ----------------------------------------------------------------------------------------------

SPYCLOUD_CONVERTER = "external-import/spycloud/spycloud_connector/services/converter_to_stix.py@cb0f5c13aa"
SPYCLOUD_MODELS = "external-import/spycloud/spycloud_connector/models/opencti"
SPYCLOUD_SEVERITY = {2: "low", 5: "medium", 20: "high", 25: "critical"}
DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9][a-z0-9_-]{0,61}[a-z]$", re.I)


def spycloud_case():
    records = fixture("spycloud", "breach-records.json")["results"] + fixture(
        "spycloud", "breach-records-last-page.json"
    )["results"]
    case = Case(
        "spycloud",
        "breach-records",
        "Every record of breach-records.json and breach-records-last-page.json, CONNECTOR_NAME=SpyCloud, "
        "SPYCLOUD_TLP_LEVEL=amber+strict",
        {"authorName": "SpyCloud", "tlp": "TLP:AMBER+STRICT"},
    )
    case.add(
        "identity",
        f"{SPYCLOUD_MODELS}/common.py@cb0f5c13aa Author.to_stix2_object",
        "Identity.generate_id(self.name, self.identity_class)",
        {"name": "SpyCloud", "identity_class": "organization"},
        identity_id("SpyCloud", "organization"),
    )
    case.add(
        "marking-definition",
        f"{SPYCLOUD_MODELS}/common.py@cb0f5c13aa TLPMarking.to_stix2_object",
        'MarkingDefinition.generate_id("TLP", "TLP:AMBER+STRICT")',
        {"definition_type": "TLP", "definition": "TLP:AMBER+STRICT"},
        (TLP_STATIC["TLP:AMBER+STRICT"], None),
    )
    for record in records:
        severity = SPYCLOUD_SEVERITY[record["severity"]]
        subject = record.get("email") or record.get("username") or (record.get("ip_addresses") or [None])[0]
        subject = subject or record["document_id"]
        incident_name = f"Spycloud {severity} alert on {subject}"
        # pydantic reads "…Z" into an aware UTC datetime; pycti hashes its isoformat().
        created = datetime.datetime.fromisoformat(record["spycloud_publish_date"].replace("Z", "+00:00"))
        incident = case.add(
            "incident",
            f"{SPYCLOUD_MODELS}/domain.py@cb0f5c13aa Incident.to_stix2_object",
            "Incident.generate_id(self.name, self.created_at)",
            {"name": incident_name, "created": created.isoformat()},
            incident_id(incident_name, created),
        )
        observables = []

        def sco(sco_type, call, props):
            observables.append(
                case.add(sco_type, f"{SPYCLOUD_CONVERTER} create_observables", call, {"type": sco_type, **props},
                         observable_id(sco_type, props))
            )

        if record.get("user_hostname"):
            props = {"account_login": record["user_hostname"]}
            if record.get("user_os"):
                props["account_type"] = record["user_os"]
            sco("user-account", "stix2.UserAccount(account_login=user_hostname, account_type=user_os)", props)
        if record.get("username"):
            sco("user-account", "stix2.UserAccount(account_login=username)", {"account_login": record["username"]})
        if record.get("email"):
            sco("email-addr", "stix2.EmailAddress(value=email, ...)", {"value": record["email"]})
        if record.get("target_url"):
            sco("url", "stix2.URL(value=target_url)", {"value": record["target_url"]})
        for field in ("target_domain", "target_subdomain"):
            if record.get(field) and DOMAIN.match(record[field]):
                sco("domain-name", f"stix2.DomainName(value={field})", {"value": record[field]})
        if record.get("mac_address"):
            sco("mac-addr", "stix2.MACAddress(value=mac_address)", {"value": record["mac_address"]})
        if record.get("user_agent"):
            sco("user-agent", "pycti.CustomObservableUserAgent(value=user_agent)", {"value": record["user_agent"]})
        for address in record.get("ip_addresses") or []:
            version = ipaddress.ip_address(address).version
            sco(f"ipv{version}-addr", f"stix2.IPv{version}Address(value=ip)", {"value": address})
        if record.get("infected_path"):
            # pathlib on Linux: a Windows path is one POSIX file name, and its parent is ".".
            path = pathlib.PurePosixPath(record["infected_path"])
            windows = re.match(r"^[A-Za-z]:\\", record["infected_path"]) is not None
            file_ = observable_id("file", {"name": str(path)})
            directory = observable_id("directory", {"path": str(path.parent)})
            sco("file", "stix2.File(name=str(Path(infected_path)))", {"name": str(path)})
            sco("directory", "stix2.Directory(path=str(Path(infected_path).parent))", {"path": str(path.parent)})
            if windows:
                case.differ(
                    directory[0],
                    f'Directory "{path.parent}": upstream reads a Windows path ({record["infected_path"]!r}) as '
                    "one POSIX file name, whose parent is \".\"; ours keeps the real parent directory",
                )
                case.differ(
                    relationship_id("related-to", directory[0], incident)[0],
                    "the related-to of that Directory",
                )
                if record["infected_path"].endswith("\\"):
                    case.differ(
                        file_[0],
                        f"File {record['infected_path']!r}: a path ending in a separator is a directory, "
                        "ours creates no File for it",
                    )
                    case.differ(relationship_id("related-to", file_[0], incident)[0], "the related-to of that File")
                    real = record["infected_path"].rstrip("\\")
                else:
                    real = record["infected_path"].rsplit("\\", 1)[0]
                real_dir = observable_id("directory", {"path": real})[0]
                case.ours_only(real_dir, f"Directory {real!r}, the real parent (upstream: \".\")")
                case.ours_only(relationship_id("related-to", real_dir, incident)[0], "its related-to")
        for observable in observables:
            case.add(
                "relationship",
                f"{SPYCLOUD_MODELS}/relationships.py@cb0f5c13aa BaseRelationship.to_stix2_object",
                'StixCoreRelationship.generate_id(relationship_type="related-to", source_ref, target_ref)',
                {"relationship_type": "related-to", "source_ref": observable, "target_ref": incident},
                relationship_id("related-to", observable, incident),
            )
    return case


# TeamT5 ------------------------------------------------------------------------------------------------

TEAMT5_REPORTS = "external-import/teamt5/src/teamt5_connector/report_handler.py@6f41dae9a5"
TEAMT5_CONNECTOR = "external-import/teamt5/src/teamt5_connector/connector.py@6f41dae9a5"


def teamt5_case():
    listing = fixture("teamt5", "reports.json")["reports"]
    downloaded = fixture("teamt5", "report-stix.json")["objects"]
    first = listing[0]
    case = Case(
        "teamt5",
        "first-report",
        "The first report of reports.json with report-stix.json as its STIX bundle, "
        "CONNECTOR_NAME=Team T5 External Import Connector (upstream's default), TEAMT5_TLP_LEVEL=amber",
        {"authorName": "Team T5 External Import Connector", "tlp": "TLP:AMBER", "report": 0},
    )
    case.add(
        "identity",
        f"{TEAMT5_CONNECTOR} TeamT5Connector.__init__",
        'pyctiIdentity.generate_id(self.config.connector.name, "organization")',
        {"name": "Team T5 External Import Connector", "identity_class": "organization"},
        identity_id("Team T5 External Import Connector", "organization"),
    )
    case.add(
        "marking-definition",
        f"{TEAMT5_CONNECTOR} _create_tlp_marking",
        "stix2.TLP_AMBER",
        {"definition_type": "TLP", "definition": "TLP:AMBER"},
        (TLP_STATIC["TLP:AMBER"], None),
    )
    published = datetime.datetime.fromtimestamp(first["date"], tz=datetime.timezone.utc)
    case.add(
        "report",
        f"{TEAMT5_REPORTS} ReportHandler._create_report",
        'pyctiReport.generate_id(name, datetime.fromtimestamp(bundle_ref["created_at"], tz=timezone.utc))',
        {"name": first["title"], "published": published.isoformat()},
        report_id(first["title"], published),
    )
    for item in downloaded:
        case.add(
            item["type"],
            f"{TEAMT5_REPORTS} (downloaded objects are pushed with their own ids)",
            "TeamT5's id, kept",
            {"id": item["id"]},
            (item["id"], None),
        )
    return case


# Team Cymru Scout --------------------------------------------------------------------------------------

SCOUT_CONNECTOR = "internal-enrichment/team-cymru-scout/src/pure_signal_scout/connector.py@58688b5eb9"
SCOUT_DOMAIN = re.compile(r"^(?!-)(?:[a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
SCOUT_DROPPED = {
    ("network-traffic", "location", "located-at"),
    ("network-traffic", "autonomous-system", "belongs-to"),
    ("x509-certificate", "autonomous-system", "belongs-to"),
    ("domain-name", "domain-name", "uses"),
    ("ipv4-addr", "x509-certificate", "uses"),
    ("ipv6-addr", "x509-certificate", "uses"),
}


def scout_domain_ok(value):
    if value.startswith(("*", ".")) or "in-addr.arpa" in value or "/" in value:
        return False
    try:
        value.encode("idna")
    except UnicodeError:
        return False
    return SCOUT_DOMAIN.match(value) is not None


def scout_case(name, fixture_name, entity):
    objects = fixture("team-cymru-scout", fixture_name)["objects"]
    case = Case(
        "team-cymru-scout",
        name,
        f"Scout's answer {fixture_name} for {entity['value']}: the objects upstream keeps, with Scout's ids",
        {},
        entity,
    )
    author = case.add(
        "identity",
        f"{SCOUT_CONNECTOR} (connectors-sdk OrganizationAuthor)",
        'Identity.generate_id(name="Team Cymru", identity_class="organization")',
        {"name": "Team Cymru", "identity_class": "organization"},
        identity_id("Team Cymru", "organization"),
    )
    dropped = {o["id"] for o in objects if o["type"] == "domain-name" and not scout_domain_ok(o.get("value", ""))}
    dropped |= {o["id"] for o in objects if o["type"] == "network-traffic"}
    kept = [o for o in objects if o["id"] not in dropped and o["id"] != author]
    survivors = []
    for o in kept:
        if o["type"] != "relationship":
            survivors.append(o)
            continue
        source, target = o["source_ref"], o["target_ref"]
        key = (source.split("--")[0], target.split("--")[0], o["relationship_type"])
        if source in dropped or target in dropped or source == target or o["relationship_type"] == "issued-in":
            continue
        if key in SCOUT_DROPPED:
            continue
        survivors.append(o)
    # pycti's cleanup_inconsistent_bundle: a relationship whose end is not in the bundle is not sent.
    known = {o["id"] for o in survivors} | {entity["id"], author}
    for o in survivors:
        if o["type"] == "relationship" and not (o["source_ref"] in known and o["target_ref"] in known):
            continue
        case.add(o["type"], f"{SCOUT_CONNECTOR} process_stix_data", "Scout's id, kept", {"id": o["id"]}, (o["id"], None))
    return case


# URLScan -----------------------------------------------------------------------------------------------

URLSCAN_OFFICIAL = "internal-enrichment/urlscan-enrichment/src/urlscan_enrichment_services/converter_to_stix2.py@289a5abdd5"
URLSCAN_BUNDLE = "internal-enrichment/urlscan-enrichment/src/urlscan_enrichment_services/connector.py@2b6deb0d8c _generate_stix_bundle"
URLSCAN_COMMUNITY = "Robinzor/opencti-urlscan main.py@02af682 (objects created through the API: the platform's standard ids)"
URLSCAN_OWN_ADDRESS = (
    "the observable is tied to the addresses of its own host with resolves-to (a Domain-Name or Hostname resolves "
    "to an address; the official connector's related-to says less), docs/migrating.md"
)


def urlscan_case(name, entity_type, value, description):
    """The official connector's submission bundle (connector.py _generate_stix_bundle) for
    result-malicious.json and an observable of `entity_type`, URLSCAN_ENRICHMENT_CREATE_INDICATOR=true."""
    result = fixture("urlscan-enrichment", "result-malicious.json")
    sco_type = entity_type.lower()
    observable, _ = observable_id(sco_type, {"value": value})
    case = Case(
        "urlscan-enrichment",
        name,
        description,
        {"createIndicator": True},
        {"entity_type": entity_type, "value": value, "id": observable},
    )
    # Ours also sends what the community connector made through the API with ids of the platform's choosing
    # (note, relationships to the domain and the brands), which no upstream id can pin.
    case.out["mode"] = "subset"
    case.add(sco_type, f"{URLSCAN_OFFICIAL} upsert_stix_observable", "the enriched observable, re-sent",
             {"type": sco_type, "value": value}, (observable, None))
    page = result["page"]
    if sco_type == "url":
        case.add(
            "domain-name",
            URLSCAN_COMMUNITY,
            'stix_cyber_observable.create(Domain-Name.value = page["domain"])',
            {"type": "domain-name", "value": page["domain"]},
            observable_id("domain-name", {"value": page["domain"]}),
        )
        for brand in result["verdicts"]["overall"].get("brands") or []:
            case.add(
                "identity",
                URLSCAN_COMMUNITY,
                'identity.create(type="Organization", name=brand)',
                {"name": brand, "identity_class": "organization"},
                identity_id(brand, "organization"),
            )
    # The official connector: ipStats grouped by their domain list; a group whose first domain is part of the
    # observable's value gives the indicator, its addresses, their ASes and the links to them; any other group
    # gives a hostname per domain, related to the observable and resolving to the group's addresses.
    groups = {}
    for stat in result["stats"]["ipStats"]:
        group = groups.setdefault(tuple(stat["domains"]), {"ips": [], "asns": []})
        group["ips"].append(stat.get("ip") or None)
        group["asns"].append((stat.get("asn") or {}).get("asn") or None)
    task = result["task"]
    pattern_value = {"url": task["url"], "domain-name": task["apexDomain"], "hostname": task["domain"]}[sco_type]
    pattern = f"[{sco_type}:value = '{pattern_value}']"
    for domains, group in groups.items():
        ips = []
        for address in group["ips"]:
            if address is None:
                continue
            version = ipaddress.ip_address(address).version
            ips.append(case.add(f"ipv{version}-addr", f"{URLSCAN_OFFICIAL} generate_stix_ip",
                                f"stix2.IPv{version}Address(value=ip)", {"type": f"ipv{version}-addr", "value": address},
                                observable_id(f"ipv{version}-addr", {"value": address})))
        for index, asn in enumerate(group["asns"]):
            if asn is None:
                continue
            as_id = case.add("autonomous-system", f"{URLSCAN_OFFICIAL} generate_stix_asn_with_relationship",
                             'stix2.AutonomousSystem(number=int(asn), name="AS" + str(asn))',
                             {"type": "autonomous-system", "number": int(asn)},
                             observable_id("autonomous-system", {"number": int(asn)}))
            case.add("relationship", f"{URLSCAN_OFFICIAL} generate_stix_asn_with_relationship",
                     'StixCoreRelationship.generate_id("belongs-to", stix_obs_ip[index].id, stix_asn.id)',
                     {"relationship_type": "belongs-to", "source_ref": ips[index], "target_ref": as_id},
                     relationship_id("belongs-to", ips[index], as_id))
        if domains[0] not in value:
            for domain in domains:
                hostname, _ = observable_id("hostname", {"value": domain})
                case.add("hostname", f"{URLSCAN_OFFICIAL} generate_stix_hostname_with_relationship",
                         "CustomObservableHostname(value=domain)", {"type": "hostname", "value": domain},
                         (hostname, None))
                if hostname != observable:
                    case.add("relationship", f"{URLSCAN_OFFICIAL} generate_stix_hostname_with_relationship",
                             'StixCoreRelationship.generate_id("related-to", stix_entity["id"], stix_hostname.id)',
                             {"relationship_type": "related-to", "source_ref": observable, "target_ref": hostname},
                             relationship_id("related-to", observable, hostname))
                for ip in ips:
                    case.add("relationship", f"{URLSCAN_OFFICIAL} generate_stix_hostname_with_relationship",
                             'StixCoreRelationship.generate_id("resolves-to", stix_hostname.id, obs_ip["id"])',
                             {"relationship_type": "resolves-to", "source_ref": hostname, "target_ref": ip},
                             relationship_id("resolves-to", hostname, ip))
            continue
        indicator = case.add("indicator", f"{URLSCAN_OFFICIAL} upsert_stix_indicator_with_relationship",
                             f"Indicator.generate_id(\"{pattern}\")", {"pattern": pattern}, indicator_id(pattern))
        if pattern_value != value:
            case.differ(indicator, "the indicator's pattern holds the observable's own value (the official connector "
                        "used the scan's apex domain for a Domain-Name: an indicator of another domain)")
        based_on = case.add("relationship", f"{URLSCAN_OFFICIAL} upsert_stix_indicator_with_relationship",
                            'StixCoreRelationship.generate_id("based-on", stix_indicator.id, stix_entity["id"])',
                            {"relationship_type": "based-on", "source_ref": indicator, "target_ref": observable},
                            relationship_id("based-on", indicator, observable))
        if pattern_value != value:
            case.differ(based_on, "follows the indicator above")
        for ip in ips:
            based = case.add("relationship", URLSCAN_BUNDLE,
                             'StixCoreRelationship.generate_id("based-on", stix_indicator[0].id, stix_obs_ip[index].id)',
                             {"relationship_type": "based-on", "source_ref": indicator, "target_ref": ip},
                             relationship_id("based-on", indicator, ip))
            case.differ(based, "an indicator of a URL or domain is based on that observable, not on the addresses "
                        "that served it")
            related = case.add("relationship", URLSCAN_BUNDLE,
                               'StixCoreRelationship.generate_id("related-to", stix_entity["id"], stix_obs_ip[index].id)',
                               {"relationship_type": "related-to", "source_ref": observable, "target_ref": ip},
                               relationship_id("related-to", observable, ip))
            if sco_type != "url":
                case.differ(related, URLSCAN_OWN_ADDRESS)
                case.ours_only(relationship_id("resolves-to", observable, ip)[0], URLSCAN_OWN_ADDRESS)
    case.differ(
        identity_id("Urlscan Enrichment", "organization")[0],
        "the official connector's author is its CONNECTOR_NAME; ours is URLScan.io (docs/migrating.md)",
    )
    return case


def urlscan_ip_case():
    """An address: the official connector searches nothing and re-sends the observable with a link to the
    urlscan.io search (converter_to_stix2.py generate_stix_external_reference, is_entity_submission=False)."""
    address = "203.0.113.10"
    observable, _ = observable_id("ipv4-addr", {"value": address})
    case = Case(
        "urlscan-enrichment",
        "ip-search",
        "search-ip.json for 203.0.113.10: the official connector's only object is the address re-sent with the "
        "search link; ours adds the scans' note and the pages' domains",
        {},
        {"entity_type": "IPv4-Addr", "value": address, "id": observable},
    )
    case.out["mode"] = "subset"
    case.add("ipv4-addr", f"{URLSCAN_OFFICIAL} upsert_stix_observable", "stix2.IPv4Address(**data_search)",
             {"type": "ipv4-addr", "value": address}, (observable, None))
    case.differ(
        identity_id("Urlscan Enrichment", "organization")[0],
        "the official connector's author is its CONNECTOR_NAME; ours is URLScan.io (docs/migrating.md)",
    )
    return case


def main():
    cases = [
        crowdsec_case(
            "upstream-defaults",
            "smoke-ip-146.70.186.190.json with upstream's code defaults (no indicator, no attack patterns)",
            [""],
            False,
            True,
            True,
        ).out,
        crowdsec_case(
            "everything-on",
            "smoke-ip-146.70.186.190.json with an indicator (malicious), attack patterns, vulnerabilities, "
            "countries and sightings",
            ["malicious", "suspicious"],
            True,
            True,
            True,
        ).out,
        crowdsec_case(
            "countries-without-their-sightings",
            "an indicator and attack patterns, CROWDSEC_CREATE_TARGETED_COUNTRIES_SIGHTINGS=false: upstream still "
            "sights the indicator in each country",
            ["malicious"],
            True,
            False,
            False,
        ).out,
        spycloud_case().out,
        teamt5_case().out,
        scout_case(
            "ip-foundation",
            "ip-foundation.json",
            {"entity_type": "IPv4-Addr", "value": "1.1.1.1", "id": observable_id("ipv4-addr", {"value": "1.1.1.1"})[0]},
        ).out,
        scout_case(
            "search",
            "search.json",
            {
                "entity_type": "Domain-Name",
                "value": "one.one.one.one",
                "id": observable_id("domain-name", {"value": "one.one.one.one"})[0],
            },
        ).out,
        urlscan_case(
            "malicious-url",
            "Url",
            "https://office365-login.example.net/common/oauth2/authorize",
            "result-malicious.json for the Url it scanned, URLSCAN_CREATE_INDICATOR=true. Ours follows the community "
            "connector (objects made through the API, so the platform's standard ids, which follow the same rules) "
            "and keeps the official connector's ids where it makes the same object",
        ).out,
        urlscan_case(
            "malicious-hostname",
            "Hostname",
            "office365-login.example.net",
            "result-malicious.json for the Hostname it scanned (the official connector submits a Hostname; ours "
            "searches first and reads the same result)",
        ).out,
        urlscan_case(
            "malicious-domain",
            "Domain-Name",
            "office365-login.example.net",
            "result-malicious.json for the Domain-Name it scanned",
        ).out,
        urlscan_ip_case().out,
    ]
    document = {
        "about": "The ids the upstream Python connectors give the fixtures of this repository "
        "(scripts/upstream-ids.py writes this file; see its docstring).",
        "upstream": UPSTREAM,
        "cases": cases,
    }
    # One vector per line: the file stays readable in a diff.
    def line(value):
        return json.dumps(value, ensure_ascii=False)

    out = ["{", f'  "about": {line(document["about"])},', f'  "upstream": {line(document["upstream"])},', '  "cases": [']
    for i, case in enumerate(document["cases"]):
        out.append("    {")
        fields = [(k, v) for k, v in case.items() if k not in ("vectors", "differences", "ours_only")]
        for key, value in fields:
            out.append(f"      {line(key)}: {line(value)},")
        for key in ("differences", "ours_only"):
            if key in case:
                out.append(f"      {line(key)}: [")
                out.extend(f"        {line(d)}{',' if j < len(case[key]) - 1 else ''}" for j, d in enumerate(case[key]))
                out.append("      ],")
        out.append('      "vectors": [')
        vectors = case["vectors"]
        out.extend(f"        {line(v)}{',' if j < len(vectors) - 1 else ''}" for j, v in enumerate(vectors))
        out.append("      ]")
        out.append("    }" + ("," if i < len(document["cases"]) - 1 else ""))
    out.extend(["  ]", "}"])
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
