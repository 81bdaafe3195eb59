"""Oryx's ALS model as PMML: reading and writing its extensions (X, Y, features, lambda, ..., XIDs, YIDs)."""

from __future__ import annotations

import csv
import io
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from oryxpy.errors import InvalidInput
from oryxpy.javafmt import java_double

#: PMML versions we write, with their namespaces. 4.3 is the default: the released Oryx 2.8.0 (JPMML 1.3.9) rejects
#: any later namespace and never loads the model, while Oryx master reads 4.3 too. Reading accepts every version.
PMML_NAMESPACES = {"4.3": "http://www.dmg.org/PMML-4_3", "4.4": "http://www.dmg.org/PMML-4_4"}
DEFAULT_VERSION = "4.3"
NAMESPACE = PMML_NAMESPACES[DEFAULT_VERSION]
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NEEDS_QUOTES = (" ", '"', "\\", "\t", "\n", "\r")


def join_ids(ids: list[str]) -> str:
    """IDs separated by spaces; an ID with a space, quote or backslash is quoted with ``\\`` escapes."""
    out = []
    for id_ in ids:
        if id_ == "" or any(c in id_ for c in _NEEDS_QUOTES):
            id_ = '"' + id_.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(id_)
    return " ".join(out)


def split_ids(text: str) -> list[str]:
    """Inverse of :func:`join_ids`."""
    if not text.strip():
        return []
    if not any(c in text for c in _NEEDS_QUOTES[1:]):  # no quoted ID (the usual case): much faster than the CSV reader
        return [token for token in text.strip().split(" ") if token]
    reader = csv.reader(
        io.StringIO(text.strip()), delimiter=" ", quotechar='"', escapechar="\\", doublequote=False, skipinitialspace=True, strict=True
    )
    try:
        return [token for row in reader for token in row]
    except csv.Error as exc:
        raise InvalidInput(f"bad ID list in PMML: {exc}") from None


@dataclass
class ALSModelInfo:
    """What a PMML says about an ALS-like model (X and Y vectors)."""

    features: int
    implicit: bool
    x_ids: list[str]
    y_ids: list[str]
    lambda_: float | None = None
    alpha: float | None = None
    log_strength: bool = False
    epsilon: float | None = None
    x_path: str = "X/"
    y_path: str = "Y/"
    extra: dict[str, str] = field(default_factory=dict)

    def extensions(self) -> list[tuple[str, str]]:
        """The value extensions in Oryx's order (XIDs and YIDs come after, as content)."""
        ext = [("X", self.x_path), ("Y", self.y_path), ("features", str(self.features))]
        if self.lambda_ is not None:
            ext.append(("lambda", java_double(self.lambda_)))
        ext.append(("implicit", "true" if self.implicit else "false"))
        if self.implicit and self.alpha is not None:
            ext.append(("alpha", java_double(self.alpha)))
        ext.append(("logStrength", "true" if self.log_strength else "false"))
        if self.log_strength and self.epsilon is not None:
            ext.append(("epsilon", java_double(self.epsilon)))
        ext.extend(self.extra.items())
        return ext


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime())


def als_model_to_pmml(info: ALSModelInfo, version: str = DEFAULT_VERSION) -> str:
    """The PMML document of an ALS model, as one compact string, in PMML ``version`` (4.3 or 4.4)."""
    if version not in PMML_NAMESPACES:
        raise InvalidInput(f"PMML version {version!r} is not one we write (choose {' or '.join(PMML_NAMESPACES)})")
    ns = PMML_NAMESPACES[version]
    ET.register_namespace("", ns)  # written as the default namespace (xmlns="..."), as Oryx writes it
    root = ET.Element(f"{{{ns}}}PMML", {"version": version})
    header = ET.SubElement(root, f"{{{ns}}}Header")
    ET.SubElement(header, f"{{{ns}}}Application", {"name": "Oryx"})
    ET.SubElement(header, f"{{{ns}}}Timestamp").text = _timestamp()
    for name, value in info.extensions():
        ET.SubElement(root, f"{{{ns}}}Extension", {"name": name, "value": value})
    for name, ids in (("XIDs", info.x_ids), ("YIDs", info.y_ids)):
        if ids:
            ET.SubElement(root, f"{{{ns}}}Extension", {"name": name}).text = join_ids(ids)
    return _DECLARATION + ET.tostring(root, encoding="unicode", short_empty_elements=True)


def pmml_version(pmml: str) -> str | None:
    """The PMML version a document declares (its namespace, else its version attribute); None when it says neither."""
    root = _parse(pmml)
    if root.tag.startswith("{"):
        ns = root.tag[1:].split("}", 1)[0]
        for version, known in PMML_NAMESPACES.items():
            if ns == known:
                return version
        if ns.startswith("http://www.dmg.org/PMML-"):
            return ns.rsplit("-", 1)[-1].replace("_", ".")
    return root.attrib.get("version")


def _parse(pmml: str) -> ET.Element:
    try:
        root = ET.fromstring(pmml.encode("utf-8") if pmml.startswith("<?xml") else pmml)
    except ET.ParseError as exc:
        raise InvalidInput(f"model is not valid PMML XML: {exc}") from None
    if not root.tag.endswith("PMML"):
        raise InvalidInput(f"model document's root is {root.tag}, not PMML")
    return root


def read_extensions(pmml: str) -> dict[str, str]:
    """Every top-level Extension (any PMML namespace): the ``value`` attribute, or the element text when there is none."""
    root = _parse(pmml)
    result: dict[str, str] = {}
    for element in root:
        if element.tag.rsplit("}", 1)[-1] == "Extension" and "name" in element.attrib:
            value = element.attrib.get("value")
            result[element.attrib["name"]] = value if value is not None else (element.text or "")
    return result


def _parse_bool(name: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise InvalidInput(f"PMML extension {name} = {text!r} is not true or false")
    return text.lower() == "true"


def _parse_float(name: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"PMML extension {name} = {text!r} is not a number") from None


def pmml_to_als_model(pmml: str) -> ALSModelInfo:
    """Read an ALS PMML leniently: ``features`` and ``implicit`` are required; missing ID lists mean empty."""
    ext = read_extensions(pmml)
    for required in ("features", "implicit"):
        if required not in ext:
            raise InvalidInput(f"PMML lacks the {required} extension")
    try:
        features = int(ext["features"])
    except ValueError:
        raise InvalidInput(f"PMML extension features = {ext['features']!r} is not an integer") from None
    known = {"X", "Y", "features", "lambda", "implicit", "alpha", "logStrength", "epsilon", "XIDs", "YIDs"}
    log_strength = _parse_bool("logStrength", ext.get("logStrength", "false"))
    return ALSModelInfo(
        features=features,
        implicit=_parse_bool("implicit", ext["implicit"]),
        x_ids=split_ids(ext.get("XIDs", "")),
        y_ids=split_ids(ext.get("YIDs", "")),
        lambda_=_parse_float("lambda", ext.get("lambda")),
        alpha=_parse_float("alpha", ext.get("alpha")),
        log_strength=log_strength,
        epsilon=_parse_float("epsilon", ext.get("epsilon")),
        x_path=ext.get("X", "X/"),
        y_path=ext.get("Y", "Y/"),
        extra={k: v for k, v in ext.items() if k not in known},
    )
