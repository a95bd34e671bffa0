"""Sensor metadata files as text: read with a size bound, parsed into named groups of keys.

Landsat MTL files come in two syntaxes that hold the same names (USGS, LSDS-1328, Landsat 8-9
OLI/TIRS Collection 2 Level 2 Data Format Control Book, appendix "MTL file"):

- ODL text (``_MTL.txt``)::

      GROUP = LANDSAT_METADATA_FILE
        GROUP = IMAGE_ATTRIBUTES
          SUN_ELEVATION = 64.41443455
        END_GROUP = IMAGE_ATTRIBUTES
      END_GROUP = LANDSAT_METADATA_FILE
      END

- XML (``_MTL.xml``, Collection 2 only), the groups as elements of the root element::

      <LANDSAT_METADATA_FILE><IMAGE_ATTRIBUTES><SUN_ELEVATION>64.41443455</SUN_ELEVATION>...

Both become a :class:`Groups`: the outermost group's name, and each inner group's keys and
their values as text (ODL quotes removed). Nothing here trusts the file: it is read up to
:data:`MAX_BYTES`, XML with a document type declaration is refused before it is parsed (no
entity expansion), and every fault is a :class:`~chanmix.errors.DataError` naming the file.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = [
    "MAX_BYTES",
    "Groups",
    "finite_number",
    "local_name",
    "parse_odl",
    "parse_xml",
    "read_text",
    "xml_groups",
]

#: The largest metadata file read: real MTL files take 8-40 kB, Sentinel-2 MTD files 60 kB.
MAX_BYTES = 1 << 21
#: Deepest nesting of ODL groups accepted (Landsat MTL files nest 2 deep).
_MAX_DEPTH = 8

_ODL_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_:.]*)\s*=\s*(.*?)\s*$")


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of a metadata file (UTF-8, a BOM allowed), refused past :data:`MAX_BYTES`.

    Raises
    ------
    DataError
        Naming the file: missing, not a regular file, too large, or not UTF-8 text.
    """
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode  # before opening: opening a FIFO would wait for a writer
        if stat.S_ISDIR(mode):
            raise DataError(f"{name}: not a metadata file (is a folder)")
        if not stat.S_ISREG(mode):
            raise DataError(f"{name}: not a metadata file (not a regular file)")
        with open(name, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_BYTES:
        raise DataError(f"{name}: over {MAX_BYTES >> 20} MiB, more than a metadata file holds")
    if not data.strip():
        raise DataError(f"{name}: the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not a text metadata file (byte {exc.start} is not UTF-8)") from None


@dataclass(frozen=True)
class Groups:
    """A metadata file's keys by group: ``groups[GROUP][KEY]`` is the value's text.

    Attributes
    ----------
    origin : str
        The file, as error messages name it.
    root : str
        The outermost group (ODL) or the root element (XML), e.g. ``LANDSAT_METADATA_FILE``.
    groups : mapping of str to mapping of str to str
        Every group by name (the root's own keys under the root's name; an XML file's groups
        are the root element's children), with its keys and their values.
    """

    origin: str
    root: str
    groups: Mapping[str, Mapping[str, str]]

    def has(self, group: str, key: str) -> bool:
        """Whether `group` holds `key`."""
        return key in self.groups.get(group, {})

    def text(self, group: str, key: str) -> str:
        """The value of `key` in `group`.

        Raises
        ------
        DataError
            Naming the file, the key and the group, when the file does not hold it.
        """
        if group not in self.groups:
            raise DataError(f"{self.origin}: no {group} group (looked for {key} there)")
        try:
            return self.groups[group][key]
        except KeyError:
            raise DataError(f"{self.origin}: no {key} in group {group}") from None

    def number(self, group: str, key: str) -> float:
        """The value of `key` in `group` as a finite number.

        Raises
        ------
        DataError
            Naming the file and the key, when the key is missing or not a finite number.
        """
        text = self.text(group, key)
        return finite_number(text, self.origin, f"{key} = {text[:40]!r} in group {group}")


def finite_number(text: str, origin: str, what: str) -> float:
    """`text` as a finite number, else a DataError ``"<origin>: <what> is not a finite number"``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"{origin}: {what} is not a finite number")
    return value


def parse_odl(text: str, origin: str) -> Groups:
    """Parse ODL text (``GROUP = G``, ``KEY = VALUE``, ``END_GROUP = G``, ``END``).

    Every group is kept by its own name, however deep; the first group opened is the root.
    Quotes around a value are removed.

    Raises
    ------
    DataError
        Naming the file and the line: a line that is not ``KEY = VALUE``, a group closed out of
        order or left open, a key or group given twice.
    """
    stack: list[str] = []
    groups: dict[str, dict[str, str]] = {}
    ended = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{origin}: line {number}"
        if ended:
            raise DataError(f"{where}: text after END")
        if line.strip() == "END":
            ended = True
            continue
        match = _ODL_LINE.match(line)
        if match is None:
            raise DataError(f"{where}: expected KEY = VALUE, found {line.strip()[:40]!r}")
        key, value = match.group(1), _unquote(match.group(2))
        if key == "GROUP":
            if len(stack) == _MAX_DEPTH:
                raise DataError(f"{where}: groups nested more than {_MAX_DEPTH} deep")
            if value in groups:
                raise DataError(f"{where}: group {_name(value)} given twice")
            stack.append(value)
            groups[value] = {}
        elif key == "END_GROUP":
            if not stack or stack[-1] != value:
                open_group = f"group {_name(stack[-1])} is open" if stack else "no group is open"
                raise DataError(f"{where}: END_GROUP = {_name(value)} but {open_group}")
            stack.pop()
        elif not stack:
            raise DataError(f"{where}: {_name(key)} outside any GROUP")
        elif key in groups[stack[-1]]:
            raise DataError(f"{where}: {_name(key)} given twice in group {_name(stack[-1])}")
        else:
            groups[stack[-1]][key] = value
    if stack:
        raise DataError(
            f"{origin}: group {_name(stack[-1])} is not closed (no END_GROUP = {_name(stack[-1])})"
        )
    if not groups:
        raise DataError(f"{origin}: no GROUP found; not an ODL metadata file")
    root = next(iter(groups))
    return Groups(origin, root, MappingProxyType({k: MappingProxyType(v) for k, v in groups.items()}))


def _name(text: str, limit: int = 60) -> str:
    """A group or key name as an error message shows it: cut after `limit` characters, so that
    a damaged file's 100,000-character name makes no 100,000-character message."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_xml(text: str, origin: str) -> Element:
    """Parse XML text into its root element, refusing document type declarations.

    MTL and MTD files never declare a document type; refusing one before parsing means no
    entity is ever expanded (no "billion laughs").

    Raises
    ------
    DataError
        Naming the file: a document type declaration, or text that is not well-formed XML.
    """
    from xml.etree import ElementTree

    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise DataError(f"{origin}: XML with a document type declaration; not a metadata file")
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise DataError(f"{origin}: not well-formed XML ({exc})") from None
    except RecursionError:
        raise DataError(f"{origin}: not a metadata file (XML nested too deeply)") from None


def xml_groups(root: Element, origin: str) -> Groups:
    """The groups of an XML file whose root element holds group elements of key elements
    (Landsat ``_MTL.xml``); elements deeper than keys are left out."""
    groups: dict[str, Mapping[str, str]] = {}
    for group in root:
        name = local_name(group.tag)
        if name in groups:
            raise DataError(f"{origin}: group {_name(name)} given twice")
        keys: dict[str, str] = {}
        for item in group:
            key = local_name(item.tag)
            if key in keys:
                raise DataError(f"{origin}: {_name(key)} given twice in group {_name(name)}")
            if len(item) == 0:  # a key; deeper structure is not an MTL's
                keys[key] = (item.text or "").strip()
        groups[name] = MappingProxyType(keys)
    return Groups(origin, local_name(root.tag), MappingProxyType(groups))


def local_name(tag: str) -> str:
    """An element's name without its namespace (``{uri}name`` -> ``name``)."""
    return tag.rsplit("}", 1)[-1]
